"""Shared base for every list filter (django-filter), styled for Bootstrap."""

import django_filters
from django import forms

from crm.forms import FastSelect


class BootstrapFilterSet(django_filters.FilterSet):
    """Gives every filter widget its Bootstrap class, so templates can render fields as-is;
    plain selects render through FastSelect (the same HTML without a template per option)."""

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
                if type(widget) is forms.Select:
                    # Same state, same HTML; only render() differs (crm.forms.FastSelect).
                    widget.__class__ = FastSelect
            form._bootstrapped = True
        return form

    def labelled_errors(self) -> list[tuple[str, list[str]]]:
        """The filter form's errors with the label of the field each is about (for
        partials/filter_errors.html); none when the form was not submitted."""
        if not self.is_bound:
            return []
        fields = self.form.fields
        return [(fields[name].label if name in fields else "", errors)
                for name, errors in self.errors.items()]
