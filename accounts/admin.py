from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import Team, User


class TeamMembershipInline(admin.TabularInline):
    model = Team.members.through
    extra = 0
    can_delete = False
    verbose_name = _("team membership")
    verbose_name_plural = _("team memberships")
    readonly_fields = ["team"]

    # Memberships change on the app's Users and Teams pages, which check versions.
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Accounts are deactivated, never deleted: history and records keep their people."""

    ordering = ("email",)
    list_display = ("email", "first_name", "last_name", "title", "is_active", "last_login")
    list_filter = ("is_active", "groups", "teams", "language", "is_superuser")
    search_fields = ("email", "first_name", "last_name", "title")
    # Roles, activation and superuser status change only through the app's user pages, whose
    # services keep the rules (last Admin, sessions, two-factor, events).
    readonly_fields = ("uuid", "last_login", "date_joined", "invited_at", "invited_by",
                       "created_at", "updated_at", "version", "is_active", "is_superuser",
                       "groups", "user_permissions")
    inlines = [TeamMembershipInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Person"), {"fields": ("first_name", "last_name", "title", "phone", "language")}),
        (_("Access"), {"fields": ("is_active", "is_superuser", "groups", "user_permissions")}),
        (_("History"), {"fields": ("uuid", "invited_at", "invited_by", "last_login",
                                   "date_joined", "created_at", "updated_at", "version")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",),
                "fields": ("email", "first_name", "last_name", "password1", "password2")}),
    )

    def has_add_permission(self, request):
        return False  # people join by invitation (Users, Invite a user)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "manager", "member_count", "updated_at")
    search_fields = ("name", "manager__email", "manager__first_name", "manager__last_name")
    list_filter = ("manager",)
    list_select_related = ("manager",)
    autocomplete_fields = ("manager",)
    readonly_fields = ("uuid", "created_at", "updated_at", "version", "manager", "members")

    # Teams are created and edited on the app's Teams page (optimistic locking, events).
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(_member_count=Count("members"))

    @admin.display(description=_("members"), ordering="_member_count")
    def member_count(self, obj):
        return obj._member_count

    def has_delete_permission(self, request, obj=None):
        return False
