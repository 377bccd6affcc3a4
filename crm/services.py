"""Write helpers shared by every app's services."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.db.models import F

from crm.exceptions import StaleObjectError


def bump_versions(model, pks) -> None:
    """A relation seen from the other side changed too: make forms open there stale.

    (A team's members are also each member's teams; whichever form saves second must not
    silently undo the first.)
    """
    if pks and any(f.name == "version" for f in model._meta.concrete_fields):
        model.objects.filter(pk__in=pks).update(version=F("version") + 1)


@transaction.atomic
def model_update(
    *,
    instance: models.Model,
    data: dict[str, Any],
    expected_version: int | None,
) -> tuple[models.Model, list[str]]:
    """Apply `data` to the stored row of `instance` under optimistic locking.

    Returns (the saved row, the names of the fields that changed). The row is re-read with a
    lock and its version compared with `expected_version` (the one the user's form was built
    from): a mismatch raises StaleObjectError and nothing is written. Values are compared with
    the stored row, not with `instance` (a bound ModelForm has already changed that), and only
    changed fields are saved, with the version bumped, so django-auditlog records a clean diff.
    """
    model = instance._meta.model  # not type(): request.user is a lazy wrapper
    current = model.objects.select_for_update().get(pk=instance.pk)
    # None means the caller owns the row outright (no form was shown); say so explicitly.
    if expected_version is not None and current.version != expected_version:
        raise StaleObjectError()

    fields_changed: list[str] = []
    relations: dict[str, list] = {}
    for name, value in data.items():
        field = model._meta.get_field(name)
        if field.many_to_many:
            relations[name] = list(value)
            continue
        new = value.pk if field.is_relation and isinstance(value, models.Model) else value
        if getattr(current, field.attname) != new:
            setattr(current, name, value)
            fields_changed.append(name)
    if fields_changed:
        current.full_clean(
            exclude=[f.name for f in model._meta.fields if f.name not in fields_changed],
            validate_constraints=False,
        )

    relations_changed = []
    for name, values in relations.items():
        related = getattr(current, name)
        before = set(related.values_list("pk", flat=True))
        after = {v.pk for v in values}
        if before != after:
            related.set(values)
            relations_changed.append(name)
            bump_versions(related.model, before ^ after)

    if fields_changed or relations_changed:
        current.version += 1
        current.save(update_fields=[*fields_changed, "version", "updated_at"])
    return current, fields_changed + relations_changed
