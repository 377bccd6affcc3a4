"""The custom fields admin page (Admins only): list the definitions by entity, create, edit,
deactivate and reactivate. Definitions are never deleted: their values stay in the JSON."""

from __future__ import annotations

import copy

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.exceptions import ApplicationError
from customers import field_services
from customers.forms.fields import CustomFieldCreateForm, CustomFieldEditForm
from customers.models import CustomFieldDefinition

Entity = CustomFieldDefinition.Entity


def _require_admin(user) -> None:
    """Everyone may read definitions (forms and pages use them); only those who may change
    them (the Admin role) see this page."""
    if not user.has_perm("customers.change_customfielddefinition"):
        raise PermissionDenied


def _definition(uuid) -> CustomFieldDefinition:
    try:
        return CustomFieldDefinition.objects.get(uuid=uuid)
    except (CustomFieldDefinition.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404 from exc


def _add_service_error(form, exc: Exception) -> None:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    elif isinstance(exc, ValidationError):
        form.add_error(None, exc)
    else:
        form.add_error(None, getattr(exc, "message", str(exc)))


@login_required
def field_list(request):
    _require_admin(request.user)
    definitions = list(CustomFieldDefinition.objects.order_by("entity", "-is_active", "order",
                                                              "label", "id"))
    groups = [
        {"entity": value, "label": label,
         "definitions": [d for d in definitions if d.entity == value]}
        for value, label in Entity.choices
    ]
    return render(request, "customers/fields/field_list.html", {"groups": groups})


@login_required
def field_create(request):
    _require_admin(request.user)
    if not request.user.has_perm("customers.add_customfielddefinition"):
        raise PermissionDenied
    initial = {"entity": request.GET.get("entity")} \
        if request.GET.get("entity") in Entity.values else {}
    form = CustomFieldCreateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            definition = field_services.custom_field_create(actor=request.user,
                                                            data=form.service_data())
        except (ApplicationError, ValidationError) as exc:
            _add_service_error(form, exc)
        else:
            messages.success(request, _("Custom field “%(label)s” was created.")
                             % {"label": definition.label})
            return redirect("customers:field_list")
    return render(request, "customers/fields/field_form.html",
                  {"form": form, "definition": None})


@login_required
def field_edit(request, uuid):
    _require_admin(request.user)
    definition = _definition(uuid)
    # A bound ModelForm writes onto its instance: the service must see the stored row.
    form = CustomFieldEditForm(request.POST or None, instance=copy.copy(definition))
    if request.method == "POST" and form.is_valid():
        try:
            definition = field_services.custom_field_update(
                actor=request.user, definition=definition, data=form.service_data(),
                expected_version=form.cleaned_data["version"])
        except (ApplicationError, ValidationError) as exc:
            _add_service_error(form, exc)
        else:
            messages.success(request, _("Custom field “%(label)s” was saved.")
                             % {"label": definition.label})
            return redirect("customers:field_list")
    return render(request, "customers/fields/field_form.html",
                  {"form": form, "definition": definition})


@login_required
@require_POST
def field_set_active(request, uuid):
    """Deactivate or reactivate (the button says which, and carries the version it saw)."""
    _require_admin(request.user)
    definition = _definition(uuid)
    active = request.POST.get("active") == "1"
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = -1  # a missing or bad version is as good as a stale one
    try:
        definition = field_services.custom_field_set_active(
            actor=request.user, definition=definition, active=active, expected_version=version)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, (
            _("Custom field “%(label)s” is active again.") if active
            else _("Custom field “%(label)s” was deactivated; its values are kept.")
        ) % {"label": definition.label})
    return redirect("customers:field_list")
