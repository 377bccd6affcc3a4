"""Writes of customers. Each runs in one transaction, checks the access policy, and records a
business event that the timeline and automation read."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from crm.events import event_record
from crm.exceptions import ApplicationError
from crm.services import model_update
from customers.models import Contact, Customer, CustomerTag, Interaction, Tag
from customers.permissions import policy_for

CUSTOMER_FIELDS = [
    "kind", "name", "code", "email", "phone", "website", "industry", "source", "level",
    "region", "status", "owner", "team", "address", "city", "postcode", "country",
    "description", "custom_data",
]


def next_customer_code() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('customers_customer_code_seq')")
        return f"C{cursor.fetchone()[0]:07d}"


def _require(actor, action: str, customer: Customer | None = None) -> None:
    from django.core.exceptions import PermissionDenied

    if customer is None:
        if not actor.has_perm(f"customers.{action}_customer"):
            raise PermissionDenied
    elif not policy_for(actor).can(action, customer):
        raise PermissionDenied


def _require_share(actor, customer: Customer) -> None:
    from django.core.exceptions import PermissionDenied

    if not policy_for(actor).can_share(customer):
        raise PermissionDenied


def _set_tags(customer: Customer, tags: Iterable[Tag]) -> bool:
    wanted = {t.pk for t in tags}
    current = set(CustomerTag.objects.filter(customer=customer).values_list("tag_id", flat=True))
    if wanted == current:
        return False
    CustomerTag.objects.filter(customer=customer, tag_id__in=current - wanted).delete()
    CustomerTag.objects.bulk_create(
        [CustomerTag(customer=customer, tag_id=pk) for pk in wanted - current],
        ignore_conflicts=True,
    )
    return True


@transaction.atomic
def customer_create(*, actor, data: dict, tags: Iterable[Tag] = ()) -> Customer:
    _require(actor, "add")
    data = {k: v for k, v in data.items() if k in CUSTOMER_FIELDS}
    customer = Customer(**data)
    if not customer.code:
        customer.code = next_customer_code()
    if customer.owner_id is None and not actor.is_admin:
        customer.owner = actor
    customer.full_clean()
    customer.save()
    _set_tags(customer, tags)
    event_record(
        name="customer.created", actor=actor, customer_id=customer.pk, subject=customer,
        payload={"name": customer.name, "code": customer.code},
    )
    return customer


@transaction.atomic
def customer_update(
    *, actor, customer: Customer, data: dict, tags: Iterable[Tag] | None = None,
    expected_version: int,
) -> Customer:
    _require(actor, "change", customer)
    old_owner = customer.owner_id
    data = {k: v for k, v in data.items() if k in CUSTOMER_FIELDS}
    customer, changed = model_update(instance=customer, data=data,
                                     expected_version=expected_version)
    if tags is not None and _set_tags(customer, tags):
        changed.append("tags")
    if changed:
        event_record(name="customer.updated", actor=actor, customer_id=customer.pk,
                     subject=customer, payload={"fields": changed})
    if customer.owner_id != old_owner:
        event_record(name="customer.owner_changed", actor=actor, customer_id=customer.pk,
                     subject=customer,
                     payload={"from": old_owner, "to": customer.owner_id,
                              "to_name": str(customer.owner) if customer.owner else ""})
    return customer


@transaction.atomic
def customer_soft_delete(*, actor, customer: Customer) -> Customer:
    """Move to the trash: hidden everywhere, nothing removed; restorable."""
    _require(actor, "delete", customer)
    if customer.deleted_at is None:
        customer.deleted_at = timezone.now()
        customer.deleted_by = actor
        customer.version += 1
        customer.save(update_fields=["deleted_at", "deleted_by", "version", "updated_at"])
        event_record(name="customer.deleted", actor=actor, customer_id=customer.pk,
                     subject=customer)
    return customer


@transaction.atomic
def customer_restore(*, actor, customer: Customer) -> Customer:
    _require(actor, "delete", customer)
    if customer.deleted_at is not None:
        customer.deleted_at = None
        customer.deleted_by = None
        customer.version += 1
        customer.save(update_fields=["deleted_at", "deleted_by", "version", "updated_at"])
        event_record(name="customer.restored", actor=actor, customer_id=customer.pk,
                     subject=customer)
    return customer


@transaction.atomic
def customer_share(*, actor, customer: Customer, colleague, can_change: bool) -> None:
    """Let a colleague see (and, if asked, change) one customer outside their usual reach."""
    _require_share(actor, customer)
    if colleague.pk == actor.pk or not colleague.is_active:
        raise ApplicationError(_("Choose an active colleague other than yourself."))
    assign_perm("customers.view_customer", colleague, customer)
    if can_change:
        assign_perm("customers.change_customer", colleague, customer)
    else:
        remove_perm("customers.change_customer", colleague, customer)
    event_record(name="customer.shared", actor=actor, customer_id=customer.pk,
                 subject=customer,
                 payload={"with": colleague.pk, "with_name": str(colleague),
                          "can_change": can_change})


@transaction.atomic
def customer_unshare(*, actor, customer: Customer, colleague) -> None:
    _require_share(actor, customer)
    remove_perm("customers.view_customer", colleague, customer)
    remove_perm("customers.change_customer", colleague, customer)
    event_record(name="customer.unshared", actor=actor, customer_id=customer.pk,
                 subject=customer, payload={"with": colleague.pk, "with_name": str(colleague)})


# --- contacts -------------------------------------------------------------------------------
CONTACT_FIELDS = [
    "first_name", "last_name", "title", "email", "phone", "mobile", "birthday",
    "preferred_channel", "is_primary", "marketing_consent", "consent_method", "consent_source",
    "national_id", "private_notes", "custom_data",
]


def _contact_allowed(actor, action: str, customer: Customer) -> None:
    from django.core.exceptions import PermissionDenied

    if not policy_for(actor).contact_can(action, customer):
        raise PermissionDenied


def _make_primary(contact: Contact) -> None:
    Contact.objects.filter(customer_id=contact.customer_id, is_primary=True).exclude(
        pk=contact.pk
    ).update(is_primary=False)


@transaction.atomic
def contact_create(*, actor, customer: Customer, data: dict) -> Contact:
    _contact_allowed(actor, "add", customer)
    data = {k: v for k, v in data.items() if k in CONTACT_FIELDS}
    contact = Contact(customer=customer, **data)
    if not Contact.objects.alive().filter(customer=customer).exists():
        contact.is_primary = True
    if contact.marketing_consent:
        contact.consent_at = timezone.now()
    contact.full_clean(exclude=["customer"])
    if contact.is_primary:
        _make_primary(contact)
    contact.save()
    event_record(name="contact.created", actor=actor, customer_id=customer.pk, subject=contact,
                 payload={"name": str(contact)})
    return contact


@transaction.atomic
def contact_update(*, actor, contact: Contact, data: dict, expected_version: int) -> Contact:
    _contact_allowed(actor, "change", contact.customer)
    data = {k: v for k, v in data.items() if k in CONTACT_FIELDS}
    if policy_for(actor).contact_fields_limited(contact.customer):
        # Seeing the customer without the right to change it: consent and channel only.
        from customers.permissions import CONTACT_CONSENT_FIELDS

        data = {k: v for k, v in data.items() if k in CONTACT_CONSENT_FIELDS}
    consent_before = Contact.objects.filter(pk=contact.pk).values_list(
        "marketing_consent", flat=True).first()
    if data.get("marketing_consent") is not None and data["marketing_consent"] != consent_before:
        data["consent_at"] = timezone.now()
    if data.get("is_primary"):
        _make_primary(contact)
    contact, changed = model_update(instance=contact, data=data,
                                    expected_version=expected_version)
    if changed:
        event_record(name="contact.updated", actor=actor, customer_id=contact.customer_id,
                     subject=contact, payload={"fields": [f for f in changed if f not in
                                                          ("national_id", "private_notes")]})
    if "marketing_consent" in changed:
        event_record(
            name="contact.consent_given" if contact.marketing_consent
            else "contact.consent_withdrawn",
            actor=actor, customer_id=contact.customer_id, subject=contact,
            payload={"method": contact.consent_method, "source": contact.consent_source},
        )
    return contact


@transaction.atomic
def contact_soft_delete(*, actor, contact: Contact) -> Contact:
    _contact_allowed(actor, "delete", contact.customer)
    if contact.deleted_at is None:
        contact.deleted_at = timezone.now()
        contact.deleted_by = actor
        contact.is_primary = False
        contact.version += 1
        contact.save(update_fields=["deleted_at", "deleted_by", "is_primary", "version",
                                    "updated_at"])
        event_record(name="contact.deleted", actor=actor, customer_id=contact.customer_id,
                     subject=contact, payload={"name": str(contact)})
    return contact


# --- communication log ----------------------------------------------------------------------
@transaction.atomic
def interaction_log(*, actor, customer: Customer, data: dict) -> Interaction:
    from django.core.exceptions import PermissionDenied

    if not (actor.has_perm("customers.add_interaction") and policy_for(actor).can_view(customer)):
        raise PermissionDenied
    contact = data.get("contact")
    if contact is not None and contact.customer_id != customer.pk:
        raise ApplicationError(_("That contact belongs to another customer."))
    interaction = Interaction(
        customer=customer,
        user=actor,
        contact=contact,
        kind=data["kind"],
        direction=data.get("direction") or Interaction.Direction.OUTBOUND,
        occurred_at=data.get("occurred_at") or timezone.now(),
        subject=data["subject"],
        body=data.get("body", ""),
        outcome=data.get("outcome", ""),
    )
    interaction.full_clean()
    interaction.save()
    event_record(name="interaction.logged", actor=actor, customer_id=customer.pk,
                 subject=interaction,
                 payload={"kind": interaction.kind, "subject": interaction.subject})
    return interaction


# --- tags -----------------------------------------------------------------------------------
def _tag_name_taken(name: str, exclude_pk=None) -> bool:
    qs = Tag.objects.filter(name__iexact=name.strip())
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs.exists()


@transaction.atomic
def tag_create(*, actor, name: str, color: str) -> Tag:
    from django.core.exceptions import PermissionDenied

    if not actor.has_perm("customers.add_tag"):
        raise PermissionDenied
    if _tag_name_taken(name):
        raise ApplicationError(_("A tag with this name already exists."))
    tag = Tag(name=name.strip(), color=color)
    tag.full_clean()
    tag.save()
    event_record(name="tag.created", actor=actor, subject=tag, payload={"name": tag.name})
    return tag


@transaction.atomic
def tag_update(*, actor, tag: Tag, name: str, color: str, expected_version: int) -> Tag:
    from django.core.exceptions import PermissionDenied

    if not actor.has_perm("customers.change_tag"):
        raise PermissionDenied
    if _tag_name_taken(name, exclude_pk=tag.pk):
        raise ApplicationError(_("A tag with this name already exists."))
    tag, changed = model_update(instance=tag, data={"name": name.strip(), "color": color},
                                expected_version=expected_version)
    if changed:
        event_record(name="tag.updated", actor=actor, subject=tag, payload={"fields": changed})
    return tag
