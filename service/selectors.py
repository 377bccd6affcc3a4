"""Reads of tickets and feedback: the access path every view, search, report and task uses."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404

from customers.selectors import customer_list_for_user
from service.models import Feedback, Ticket
from service.permissions import ticket_policy_for


def ticket_list_for_user(user) -> QuerySet[Ticket]:
    qs = Ticket.objects.select_related("customer", "contact", "assignee", "team", "category")
    if not (user.is_authenticated and user.is_active and user.has_perm("service.view_ticket")):
        return qs.none()
    q = ticket_policy_for(user).visible_q()
    return qs if q is None else qs.filter(q)


def ticket_get_for_user(user, uuid, action: str = "view") -> Ticket:
    """The ticket; 404 when the user may not see it, 403 when they may see it but not do
    `action` ("change", "assign", "reply"; archived tickets refuse all of them)."""
    try:
        ticket = ticket_list_for_user(user).get(uuid=uuid)
    except (Ticket.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404 from exc
    if action != "view" and not ticket_policy_for(user).can(action, ticket):
        raise PermissionDenied
    return ticket


def feedback_list_for_user(user) -> QuerySet[Feedback]:
    """Feedback about the customers the user may see."""
    qs = Feedback.objects.select_related("customer", "contact", "ticket", "logged_by")
    if not (user.is_authenticated and user.is_active and user.has_perm("service.view_feedback")):
        return qs.none()
    return qs.filter(customer__in=customer_list_for_user(user).values("pk"))


def feedback_get_for_user(user, uuid, action: str = "view") -> Feedback:
    try:
        feedback = feedback_list_for_user(user).get(uuid=uuid)
    except (Feedback.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404 from exc
    if action != "view" and not user.has_perm(f"service.{action}_feedback"):
        raise PermissionDenied
    return feedback
