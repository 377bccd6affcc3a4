"""crm.forms.FAST_INPUTS: inputs whose HTML is built in Python must render exactly what
Django's own widgets render through their templates."""

import datetime

import pytest
from django import forms
from django.utils import translation
from django.utils.safestring import mark_safe

from crm.forms import FAST_INPUTS, FastSelect
from customers.filters import CustomerFilter

VALUES = [None, "", "plain", 'quote " and <tag> & amp', mark_safe("<b>safe</b>"), 42, 3.5,
          datetime.date(2026, 11, 24), datetime.datetime(2026, 11, 24, 9, 30)]
ATTRS = [None, {"class": "form-control", "placeholder": 'Name "or" <code>'},
         {"required": True, "disabled": False, "data-x": "1", "type": "date"}]


@pytest.mark.parametrize("widget_class", list(FAST_INPUTS))
@pytest.mark.parametrize("attrs", ATTRS)
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_it_renders_inputs_exactly_as_django_does(widget_class, attrs, language):
    with translation.override(language):
        for value in VALUES:
            django_widget = widget_class(attrs=attrs)
            fast_widget = FAST_INPUTS[widget_class](attrs=attrs)
            expected = django_widget.render("field", value, attrs={"id": "id_field"})
            built = fast_widget.render("field", value, attrs={"id": "id_field"})
            assert built == expected, (widget_class, attrs, value)


@pytest.mark.django_db
def test_filter_forms_use_the_fast_widgets():
    form = CustomerFilter({}).form
    kinds = {type(field.widget) for field in form.fields.values()}
    assert FAST_INPUTS[forms.DateInput] in kinds
    assert FastSelect in kinds
    assert forms.DateInput not in kinds and forms.Select not in kinds

