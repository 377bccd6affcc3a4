from __future__ import annotations

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from accounts import roles
from accounts.models import Team, User, normalize_email
from crm.forms import VersionedModelForm


class RoleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{roles.role_label(obj.name)}: {roles.ROLE_DESCRIPTIONS.get(obj.name, '')}"


def _role_field(required=True):
    return RoleChoiceField(
        queryset=Group.objects.filter(name__in=roles.ROLES).order_by("name"),
        widget=forms.CheckboxSelectMultiple,
        label=_("Roles"),
        required=required,
        error_messages={"required": _("Give the user at least one role.")},
    )


def _team_field():
    return forms.ModelMultipleChoiceField(
        queryset=Team.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        label=_("Teams"),
        required=False,
    )


class LoginForm(auth_forms.AuthenticationForm):
    """Sign-in by e-mail; the message never says whether the account exists."""

    username = forms.EmailField(
        label=_("E-mail address"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    error_messages = {
        "invalid_login": _("That e-mail address and password do not match an active account."),
        "inactive": _("That e-mail address and password do not match an active account."),
    }

    def clean_username(self):
        return normalize_email(self.cleaned_data["username"])


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    title = forms.CharField(label=_("Job title"), max_length=100, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["roles"] = _role_field()
        self.fields["teams"] = _team_field()

    def clean_email(self):
        email = normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email=email).exists():
            raise forms.ValidationError(
                _("A user with this e-mail address already exists."), code="duplicate"
            )
        return email


class UserEditForm(VersionedModelForm):
    class Meta:
        model = User
        fields = ["email", "first_name", "last_name", "title", "phone", "language"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["roles"] = _role_field()
        self.fields["teams"] = _team_field()
        if self.instance.pk and not self.is_bound:
            self.initial["roles"] = list(self.instance.groups.all())
            self.initial["teams"] = list(self.instance.teams.all())

    def clean_email(self):
        email = normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email=email).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(
                _("A user with this e-mail address already exists."), code="duplicate"
            )
        return email


class ProfileForm(VersionedModelForm):
    class Meta:
        model = User
        fields = ["first_name", "last_name", "title", "phone", "language"]


class TeamForm(VersionedModelForm):
    class Meta:
        model = Team
        fields = ["name", "description", "manager", "members"]
        widgets = {"members": forms.CheckboxSelectMultiple,
                   "description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        active = User.objects.filter(is_active=True)
        self.fields["manager"].queryset = active
        self.fields["members"].queryset = active
        self.fields["members"].required = False
        if not self.instance.pk:
            del self.fields["version"]

    def clean(self):
        data = super().clean()
        manager = data.get("manager")
        members = data.get("members")
        if manager is not None and members is not None and manager not in members:
            data["members"] = [*members, manager]
        return data


class AcceptInviteForm(auth_forms.SetPasswordForm):
    """Sets the first password of an invited user."""


class OTPTokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=8,
        min_length=6,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True,
                   "pattern": "[0-9]*"}
        ),
    )

    def clean_token(self):
        token = self.cleaned_data["token"].strip().replace(" ", "")
        if not token.isdigit():
            raise forms.ValidationError(_("Enter the digits shown in your app."), code="invalid")
        return token


class ConfirmPasswordForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"), widget=forms.PasswordInput(attrs={"autocomplete":
                                                                    "current-password"})
    )

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("That password is not right."), code="invalid")
        return password
