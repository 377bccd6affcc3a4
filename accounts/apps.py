from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from auditlog.registry import auditlog

        from accounts.models import Team, User
        from crm import navigation

        auditlog.register(
            User,
            exclude_fields=["password", "last_login", "updated_at"],
            m2m_fields={"groups"},
        )
        auditlog.register(Team, exclude_fields=["updated_at"], m2m_fields={"members"})

        def is_admin(user):
            return user.is_admin

        navigation.register(
            navigation.NavItem(key="home", label=_("Home"), url_name="home", icon="house",
                               order=0)
        )
        navigation.register(
            navigation.NavItem(key="users", label=_("Users"), url_name="accounts:user_list",
                               icon="people", order=900, visible=is_admin, section="admin")
        )
        navigation.register(
            navigation.NavItem(key="teams", label=_("Teams"), url_name="accounts:team_list",
                               icon="diagram-3", order=910, visible=is_admin, section="admin")
        )
