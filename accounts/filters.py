import django_filters
from django.contrib.auth.models import Group
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts import roles
from accounts.models import Team, User
from crm.filters import BootstrapFilterSet


class RoleFilter(django_filters.ModelChoiceFilter):
    """Choices show the translated role names."""

    @property
    def field(self):
        field = super().field
        field.label_from_instance = lambda group: roles.role_label(group.name)
        return field


class UserFilter(BootstrapFilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    role = RoleFilter(
        field_name="groups", queryset=Group.objects.filter(name__in=roles.ROLES),
        label=_("Role"), to_field_name="name", empty_label=_("Any role"),
    )
    team = django_filters.ModelChoiceFilter(
        field_name="teams", queryset=Team.objects.all(), label=_("Team"), to_field_name="uuid",
        empty_label=_("Any team"),
    )
    status = django_filters.ChoiceFilter(
        method="filter_status",
        label=_("Status"),
        choices=[("active", _("Active")), ("inactive", _("Deactivated")),
                 ("invited", _("Invitation pending"))],
        empty_label=_("Any status"),
    )
    ordering = django_filters.OrderingFilter(
        fields=(("last_name", "name"), ("email", "email"), ("last_login", "last_login"),
                ("created_at", "created")),
        field_labels={"name": _("Name"), "email": _("E-mail"), "last_login": _("Last login"),
                      "created": _("Created")},
        label=_("Sort by"),
        empty_label=_("Name"),
    )

    class Meta:
        model = User
        fields = []

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(email__icontains=value) | Q(first_name__icontains=value)
            | Q(last_name__icontains=value)
        )

    def filter_status(self, queryset, name, value):
        if value == "active":
            return queryset.filter(is_active=True)
        if value == "inactive":
            return queryset.filter(is_active=False)
        if value == "invited":
            return queryset.filter(invited_at__isnull=False, password__startswith="!")
        return queryset


class TeamFilter(BootstrapFilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label=_("Search"))

    class Meta:
        model = Team
        fields = []
