"""Writes of custom field definitions (admins only). A definition is never deleted: it is
deactivated, and the values stay in the customers' and contacts' JSON, ready for a
reactivation. Each write runs in one transaction and records a business event."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from crm.events import event_record
from crm.exceptions import ApplicationError
from crm.services import model_update
from customers.custom_fields import KEY_RE
from customers.models import CustomFieldDefinition

FieldType = CustomFieldDefinition.FieldType
EDITABLE = ["label", "field_type", "choices", "required", "help_text", "order"]


def _require(actor, action: str) -> None:
    if not actor.has_perm(f"customers.{action}_customfielddefinition"):
        raise PermissionDenied


def clean_choices(field_type: str, choices) -> list[str]:
    """Choices as stored: stripped, blanks and repeats dropped; required for the choice type,
    refused for the others."""
    cleaned = list(dict.fromkeys(str(c).strip() for c in (choices or []) if str(c).strip()))
    if field_type == FieldType.CHOICE and not cleaned:
        raise ValidationError({"choices": _("A choice field needs at least one choice.")})
    if field_type != FieldType.CHOICE and cleaned:
        raise ValidationError({"choices": _("Only a choice field has choices: leave them "
                                            "empty for this type.")})
    return cleaned


def _payload(definition: CustomFieldDefinition, **extra) -> dict:
    return {"entity": definition.entity, "key": definition.key, "label": definition.label,
            "field_type": definition.field_type, **extra}


@transaction.atomic
def custom_field_create(*, actor, data: dict) -> CustomFieldDefinition:
    _require(actor, "add")
    key = (data.get("key") or "").strip()
    if not KEY_RE.match(key):
        raise ValidationError({"key": _("Use lowercase letters, digits and single "
                                         "underscores, starting with a letter.")})
    definition = CustomFieldDefinition(
        entity=data.get("entity"), key=key,
        **{name: data[name] for name in EDITABLE if name in data},
    )
    definition.choices = clean_choices(definition.field_type, definition.choices)
    definition.full_clean(validate_constraints=False)
    if CustomFieldDefinition.objects.filter(entity=definition.entity, key=key).exists():
        raise ValidationError({"key": _("This key is already used by another field for "
                                        "the same records (active or not).")})
    try:
        with transaction.atomic():
            definition.save()
    except IntegrityError as exc:  # a concurrent create took the key first
        raise ValidationError({"key": _("This key is already used by another field for the "
                                        "same records (active or not).")}) from exc
    event_record(name="custom_field.created", actor=actor, subject=definition,
                 payload=_payload(definition))
    return definition


@transaction.atomic
def custom_field_update(*, actor, definition: CustomFieldDefinition, data: dict,
                        expected_version: int) -> CustomFieldDefinition:
    """Change what may change: the entity and the key never do (values are stored under it)."""
    _require(actor, "change")
    data = {name: data[name] for name in EDITABLE if name in data}
    field_type = data.get("field_type", definition.field_type)
    if "choices" in data or "field_type" in data:
        data["choices"] = clean_choices(field_type,
                                        data.get("choices", definition.choices))
    definition, changed = model_update(instance=definition, data=data,
                                       expected_version=expected_version)
    if changed:
        event_record(name="custom_field.updated", actor=actor, subject=definition,
                     payload=_payload(definition, fields=changed))
    return definition


@transaction.atomic
def custom_field_set_active(*, actor, definition: CustomFieldDefinition, active: bool,
                            expected_version: int | None = None) -> CustomFieldDefinition:
    """Deactivate (hidden from forms, pages and filters; values kept) or reactivate."""
    _require(actor, "change")
    definition, changed = model_update(instance=definition, data={"is_active": active},
                                       expected_version=expected_version)
    if changed:
        event_record(
            name="custom_field.reactivated" if active else "custom_field.deactivated",
            actor=actor, subject=definition, payload=_payload(definition))
    elif expected_version is not None:
        raise ApplicationError(_("Nothing changed: the field was already %(state)s.") % {
            "state": _("active") if active else _("inactive")})
    return definition
