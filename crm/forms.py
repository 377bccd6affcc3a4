"""Form helpers shared by every app."""

from django import forms


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
