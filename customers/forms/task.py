"""Forms of tasks: create/edit, the "My tasks" filters, the calendar's month."""

from __future__ import annotations

import datetime as dt
import re

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Field, Layout, Row
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.forms import VersionedModelForm
from customers.autocomplete import UserAutocomplete
from customers.models import Task
from customers.task_selectors import SCOPE_ASSIGNED, SCOPE_CREATED
from customers.task_services import TASK_FIELDS, assignable_users_q

DATETIME_WIDGET = {"type": "datetime-local"}
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


def _person_label(user) -> str:
    return user.get_full_name() or user.email


class TaskForm(forms.ModelForm):
    """Title, details, due, reminder, priority, assignee. The customer is not a field: it is
    chosen on the customer's page (?customer=<uuid>) and fixed once the task exists."""

    class Meta:
        model = Task
        fields = TASK_FIELDS
        widgets = {
            "due_at": forms.DateTimeInput(attrs=DATETIME_WIDGET, format=DATETIME_FORMAT),
            "remind_at": forms.DateTimeInput(attrs=DATETIME_WIDGET, format=DATETIME_FORMAT),
            "description": forms.Textarea(attrs={"rows": 4}),
        }
        help_texts = {
            "remind_at": _("When to e-mail the assignee. Left empty: at the due time."),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        assignee = self.fields["assignee"]
        keep = Q(pk=self.instance.assignee_id) if self.instance.pk else Q(pk__in=[])
        assignee.queryset = (
            get_user_model().objects.filter(assignable_users_q(user) | keep).distinct()
            .order_by("first_name", "last_name", "email")
        )
        assignee.label_from_instance = _person_label
        assignee.empty_label = None
        assignee.widget = UserAutocomplete(extra_query="scope=assignee")
        assignee.widget.choices = assignee.choices
        if not self.instance.pk and not self.is_bound:
            self.initial.setdefault("assignee", user.pk)
        for name in ("due_at", "remind_at"):
            self.fields[name].input_formats = [DATETIME_FORMAT, "%Y-%m-%d %H:%M",
                                               "%Y-%m-%d %H:%M:%S"]
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Field("title"),
            Field("description"),
            Row(Column("due_at", css_class="col-sm-6"), Column("remind_at", css_class="col-sm-6")),
            Row(Column("priority", css_class="col-sm-6"),
                Column("assignee", css_class="col-sm-6")),
            *(["version"] if "version" in self.fields else []),
        )

    def clean(self):
        cleaned = super().clean()
        due, remind = cleaned.get("due_at"), cleaned.get("remind_at")
        if due and remind and remind > due:
            self.add_error("remind_at", _("The reminder must not come after the due time."))
        return cleaned

    def service_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in TASK_FIELDS}


class TaskEditForm(TaskForm, VersionedModelForm):
    """Editing a task: carries the version, so a stale form is refused."""


class TaskFilterForm(forms.Form):
    """The filters of "My tasks"; invalid values are reported and ignored."""

    STATUS_CHOICES = [("", _("Open and done")), (Task.Status.OPEN, _("Open only")),
                      (Task.Status.DONE, _("Done only"))]
    SCOPE_CHOICES = [(SCOPE_ASSIGNED, _("Assigned to me")),
                     (SCOPE_CREATED, _("Created by me for others"))]

    scope = forms.ChoiceField(label=_("Tasks"), choices=SCOPE_CHOICES, required=False)
    status = forms.ChoiceField(label=_("Status"), choices=STATUS_CHOICES, required=False)
    due_from = forms.DateField(label=_("Due from"), required=False,
                               widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    due_to = forms.DateField(label=_("Due until"), required=False,
                             widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("due_from"), cleaned.get("due_to")
        if start and end and start > end:
            self.add_error("due_to", _("The end of the range is before its start."))
        return cleaned

    def values(self) -> dict:
        """The valid filters (an invalid one counts as not given)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "scope": data.get("scope") or SCOPE_ASSIGNED,
            "status": data.get("status") or "",
            "due_from": data.get("due_from") if "due_from" not in self.errors else None,
            "due_to": data.get("due_to") if "due_to" not in self.errors else None,
        }


MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(value: str | None) -> dt.date | None:
    """'2026-11' -> date(2026, 11, 1); None for anything else (or a year out of range)."""
    match = MONTH_RE.match((value or "").strip())
    if not match:
        return None
    year, month = int(match[1]), int(match[2])
    if not (1900 <= year <= 2999 and 1 <= month <= 12):
        return None
    return dt.date(year, month, 1)


def current_month() -> dt.date:
    return timezone.localdate().replace(day=1)
