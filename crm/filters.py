"""Shared base for every list filter (django-filter), styled for Bootstrap."""

import copy
import datetime
import threading
from collections import OrderedDict

import django_filters
from django import forms
from django.utils import timezone, translation

from crm.forms import FAST_INPUTS, FastSelect

# Dates outside these years have no bound in the filters (years 1 and 9999 overflow once
# shifted to UTC).
MIN_YEAR, MAX_YEAR = 1900, 9998


def start_of_day(day: datetime.date) -> datetime.datetime | None:
    """Midnight at the start of `day` in the current time zone; None for the far past or
    future: no bound there."""
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        return None
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def end_of_day(day: datetime.date) -> datetime.datetime | None:
    """The exclusive end of `day` (midnight after it), so a "until" date includes the day."""
    return start_of_day(day + datetime.timedelta(days=1)) if day.year < MAX_YEAR else None


# The filter bars {% filter_bar %} rendered, per process: bar_cache_key() -> HTML. A few per
# list page and language; the oldest goes first when it is full.
_BARS: OrderedDict = OrderedDict()
_BARS_SIZE = 64
_BARS_LOCK = threading.Lock()


def bar_get(key) -> str | None:
    return _BARS.get(key)


def bar_put(key, html: str) -> None:
    with _BARS_LOCK:
        _BARS[key] = html
        while len(_BARS) > _BARS_SIZE:
            _BARS.popitem(last=False)


def bar_clear() -> None:
    with _BARS_LOCK:
        _BARS.clear()


class _Filters(OrderedDict):
    """A filter set's class-level filters, whose copy for each instance (django-filter
    deep-copies them in FilterSet.__init__) copies each filter and its `extra` options, not
    everything they reach: deep copies of their querysets and widgets were a twentieth of
    a list page's time. Nothing of a class-level filter is changed per request: its form
    field is built from a copy of `extra` (the widget deep-copied by the field), and
    django-filter's own writes (extra["queryset"], extra["choices"], the label, the field)
    land on the instance's copy."""

    def __deepcopy__(self, memo):
        copied = _Filters()
        for name, original in self.items():
            filter_ = copy.copy(original)
            filter_.__dict__.pop("_field", None)
            filter_.extra = dict(original.extra)
            if original.method is not None:
                filter_.method = original.method  # its FilterMethod calls this copy
            copied[name] = filter_
        return copied


class BootstrapFilterSet(django_filters.FilterSet):
    """Gives every filter widget its Bootstrap class, so templates can render fields as-is;
    plain selects and inputs render in Python (the same HTML without a template per option
    or per field).

    A filter set whose load_choices() sets `choices_fingerprint` (everything its choice lists
    were read from: ids, versions, labels) lets {% filter_bar %} reuse the HTML of its bar
    while it is unbound: building the form and its widgets was a fifth of the customer
    list's time. Bound, it renders every time (the chosen values, the errors)."""

    choices_fingerprint = None

    @classmethod
    def get_filters(cls):
        return _Filters(super().get_filters())

    def bar_cache_key(self):
        """The key of this bar's HTML, or None when it must be rendered: bound, or no
        fingerprint of its choices. The language is part of it (translated labels)."""
        if self.is_bound or self.choices_fingerprint is None:
            return None
        cls = type(self)
        return (cls.__module__, cls.__qualname__, self.form_prefix, translation.get_language(),
                self.choices_fingerprint)

    def prepare_form(self, form) -> None:
        """Hook: runs once, when the form is first built (after the Bootstrap classes); a
        load_choices() that waits for the form puts its lists on the widgets here."""

    @property
    def form(self):
        form = super().form
        if not getattr(form, "_bootstrapped", False):
            for field in form.fields.values():
                widget = field.widget
                css = "form-select" if isinstance(widget, forms.Select) else "form-control"
                if isinstance(widget, forms.CheckboxInput):
                    css = "form-check-input"
                widget.attrs.setdefault("class", css)
                # Same state, same HTML; only render() differs (crm.forms.FastSelect and
                # FAST_INPUTS).
                if type(widget) is forms.Select:
                    widget.__class__ = FastSelect
                elif type(widget) in FAST_INPUTS:
                    widget.__class__ = FAST_INPUTS[type(widget)]
            form._bootstrapped = True
            self.prepare_form(form)
        return form

    # A range on created_at itself (not created_at::date), so the index is used.
    def filter_created_after(self, queryset, name, value):
        start = start_of_day(value)
        return queryset if start is None else queryset.filter(created_at__gte=start)

    def filter_created_before(self, queryset, name, value):
        end = end_of_day(value)
        return queryset if end is None else queryset.filter(created_at__lt=end)

    def _clean(self, name):
        """The cleaned value of filter `name` (the form validated once); None when unbound."""
        if not self.is_bound:
            return None
        self.errors  # noqa: B018 (validate the form once)
        return self.form.cleaned_data.get(name)

    def labelled_errors(self) -> list[tuple[str, list[str]]]:
        """The filter form's errors with the label of the field each is about (for
        partials/filter_errors.html); none when the form was not submitted."""
        if not self.is_bound:
            return []
        fields = self.form.fields
        return [(fields[name].label if name in fields else "", errors)
                for name, errors in self.errors.items()]
