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



@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_autocompletes_and_the_bulk_action_render_exactly_as_django_does(language):
    """The autocomplete selects (the chosen options only) and the customer list's bulk-action
    select render in Python: the same HTML as their templates give."""
    from customers.autocomplete import TagAutocompleteMultiple, UserAutocomplete
    from customers.forms.customer import CustomerBulkForm
    from customers.models import Tag
    from tests.factories import UserFactory

    user = UserFactory(first_name='Ann "<b>"', last_name="& Co")
    tags = [Tag.objects.create(name="<vip>"), Tag.objects.create(name='say "hi"')]
    with translation.override(language):
        form = CustomerBulkForm(auto_id="bulk_%s")
        single = forms.ModelChoiceField(queryset=type(user).objects.all(), to_field_name="uuid",
                                        widget=UserAutocomplete(placeholder='New "owner"'))
        single.widget.choices = single.choices
        many = forms.ModelMultipleChoiceField(queryset=Tag.objects.all(), to_field_name="uuid",
                                              widget=TagAutocompleteMultiple())
        many.widget.choices = many.choices
        cases = [
            (form.fields["action"].widget, "action", "trash"),
            (form.fields["owner"].widget, "owner", None),
            (single.widget, "owner", str(user.uuid)),
            (many.widget, "tags", [str(t.uuid) for t in tags]),
            (many.widget, "tags", []),
        ]
        for widget, name, value in cases:
            attrs = {"id": f"id_{name}"}
            expected = forms.Widget.render(widget, name, value, attrs=attrs)  # the templates
            assert widget.render(name, value, attrs=attrs) == expected, (name, value)
    assert "&lt;vip&gt;" in many.widget.render("tags", [str(tags[0].uuid)])
