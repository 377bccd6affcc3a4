"""Forms of orders: the order's own fields and the formset of its lines.

A line names its product by SKU (the text box offers matching products as you type, from the
product lookup endpoint; the text "SKU — name" is accepted too). The formset resolves every
line's product in ONE query."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from crm.forms import VersionedModelForm
from sales.models import Order, Product
from sales.order_services import MAX_LINES

SEPARATOR = " — "


def product_label(product: Product) -> str:
    return f"{product.sku}{SEPARATOR}{product.name}"


class OrderForm(VersionedModelForm):
    class Meta:
        model = Order
        fields = ["contact", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, customer, contacts=None, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance.pk:
            self.fields.pop("version")
        field = self.fields["contact"]
        field.queryset = contacts if contacts is not None else customer.contacts.filter(
            deleted_at__isnull=True)
        field.empty_label = _("No contact")
        field.required = False
        for name, f in self.fields.items():
            if name != "version":
                f.widget.attrs.setdefault(
                    "class", "form-select" if isinstance(f.widget, forms.Select)
                    else "form-control")

    def service_data(self) -> dict:
        return {"contact": self.cleaned_data.get("contact"),
                "notes": self.cleaned_data.get("notes", "")}


class OrderLineForm(forms.Form):
    product = forms.CharField(
        label=_("Product"), max_length=300,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off",
                                      "data-product-input": "",
                                      "placeholder": _("SKU or name")}))
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=1_000_000,
                                  widget=forms.NumberInput(attrs={"class": "form-control",
                                                                  "data-quantity": ""}))
    unit_price = forms.DecimalField(label=_("Unit price"), min_value=Decimal("0"),
                                    max_digits=14, decimal_places=2,
                                    widget=forms.NumberInput(attrs={
                                        "class": "form-control", "step": "0.01",
                                        "data-unit-price": ""}))
    discount_percent = forms.DecimalField(label=_("Discount %"), min_value=Decimal("0"),
                                          max_value=Decimal("100"), max_digits=5,
                                          decimal_places=2, required=False,
                                          widget=forms.NumberInput(attrs={
                                              "class": "form-control", "step": "0.01",
                                              "data-discount": ""}))

    def clean_product(self):
        value = self.cleaned_data["product"].strip()
        sku = value.split(SEPARATOR, 1)[0].strip()
        if not sku:
            raise forms.ValidationError(_("Choose a product."))
        return sku


class BaseOrderLineFormSet(forms.BaseFormSet):
    def clean(self):
        super().clean()
        # Resolve every named product in one query, also when other lines have errors, so
        # all the problems show at once.
        named = [f for f in self.forms if getattr(f, "cleaned_data", None)
                 and f.cleaned_data.get("product")
                 and not (self.can_delete and f.cleaned_data.get("DELETE"))]
        skus = {f.cleaned_data["product"].upper() for f in named}
        products = {p.sku.upper(): p for p in Product.objects.annotate(usku=Upper("sku"))
                    .filter(usku__in=skus, deleted_at__isnull=True, is_active=True)} if skus \
            else {}
        for form in named:
            product = products.get(form.cleaned_data["product"].upper())
            if product is None:
                form.add_error("product", _("No product on sale has the SKU “%(sku)s”.")
                               % {"sku": form.cleaned_data["product"]})
            else:
                form.cleaned_data["product_obj"] = product
        if not any(self.errors) and not any(True for _f in self._live_forms()):
            raise forms.ValidationError(_("Add at least one line."))

    def _live_forms(self):
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or (self.can_delete and data.get("DELETE")):
                continue
            yield form

    def lines(self) -> list[dict]:
        return [{"product": f.cleaned_data["product_obj"],
                 "quantity": f.cleaned_data["quantity"],
                 "unit_price": f.cleaned_data["unit_price"],
                 "discount_percent": f.cleaned_data.get("discount_percent") or Decimal("0")}
                for f in self._live_forms()]


OrderLineFormSet = forms.formset_factory(
    OrderLineForm, formset=BaseOrderLineFormSet, extra=1, can_delete=True, min_num=0,
    max_num=MAX_LINES, validate_max=True, absolute_max=MAX_LINES)


def initial_lines(order: Order | None) -> list[dict]:
    if order is None:
        return []
    return [{"product": product_label(line.product), "quantity": line.quantity,
             "unit_price": line.unit_price, "discount_percent": line.discount_percent}
            for line in order.lines.select_related("product").order_by("id")]
