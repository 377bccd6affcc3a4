"""Forms of the product catalogue: create and edit a product, adjust its stock."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row
from django import forms
from django.utils.translation import gettext_lazy as _

from crm.forms import VersionedModelForm
from sales.models import Product, StockMovement

FIELDS = ["sku", "name", "price", "low_stock_threshold", "is_active", "description"]


class ProductForm(VersionedModelForm):
    """Create (with an opening stock) or edit a product; stock itself changes only through
    adjustments and orders, so the edit form does not offer it."""

    initial_stock = forms.IntegerField(label=_("Opening stock"), min_value=0, initial=0,
                                       required=False, max_value=1_000_000_000)

    class Meta:
        model = Product
        fields = FIELDS
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        creating = not self.instance.pk
        if creating:
            self.fields.pop("version")
        else:
            self.fields.pop("initial_stock")
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Row(Column("sku", css_class="col-12 col-md-4"),
                Column("name", css_class="col-12 col-md-8")),
            Row(Column("price", css_class="col-6 col-md-4"),
                Column("low_stock_threshold", css_class="col-6 col-md-4"),
                *([Column("initial_stock", css_class="col-6 col-md-4")] if creating else [])),
            "is_active", "description", *([] if creating else ["version"]),
        )

    def clean_sku(self):
        sku = (self.cleaned_data.get("sku") or "").strip()
        if not sku:
            raise forms.ValidationError(_("Enter a SKU."))
        return sku

    def service_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in FIELDS}


class StockAdjustForm(forms.Form):
    REASONS = [
        (StockMovement.Reason.RECEIPT, StockMovement.Reason.RECEIPT.label),
        (StockMovement.Reason.ADJUSTMENT, StockMovement.Reason.ADJUSTMENT.label),
    ]

    quantity_delta = forms.IntegerField(
        label=_("Change"), min_value=-1_000_000_000, max_value=1_000_000_000,
        help_text=_("Positive to add units, negative to take them off."))
    reason = forms.ChoiceField(label=_("Reason"), choices=REASONS)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(Row(Column("quantity_delta", css_class="col-6 col-md-3"),
                                        Column("reason", css_class="col-6 col-md-4"),
                                        Column("note", css_class="col-12 col-md-5")))

    def clean_quantity_delta(self):
        value = self.cleaned_data["quantity_delta"]
        if value == 0:
            raise forms.ValidationError(_("Enter a change other than zero."))
        return value

    def clean(self):
        data = super().clean()
        if data.get("reason") == StockMovement.Reason.RECEIPT and (data.get(
                "quantity_delta") or 0) < 0:
            self.add_error("quantity_delta",
                           _("Goods received add stock: enter a positive number."))
        return data
