"""Shared base for every list filter (django-filter), styled for Bootstrap."""

import django_filters
from django import forms


class BootstrapFilterSet(django_filters.FilterSet):
    """Gives every filter widget its Bootstrap class, so templates can render fields as-is."""

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
            form._bootstrapped = True
        return form
