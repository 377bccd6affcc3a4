"""crm.forms.crispy_field_html (the `|as_field` filter): plain unbound fields render as
crispy-bootstrap5's |as_crispy_field does, element for element; everything else is left to
crispy itself."""

import re

import pytest
from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field
from django import forms
from django.template import engines
from django.utils import translation

from crm.forms import crispy_field_html
from customers.views.profile import _interaction_form


def normalized(html: str) -> str:
    """Whitespace between tags and runs of it inside text do not change the page."""
    html = re.sub(r"\s+", " ", str(html))
    return re.sub(r"\s*(<|>)\s*", r"\1", html).strip()


class Sample(forms.Form):
    name = forms.CharField(label='Name <"quoted">', max_length=20)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False,
                            help_text="Shown <b>as is</b>")
    count = forms.IntegerField(required=False, initial=3)
    kind = forms.ChoiceField(choices=[("a", "A & B"), ("b", "<b>")], initial="b")
    when = forms.DateTimeField(required=False, widget=forms.DateTimeInput(
        attrs={"type": "datetime-local", "class": "extra"}))
    email = forms.EmailField(required=False, label="")
    day = forms.DateField(required=False, widget=forms.DateInput(attrs={"class": "dateinput"}))


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_it_renders_plain_fields_as_crispy_does(language):
    with translation.override(language):
        for name in Sample.base_fields:
            fast = crispy_field_html(Sample()[name])
            assert fast is not None, name
            assert normalized(fast) == normalized(as_crispy_field(Sample()[name])), name


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_interaction_form_renders_as_it_did(own_customer, language):
    with translation.override(language):
        for more in (False, True):  # a select of the contacts, or their autocomplete
            for name in _interaction_form(own_customer, [], more).fields:
                fast = crispy_field_html(_interaction_form(own_customer, [], more)[name])
                crispy = as_crispy_field(_interaction_form(own_customer, [], more)[name])
                assert fast is not None and normalized(fast) == normalized(crispy), name


def test_it_leaves_bound_and_other_fields_to_crispy():
    bound = Sample({"name": ""})
    assert crispy_field_html(bound["name"]) is None

    class Other(forms.Form):
        agree = forms.BooleanField()
        pick = forms.ChoiceField(choices=[("a", "A")], widget=forms.RadioSelect)
        many = forms.MultipleChoiceField(choices=[("a", "A")])
        secret = forms.CharField(widget=forms.HiddenInput)
        upload = forms.FileField()

    for name in Other.base_fields:
        assert crispy_field_html(Other()[name]) is None, name


def test_the_filter_falls_back_to_crispy_for_a_bound_form():
    template = engines["django"].from_string("{% load crm_forms %}{{ form.name|as_field }}")
    html = template.render({"form": Sample({"name": ""})})
    assert "is-invalid" in html and "invalid-feedback" in html
