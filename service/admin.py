"""The Django admin of the service desk: configuration (SLA policies, assignment rules, the
one settings row) is edited here; tickets and feedback are for looking things up, with
customers, contacts, orders, products and users shown by id (raw_id), never as a drop-down of
a million rows. Ticket work (status, replies, assignment) goes through the staff pages and
service.services, so the admin cannot add tickets and shows their workflow fields read-only."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from service.models import (
    AssignmentRule,
    Feedback,
    ServiceConfig,
    SLAPolicy,
    Ticket,
    TicketAssignment,
    TicketComment,
)

BASE_READONLY = ("uuid", "created_at", "updated_at", "version")


@admin.register(ServiceConfig)
class ServiceConfigAdmin(admin.ModelAdmin):
    """The one settings row: it can be changed, never added twice nor deleted."""

    list_display = ("__str__", "auto_close_days", "archive_days", "near_breach_percent",
                    "max_attachment_mb")

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not ServiceConfig.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SLAPolicy)
class SLAPolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "priority", "first_response_minutes", "resolution_minutes",
                    "business_hours_only", "is_active")
    list_filter = ("priority", "business_hours_only", "is_active")
    search_fields = ("name",)
    readonly_fields = BASE_READONLY

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: tickets keep the policy they were measured by


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "order", "category", "priority", "team", "strategy", "is_active")
    list_editable = ("order", "is_active")
    list_filter = ("is_active", "strategy", "priority", "team")
    search_fields = ("name",)
    list_select_related = ("category", "team")
    readonly_fields = (*BASE_READONLY, "last_assigned")
    ordering = ("order", "id")


class CommentInline(admin.TabularInline):
    model = TicketComment
    extra = 0
    can_delete = False
    fields = ("created_at", "author", "author_name", "is_public", "from_customer", "body")
    readonly_fields = fields
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


class AssignmentInline(admin.TabularInline):
    model = TicketAssignment
    fk_name = "ticket"
    extra = 0
    can_delete = False
    fields = ("created_at", "from_user", "to_user", "team", "by", "rule", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ("number", "subject", "status", "priority", "channel", "customer",
                    "assignee", "team", "created_at")
    list_filter = ("status", "priority", "channel", "team", "first_response_breached",
                   "resolution_breached")
    search_fields = ("=number", "subject", "=requester_email")
    list_select_related = ("customer", "assignee", "team")
    raw_id_fields = ("customer", "contact", "order", "product", "assignee", "created_by")
    date_hierarchy = "created_at"
    show_full_result_count = False
    ordering = ("-created_at", "-id")
    inlines = (CommentInline, AssignmentInline)
    readonly_fields = (
        *BASE_READONLY, "number", "status", "sla_policy", "first_response_due_at",
        "resolution_due_at", "paused_at", "paused_seconds", "first_responded_at",
        "first_response_seconds", "resolved_at", "resolution_seconds",
        "first_response_breached", "resolution_breached", "closed_at", "archived_at",
        "last_public_activity_at", "survey_sent_at", "satisfaction_score",
        "satisfaction_comment", "satisfaction_at", "created_by",
    )
    fieldsets = (
        (None, {"fields": ("number", "subject", "description", "status", "priority",
                           "category", "channel")}),
        (_("Who"), {"fields": ("customer", "contact", "requester_name", "requester_email",
                               "team", "assignee", "created_by")}),
        (_("Linked to"), {"fields": ("order", "product")}),
        (_("SLA"), {"fields": ("sla_policy", "first_response_due_at", "resolution_due_at",
                               "paused_at", "paused_seconds", "first_responded_at",
                               "first_response_seconds", "resolved_at", "resolution_seconds",
                               "first_response_breached", "resolution_breached", "closed_at",
                               "archived_at", "last_public_activity_at")}),
        (_("Satisfaction"), {"fields": ("survey_sent_at", "satisfaction_score",
                                        "satisfaction_comment", "satisfaction_at")}),
        (_("Record"), {"fields": BASE_READONLY}),
    )

    def has_add_permission(self, request):
        return False  # tickets are created by the service (number, SLA, assignment, e-mail)

    def has_delete_permission(self, request, obj=None):
        return False  # tickets are closed and archived, never deleted


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ("kind", "status", "customer", "channel", "logged_by", "created_at")
    list_filter = ("kind", "status", "channel")
    search_fields = ("body",)
    list_select_related = ("customer", "logged_by")
    raw_id_fields = ("customer", "contact", "ticket", "logged_by")
    date_hierarchy = "created_at"
    show_full_result_count = False
    ordering = ("-created_at", "-id")
    readonly_fields = BASE_READONLY
