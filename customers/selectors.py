"""Reads of customers: the access path (`customer_list_for_user` / `customer_get_for_user`)
that every view, search, export, report and task uses."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import Http404

from customers.models import Contact, Customer, Interaction, Tag
from customers.permissions import policy_for

LIST_RELATED = ("owner", "team", "level", "industry", "region", "source")


def _visible(user, qs: QuerySet) -> QuerySet:
    if not (user.is_authenticated and user.is_active):
        return qs.none()
    q = policy_for(user).visible_q()
    return qs if q is None else qs.filter(q)


def customer_list_for_user(user, *, deleted: bool = False) -> QuerySet[Customer]:
    """Customers the user may see (or, with deleted=True, the visible ones in the trash)."""
    base = Customer.objects.deleted() if deleted else Customer.objects.alive()
    return _visible(user, base).select_related(*LIST_RELATED).prefetch_related(
        Prefetch("tags", queryset=Tag.objects.only("id", "name", "color"))
    )


def customer_get_for_user(user, uuid, action: str = "view", *, deleted: bool = False,
                          tags: bool = True) -> Customer:
    """The customer, or 404 when the user may not see it (or it is not there), or 403 when
    they may see it but not do `action`. tags=False: without its tags prefetched (for a page
    that reads them as plain values)."""
    queryset = customer_list_for_user(user, deleted=deleted)
    if not tags:
        queryset = queryset.prefetch_related(None)
    try:
        customer = queryset.get(uuid=uuid)
    except (Customer.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404 from exc
    if action != "view" and not policy_for(user).can(action, customer):
        raise PermissionDenied
    return customer


def customer_can(user, action: str, customer: Customer) -> bool:
    return policy_for(user).can(action, customer)


def contact_list_for_user(user, *, customer: Customer | None = None) -> QuerySet[Contact]:
    qs = Contact.objects.alive().select_related("customer")
    if customer is not None:
        return qs.filter(customer=customer).order_by("-is_primary", "last_name", "first_name")
    q = policy_for(user).visible_q()
    qs = qs.filter(customer__deleted_at__isnull=True)
    if not (user.is_authenticated and user.is_active):
        return qs.none()
    return qs if q is None else qs.filter(customer__in=Customer.objects.filter(q))


def interaction_list_for_customer(customer: Customer) -> QuerySet[Interaction]:
    return (
        Interaction.objects.filter(customer=customer)
        .select_related("user", "contact")
        .order_by("-occurred_at", "-id")
    )


HISTORY_SIZE = 20


def customer_history(customer: Customer, *, size: int = HISTORY_SIZE) -> list[dict]:
    """The customer's last `size` changes, newest first, for a caller that got the customer
    through the access path: django-auditlog's entries (the changed fields by label) and the
    imports that created or updated it. Imports write no auditlog entry per customer; their
    ImportChange rows name the job, so who imported it, from which file and when (the time
    the import started), and whether it was undone since. Two indexed queries of `size`
    rows at most."""
    from auditlog.models import LogEntry

    from customers.models.imports import ImportChange, ImportJob
    from customers.timeline import field_labels, import_description

    history = []
    entries = (LogEntry.objects.get_for_object(customer)
               .exclude(additional_data__has_key="import_job")  # older imports' entries:
               .select_related("actor")[:size])                 # their change rows say it
    for entry in entries:
        fields = []
        if entry.action == LogEntry.Action.UPDATE:
            fields = field_labels(Customer, entry.changes_dict or {})
        history.append({"actor": entry.actor, "timestamp": entry.timestamp,
                        "action": entry.get_action_display(), "fields": fields})
    changes = (ImportChange.objects.filter(customer_id=customer.pk)
               .select_related("job__created_by")
               .only("action", "job__original_name", "job__status", "job__started_at",
                     "job__created_at", "job__created_by__first_name",
                     "job__created_by__last_name", "job__created_by__email")
               .order_by("-id")[:size])
    for change in changes:
        job = change.job
        history.append({
            "actor": job.created_by, "timestamp": job.started_at or job.created_at,
            "action": import_description(change.action, job.original_name,
                                         undone=job.status == ImportJob.Status.UNDONE),
            "fields": []})
    history.sort(key=lambda item: item["timestamp"], reverse=True)
    return history[:size]
