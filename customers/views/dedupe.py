"""Duplicates: the list of likely duplicate pairs and the compare-and-merge page.

Both need customers.merge_customer (else 403); every customer comes through the access path
(not visible: 404), and the merge needs "change" on both customers (customers.merge checks it
again inside its transaction)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.exceptions import ApplicationError
from crm.pagination import keyset_paginate
from customers.dedupe import ORDERING, WINDOW, candidates_for, duplicate_pairs
from customers.merge import MERGE_FIELDS, SOURCE, TARGET, customer_merge, merge_defaults
from customers.models import Contact, Customer, Interaction, Task
from customers.selectors import customer_can, customer_get_for_user, customer_list_for_user

RELATED = ("owner", "team", "industry", "source", "level", "region")


def _require_merge_perm(user) -> None:
    if not user.has_perm("customers.merge_customer"):
        raise PermissionDenied


@login_required
def duplicate_list(request):
    user = request.user
    _require_merge_perm(user)
    focus = None
    if request.GET.get("customer"):
        focus = customer_get_for_user(user, request.GET["customer"])
        return render(request, "customers/dedupe/duplicate_list.html", {
            "focus": focus, "pairs": candidates_for(user, focus), "page": None})
    customers = customer_list_for_user(user).prefetch_related(None).select_related("owner")
    page = keyset_paginate(customers, ordering=ORDERING, after=request.GET.get("after"),
                           page_size=WINDOW, count=False)
    return render(request, "customers/dedupe/duplicate_list.html", {
        "focus": None, "page": page, "pairs": duplicate_pairs(user, page.object_list),
        "window": WINDOW,
    })


def _display(customer: Customer, name: str) -> str:
    field = Customer._meta.get_field(name)
    value = getattr(customer, name)
    if field.choices:
        value = getattr(customer, f"get_{name}_display")()
    elif field.is_relation:
        value = str(value) if value is not None else ""
    return "" if value is None else str(value)


class MergeForm(forms.Form):
    """Per field, whose value to keep; plus the versions both records had on screen."""

    source_version = forms.IntegerField(widget=forms.HiddenInput)
    target_version = forms.IntegerField(widget=forms.HiddenInput)

    CHOICES = [(TARGET, gettext_lazy("Keep")), (SOURCE, gettext_lazy("Take"))]

    def __init__(self, *args, source: Customer, target: Customer, **kwargs):
        super().__init__(*args, **kwargs)
        defaults = merge_defaults(source, target)
        self.rows = []
        for name in MERGE_FIELDS:
            target_value, source_value = _display(target, name), _display(source, name)
            if target_value == source_value:
                continue  # nothing to choose
            self.fields[name] = forms.ChoiceField(
                choices=self.CHOICES, initial=defaults[name], widget=forms.RadioSelect,
                required=False,
                label=Customer._meta.get_field(name).verbose_name)
            self.rows.append({"name": name, "label": self.fields[name].label,
                              "target": target_value, "source": source_value})
        self.fields["source_version"].initial = source.version
        self.fields["target_version"].initial = target.version

    def table(self) -> list[dict]:
        """The rows with the value each radio group has now (initial, or as posted)."""
        return [{**row, "selected": self[row["name"]].value()} for row in self.rows]

    def choices(self) -> dict[str, str]:
        """The posted choices; a field left unchosen keeps its default."""
        return {row["name"]: self.cleaned_data[row["name"]] for row in self.rows
                if self.cleaned_data.get(row["name"])}


def _figures(customer: Customer) -> dict:
    """What hangs on a customer: three counts, whatever the sizes."""
    return {
        "contacts": Contact.objects.filter(customer=customer).aggregate(n=Count("id"))["n"],
        "interactions": Interaction.objects.filter(customer=customer).count(),
        "tasks": Task.objects.filter(customer=customer).count(),
    }


@login_required
def customer_merge_view(request, source, target):
    user = request.user
    source = customer_get_for_user(user, source)
    target = customer_get_for_user(user, target)
    _require_merge_perm(user)
    if not (customer_can(user, "change", source) and customer_can(user, "change", target)):
        raise PermissionDenied
    if source.pk == target.pk:
        messages.error(request, _("A customer cannot be merged into itself."))
        return redirect("customers:duplicates")
    form = MergeForm(request.POST or None, source=source, target=target)
    if request.method == "POST" and form.is_valid():
        try:
            merged = customer_merge(
                actor=user, source=source, target=target, choices=form.choices(),
                source_version=form.cleaned_data["source_version"],
                target_version=form.cleaned_data["target_version"])
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("“%(source)s” was merged into “%(target)s” and moved "
                                        "to the trash.")
                             % {"source": source.name, "target": merged.name})
            return redirect("customers:detail", uuid=merged.uuid)
    return render(request, "customers/dedupe/merge.html", {
        "source": source, "target": target, "form": form,
        "source_figures": _figures(source), "target_figures": _figures(target),
    })
