"""Forms of the import wizard: the upload, and the column mapping with the duplicate rules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from customers import transfer
from customers.models.imports import ImportJob


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV or Excel file"),
        help_text=_("CSV (UTF-8) or .xlsx with the column headings in the first row."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = transfer.upload_limit(upload.name)
        if upload.size > limit:
            raise forms.ValidationError(_("The file is larger than %(mb)d MB.")
                                        % {"mb": limit // (1024 * 1024)})
        if not upload.name.lower().endswith((".csv", ".xlsx", ".txt")):
            raise forms.ValidationError(_("Upload a CSV (.csv) or Excel (.xlsx) file."))
        return upload


class ImportMappingForm(forms.Form):
    """One choice per column of the file (field name `col_<i>`), then the duplicate rules."""

    match_on = forms.MultipleChoiceField(
        label=_("Find duplicates by"), required=False, choices=transfer.MATCH_KEYS,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )
    duplicates = forms.ChoiceField(
        label=_("When a row matches an existing customer"),
        choices=ImportJob.Duplicates.choices, initial=ImportJob.Duplicates.SKIP,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )

    def __init__(self, *args, job: ImportJob, definitions, initial_mapping=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.job = job
        choices = [("", _("— do not import —")),
                   *((key, str(label)) for key, label in transfer.field_choices(definitions))]
        initial_mapping = initial_mapping or {}
        self.columns = []
        for i, header in enumerate(job.headers):
            name = f"col_{i}"
            self.fields[name] = forms.ChoiceField(
                label=header, choices=choices, required=False,
                initial=initial_mapping.get(header, ""),
                widget=forms.Select(attrs={"class": "form-select"}),
            )
            self.columns.append((header, name))

    def column_fields(self):
        return [(header, self[name]) for header, name in self.columns]

    def clean(self):
        cleaned = super().clean()
        mapping = {h: cleaned.get(n) for h, n in self.columns if cleaned.get(n)}
        targets = list(mapping.values())
        twice = sorted({k for k in targets if targets.count(k) > 1})
        if twice:
            raise forms.ValidationError(
                _("Each field can take one column only; used twice: %(fields)s")
                % {"fields": ", ".join(twice)})
        cleaned["mapping"] = mapping
        return cleaned
