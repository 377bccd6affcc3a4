"""{% load crm_forms %}: `field|as_field`, crispy's |as_crispy_field without its templates for
plain unbound fields (crm.forms.crispy_field_html); anything else goes to crispy."""

from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field
from django import template

from crm.forms import crispy_field_html

register = template.Library()


@register.filter
def as_field(field):
    return crispy_field_html(field) or as_crispy_field(field)
