"""The ticket queues of the staff UI and the service figures of one customer.

Every queue starts from service.selectors.ticket_list_for_user (the access path), so a queue
never shows a ticket its user may not see, and filters on indexed columns only.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Avg, Case, Count, F, Q, QuerySet, When
from django.db.models.functions import Least
from django.http import Http404
from django.utils import timezone

from crm.prepared import Compiled
from service.models import Ticket
from service.selectors import ticket_list_for_user

QUEUES = ("mine", "unassigned", "breaching", "all")
BREACHING_WINDOW = timedelta(hours=2)
RUNNING = ("new", "assigned", "in_progress")  # the SLA clock runs (not while waiting)


def queue(user, name: str, base: QuerySet[Ticket] | None = None) -> QuerySet[Ticket]:
    """The named queue for `user`:
    - mine: open tickets assigned to the user, newest first;
    - unassigned: tickets nobody has taken yet, newest first;
    - breaching: running tickets due (first response or resolution) within the next 2 hours
      or already late, soonest first (annotated `next_due_at`);
    - all: every ticket the user may see, newest first.
    An unknown name is a 404. `base` replaces the access path (for the capped count, which
    applies the visible set itself, branch by branch)."""
    qs = ticket_list_for_user(user) if base is None else base
    if name == "mine":
        return qs.filter(assignee=user, status__in=Ticket.OPEN).order_by("-created_at", "-id")
    if name == "unassigned":
        return qs.filter(assignee__isnull=True, status__in=("new", "assigned")).order_by(
            "-created_at", "-id")
    if name == "breaching":
        limit = timezone.now() + BREACHING_WINDOW
        first_due = Q(first_responded_at__isnull=True, first_response_due_at__lte=limit)
        return (
            qs.filter(status__in=RUNNING)
            .filter(first_due | Q(resolution_due_at__lte=limit))
            .annotate(next_due_at=Case(
                When(first_responded_at__isnull=True,
                     then=Least(F("first_response_due_at"), F("resolution_due_at"))),
                default=F("resolution_due_at")))
            .order_by(F("next_due_at").asc(nulls_last=True), "id")
        )
    if name == "all":
        return qs.order_by("-created_at", "-id")
    raise Http404


# customer_service_figures()'s query: compiled once, prepared (crm.prepared). The ORM's
# aggregate() took three times as long to build as PostgreSQL took to answer.
_CUSTOMER_FIGURES = Compiled(lambda customer_id: (
    Ticket.objects.filter(customer_id=customer_id).order_by().values("customer_id").annotate(
        open=Count("id", filter=Q(status__in=Ticket.OPEN)),
        total=Count("id"),
        avg_satisfaction=Avg("satisfaction_score"),
        avg_resolution=Avg("resolution_seconds"),
        breached=Count("id", filter=Q(first_response_breached=True)
                       | Q(resolution_breached=True)),
    )))


def customer_service_figures(customer) -> dict:
    """open, total, avg_satisfaction (1-5 or None), avg_resolution_hours (or None) and
    breached (tickets that missed a target) of one customer's tickets, in one query."""
    rows = _CUSTOMER_FIGURES.dicts(customer.pk)
    row = rows[0] if rows else {"open": 0, "total": 0, "avg_satisfaction": None,
                                "avg_resolution": None, "breached": 0}
    seconds, satisfaction = row["avg_resolution"], row["avg_satisfaction"]
    return {
        "open": row["open"],
        "total": row["total"],
        "avg_satisfaction": None if satisfaction is None else round(float(satisfaction), 1),
        "breached": row["breached"],
        "avg_resolution_hours": None if seconds is None else round(float(seconds) / 3600, 1),
    }
