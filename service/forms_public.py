"""Forms of the public service pages (no login): the service request, the requester's reply
through the signed link, and the satisfaction survey.

Each carries a honeypot field ("website") hidden from people: a bot that fills it is answered
as if all went well, and nothing is created."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.exceptions import ApplicationError
from customers.models import DictionaryEntry
from service.services import MAX_BODY, MAX_SURVEY_COMMENT, validate_attachment

HONEYPOT = "website"
SCORES = [
    (5, _("5 – Very satisfied")),
    (4, _("4 – Satisfied")),
    (3, _("3 – Neither satisfied nor dissatisfied")),
    (2, _("2 – Dissatisfied")),
    (1, _("1 – Very dissatisfied")),
]


class _PublicForm(forms.Form):
    website = forms.CharField(label=_("Leave this field empty"), required=False,
                              widget=forms.TextInput(attrs={"autocomplete": "off",
                                                            "tabindex": "-1"}))

    def is_spam(self) -> bool:
        return bool((self.data.get(HONEYPOT) or "").strip())

    def _attachment(self):
        file = self.cleaned_data.get("attachment")
        if file:
            try:
                validate_attachment(file)
            except ApplicationError as exc:
                raise forms.ValidationError(exc.message) from exc
        return file


def ticket_categories():
    return DictionaryEntry.objects.filter(
        kind=DictionaryEntry.Kind.TICKET_CATEGORY, is_active=True).order_by("order", "label")


class ServiceRequestForm(_PublicForm):
    name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.EmailField(label=_("Your e-mail address"), max_length=254,
                             help_text=_("We send the link to follow your request here."))
    category = forms.ModelChoiceField(label=_("Topic"), queryset=DictionaryEntry.objects.none(),
                                      required=False, empty_label=_("Choose a topic"))
    subject = forms.CharField(label=_("Subject"), max_length=200, error_messages={
        "required": _("Please give your request a subject.")})
    description = forms.CharField(label=_("How can we help?"), max_length=MAX_BODY,
                                  error_messages={"required": _("Please describe your request.")},
                                  widget=forms.Textarea(attrs={"rows": 6}))
    attachment = forms.FileField(label=_("Attachment (optional)"), required=False,
                                 help_text=_("PDF, image, text, CSV, Word or Excel file."))

    field_order = ["name", "email", "category", "subject", "description", "attachment",
                   HONEYPOT]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = ticket_categories()
        for name, field in self.fields.items():
            if name != "category":
                field.widget.attrs.setdefault("class", "form-control")
        self.fields["category"].widget.attrs["class"] = "form-select"
        self.fields["email"].widget.attrs["autocomplete"] = "email"
        self.fields["name"].widget.attrs["autocomplete"] = "name"

    def clean_name(self):
        return " ".join(self.cleaned_data["name"].split())

    def clean_subject(self):
        subject = " ".join(self.cleaned_data["subject"].split())
        if not subject:
            raise forms.ValidationError(_("Please give your request a subject."))
        return subject

    def clean_description(self):
        text = self.cleaned_data["description"].strip()
        if not text:
            raise forms.ValidationError(_("Please describe your request."))
        return text

    def clean_attachment(self):
        return self._attachment()


class CustomerReplyForm(_PublicForm):
    body = forms.CharField(label=_("Your reply"), max_length=MAX_BODY,
                           error_messages={"required": _("Please write a message.")},
                           widget=forms.Textarea(attrs={"rows": 5, "class": "form-control"}))
    attachment = forms.FileField(label=_("Attachment (optional)"), required=False,
                                 widget=forms.ClearableFileInput(attrs={"class": "form-control"}))

    def clean_body(self):
        text = self.cleaned_data["body"].strip()
        if not text:
            raise forms.ValidationError(_("Please write a message."))
        return text

    def clean_attachment(self):
        return self._attachment()


class SurveyForm(_PublicForm):
    score = forms.TypedChoiceField(label=_("How satisfied are you with how we handled your "
                                           "request?"), choices=SCORES, coerce=int,
                                   widget=forms.RadioSelect,
                                   error_messages={"required": _("Please choose a score."),
                                                   "invalid_choice": _("Please choose a score "
                                                                       "from 1 to 5.")})
    comment = forms.CharField(label=_("Anything you would like to tell us? (optional)"),
                              required=False, max_length=MAX_SURVEY_COMMENT,
                              widget=forms.Textarea(attrs={"rows": 4, "class": "form-control"}))
