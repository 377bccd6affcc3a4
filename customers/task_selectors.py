"""Reads of tasks: the one access path (`task_list_for_user` / `task_get_for_user`) that every
task view, panel and reminder uses.

Who sees a task: its assignee, its creator, whoever can see its customer (through the customer
policy), Managers for the members of the teams they manage, Admins all. Who changes it (edit,
done, reopen): the assignee, the creator, the managers of the assignee's teams, Admins; always
together with the model permission customers.change_task (Analysts have only view_task).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from customers.models import Customer, Task
from customers.permissions import policy_for

RELATED = ("assignee", "customer")
OPEN_LIMIT = 200  # open tasks shown on "My tasks" at once; narrow with the due filters
DONE_LIMIT = 20  # recently done tasks shown below them
PANEL_LIMIT = 10  # open tasks on the customer's 360 page
CALENDAR_LIMIT = 500  # tasks on one month's grid


def _visible_q(user) -> Q | None:
    """None when every task is visible; otherwise the filter for the visible tasks."""
    if user.is_admin:
        return None
    policy = policy_for(user)
    q = Q(assignee=user) | Q(created_by=user)
    if policy.managed_member_ids:
        q |= Q(assignee_id__in=policy.managed_member_ids)
    customers = policy.visible_q()
    if customers is None:
        return q | Q(customer__isnull=False)
    return q | Q(customer_id__in=Customer.objects.alive().filter(customers).values("id"))


def task_list_for_user(user) -> QuerySet[Task]:
    """Tasks the user may see, with assignee and customer joined (no per-row queries)."""
    qs = Task.objects.select_related(*RELATED)
    if not (user.is_authenticated and user.is_active and user.has_perm("customers.view_task")):
        return qs.none()
    q = _visible_q(user)
    return qs if q is None else qs.filter(q)


def task_can_change(user, task: Task) -> bool:
    """Edit, done, reopen: the assignee, the creator, the assignee's managers, Admins."""
    if not (user.is_active and user.has_perm("customers.change_task")):
        return False
    if user.is_admin or user.pk in (task.assignee_id, task.created_by_id):
        return True
    return task.assignee_id in policy_for(user).managed_member_ids


def task_get_for_user(user, uuid, action: str = "view") -> Task:
    """The task, or 404 when the user may not see it (or it is not there), or 403 when they
    may see it but not change it (action="change")."""
    try:
        task = task_list_for_user(user).get(uuid=uuid)
    except (Task.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
    if action != "view" and not task_can_change(user, task):
        raise PermissionDenied
    return task


# --- "My tasks" -------------------------------------------------------------------------------
SCOPE_ASSIGNED = "assigned"
SCOPE_CREATED = "created"


@dataclass
class MyTasks:
    overdue: list[Task] = field(default_factory=list)
    today: list[Task] = field(default_factory=list)
    upcoming: list[Task] = field(default_factory=list)
    done: list[Task] = field(default_factory=list)
    open_truncated: bool = False
    show_open: bool = True
    show_done: bool = True

    @property
    def open_count(self) -> int:
        return len(self.overdue) + len(self.today) + len(self.upcoming)


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The start of `day` and of the next day, in the current time zone."""
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)


def my_tasks(user, *, scope: str = SCOPE_ASSIGNED, status: str = "",
             due_from: dt.date | None = None, due_to: dt.date | None = None,
             now: dt.datetime | None = None) -> MyTasks:
    """The user's tasks in sections: open ones split into overdue / due today / upcoming
    (one query on task_my_tasks, at most OPEN_LIMIT), and the recently done ones (one query,
    at most DONE_LIMIT)."""
    now = now or timezone.now()
    qs = task_list_for_user(user)
    if scope == SCOPE_CREATED:
        qs = qs.filter(created_by=user).exclude(assignee=user)
    else:
        qs = qs.filter(assignee=user)
    if due_from:
        qs = qs.filter(due_at__gte=_day_bounds(due_from)[0])
    if due_to:
        qs = qs.filter(due_at__lt=_day_bounds(due_to)[1])

    result = MyTasks(show_open=status != Task.Status.DONE, show_done=status != Task.Status.OPEN)
    if result.show_open:
        rows = list(qs.filter(status=Task.Status.OPEN).order_by("due_at", "id")[:OPEN_LIMIT + 1])
        result.open_truncated = len(rows) > OPEN_LIMIT
        end_of_today = _day_bounds(timezone.localdate(now))[1]
        for task in rows[:OPEN_LIMIT]:
            if task.due_at < now:
                result.overdue.append(task)
            elif task.due_at < end_of_today:
                result.today.append(task)
            else:
                result.upcoming.append(task)
    if result.show_done:
        result.done = list(qs.filter(status=Task.Status.DONE)
                           .order_by("-done_at", "-id")[:DONE_LIMIT])
    return result


def task_list_for_customer(user, customer: Customer, *, limit: int = PANEL_LIMIT) -> list[Task]:
    """The customer's open tasks, soonest first, at most `limit` + 1 (to tell there are more).
    One query on task_by_customer. Whoever sees the customer sees its tasks."""
    if not user.has_perm("customers.view_task"):
        return []
    return list(
        Task.objects.filter(customer=customer, status=Task.Status.OPEN)
        .select_related("assignee")
        .order_by("due_at", "id")[: limit + 1]
    )


# --- the calendar -------------------------------------------------------------------------------
@dataclass
class CalendarDay:
    date: dt.date
    in_month: bool
    is_today: bool
    tasks: list[Task]


@dataclass
class CalendarMonth:
    month: dt.date  # the first day of the month
    weeks: list[list[CalendarDay]]
    truncated: bool

    @property
    def days_with_tasks(self) -> list[CalendarDay]:
        return [day for week in self.weeks for day in week if day.in_month and day.tasks]

    @property
    def previous(self) -> dt.date:
        return (self.month - dt.timedelta(days=1)).replace(day=1)

    @property
    def next(self) -> dt.date:
        return (self.month + dt.timedelta(days=32)).replace(day=1)


def task_calendar(user, month: dt.date, *, now: dt.datetime | None = None) -> CalendarMonth:
    """The month grid (weeks from Monday) with the user's tasks on their due days: one query,
    at most CALENDAR_LIMIT tasks."""
    today = timezone.localdate(now or timezone.now())
    month = month.replace(day=1)
    weeks_dates = calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    start = _day_bounds(weeks_dates[0][0])[0]
    end = _day_bounds(weeks_dates[-1][-1])[1]
    rows = list(
        task_list_for_user(user).filter(assignee=user, due_at__gte=start, due_at__lt=end)
        .order_by("due_at", "id")[: CALENDAR_LIMIT + 1]
    )
    by_day: dict[dt.date, list[Task]] = {}
    for task in rows[:CALENDAR_LIMIT]:
        by_day.setdefault(timezone.localdate(task.due_at), []).append(task)
    weeks = [
        [CalendarDay(date=d, in_month=d.month == month.month, is_today=d == today,
                     tasks=by_day.get(d, [])) for d in week]
        for week in weeks_dates
    ]
    return CalendarMonth(month=month, weeks=weeks, truncated=len(rows) > CALENDAR_LIMIT)
