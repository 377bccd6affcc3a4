"""Form helpers shared by every app."""

from django import forms
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, mark_safe
from django.utils.timezone import template_localtime


class VersionedModelForm(forms.ModelForm):
    """A ModelForm that carries the record's version for optimistic locking.

    The hidden `version` field holds the version the form was built from; the view hands
    `form.cleaned_data["version"]` to the service, which refuses the save when the record
    moved on in the meantime (crm.services.model_update).
    """

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound and self.instance.pk:
            self.initial["version"] = self.instance.version


def _attrs_html(attrs: dict) -> str:
    """django/forms/widgets/attrs.html in Python: ` name="value"` for each attribute, a bare
    ` name` for True, nothing for False; values through stringformat:'s' and autoescaping."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            parts.append(f" {conditional_escape(name)}")
        else:
            text = "%s" % value  # noqa: UP031 (stringformat:'s', as the template does)
            if isinstance(value, SafeData):
                text = mark_safe(text)  # noqa: S308 (it was safe already)
            parts.append(f' {conditional_escape(name)}="{conditional_escape(text)}"')
    return "".join(parts)


def _text_html(value) -> str:
    """`{{ value }}` in a template: local time, localized, autoescaped."""
    return conditional_escape(localize(template_localtime(value)))


class FastSelectMixin:
    """A select whose HTML is built in Python: the same markup, byte for byte, as
    django/forms/widgets/select.html, select_option.html and attrs.html produce, without a
    template include per option (a 36-option select took ~5 ms through the templates, well
    under 1 ms this way). Its context (choices, selection, attributes) is the widget's own."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        out = [f'<select name="{_text_html(widget["name"])}"{_attrs_html(widget["attrs"])}>']
        for group_name, group_choices, _index in widget["optgroups"]:
            if group_name:
                out.append(f'\n  <optgroup label="{_text_html(group_name)}">')
            for option in group_choices:
                value_text = "%s" % option["value"]  # noqa: UP031 (stringformat:'s')
                if isinstance(option["value"], SafeData):
                    value_text = mark_safe(value_text)  # noqa: S308 (it was safe already)
                out.append(f'\n  <option value="{conditional_escape(value_text)}"'
                           f'{_attrs_html(option["attrs"])}>{_text_html(option["label"])}'
                           f'</option>\n')
            if group_name:
                out.append("\n  </optgroup>")
        out.append("\n</select>")  # (the renderer strips the trailing newline)
        return mark_safe("".join(out))  # noqa: S308 (every value above is escaped)


class FastSelect(FastSelectMixin, forms.Select):
    pass


class FastSelectMultiple(FastSelectMixin, forms.SelectMultiple):
    pass


class FastInputMixin:
    """An <input> widget whose HTML is built in Python: the same markup, byte for byte, as
    django/forms/widgets/input.html and attrs.html produce (two template includes per
    field otherwise). Its context (type, name, formatted value, attributes) is the
    widget's own."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        value_html = ""
        if widget["value"] is not None:
            text = "%s" % widget["value"]  # noqa: UP031 (stringformat:'s', as the template does)
            if isinstance(widget["value"], SafeData):
                text = mark_safe(text)  # noqa: S308 (it was safe already)
            value_html = f' value="{conditional_escape(text)}"'
        return mark_safe(  # noqa: S308 (every value is escaped)
            f'<input type="{_text_html(widget["type"])}" name="{_text_html(widget["name"])}"'
            f'{value_html}{_attrs_html(widget["attrs"])}>')


FAST_INPUTS = {
    cls: type(f"Fast{cls.__name__}", (FastInputMixin, cls), {})
    for cls in (forms.TextInput, forms.NumberInput, forms.EmailInput, forms.URLInput,
                forms.DateInput, forms.DateTimeInput, forms.TimeInput, forms.SearchInput)
}


# Widgets crispy_field_html renders (anything else, and any bound form, goes to crispy).
_PLAIN_WIDGETS = (forms.Select, forms.TextInput, forms.NumberInput, forms.EmailInput,
                  forms.URLInput, forms.DateInput, forms.DateTimeInput, forms.TimeInput,
                  forms.Textarea)
_NOT_PLAIN = (forms.SelectMultiple, forms.RadioSelect, forms.CheckboxInput, forms.FileInput)


def crispy_field_html(field) -> str | None:
    """What crispy-bootstrap5's `|as_crispy_field` renders for an unbound field with a plain
    select, input or textarea (the wrapper, the label with its asterisk, the widget with the
    classes crispy gives it, the help text), built in Python: crispy's templates took ~0.4 ms
    a field. The same elements, attributes and text (whitespace between tags aside); None
    when the field needs crispy itself (bound forms, errors, hidden fields, check boxes,
    radios, files, fieldsets)."""
    widget = field.field.widget
    if (field.form.is_bound or field.is_hidden or field.use_fieldset
            or not isinstance(widget, _PLAIN_WIDGETS) or isinstance(widget, _NOT_PLAIN)):
        return None
    # crispy's CrispyFieldNode: the widget's class name, then the Bootstrap class.
    class_name = widget.__class__.__name__.lower()
    css = widget.attrs.get("class", "")
    if css:
        if css.find(class_name) == -1:
            css += f" {class_name}"
    else:
        css = class_name
    for token in ("form-select" if isinstance(widget, forms.Select) else "form-control",):
        if token not in css.split():
            css += f" {token}"
    widget.attrs["class"] = css
    # Same state, same HTML; only render() differs.
    if type(widget) is forms.Select:
        widget.__class__ = FastSelect
    elif type(widget) in FAST_INPUTS:
        widget.__class__ = FAST_INPUTS[type(widget)]
    wrapper_css = f" {field.css_classes()}" if field.css_classes() else ""
    required = field.field.required
    asterisk = '<span class="asteriskField">*</span>' if required else ""
    label = ""
    if field.label:
        label_for = f'for="{_text_html(field.id_for_label)}" ' if field.id_for_label else ""
        label = (f'<label {label_for}class="form-label{" requiredField" if required else ""}">'
                 f'{_text_html(field.label)}{asterisk}</label>')
    help_html = ""
    if field.help_text:
        help_id = f'id="{_text_html(field.auto_id)}_helptext" ' if field.auto_id else ""
        help_html = f'<div {help_id}class="form-text">{field.help_text}</div>'
    return mark_safe(  # noqa: S308 (label and ids escaped; the help text is trusted, as |safe)
        f'<div id="div_{_text_html(field.auto_id)}" class="mb-3{wrapper_css}">{label}'
        f'{field}{help_html}</div>')
