"""The Django admin of the sales app: configuration (stages, rules, forms, products) is edited
here; business records (leads, opportunities, orders) are for looking things up and fixing
details, with customers, contacts and users picked by id (raw_id / autocomplete), never from a
drop-down of a million rows. Stock is changed only by the stock services (the ledger)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from sales.models import (
    CustomerPurchaseStats,
    DevelopmentPlan,
    Lead,
    LeadAssignmentRule,
    LeadScoreRule,
    Opportunity,
    OpportunityStageHistory,
    Order,
    OrderLine,
    PipelineStage,
    PlanStep,
    Product,
    SalesTarget,
    StockMovement,
    WebForm,
)

BASE_READONLY = ("uuid", "created_at", "updated_at", "version")


class DeletedFilter(admin.SimpleListFilter):
    title = _("in the trash")
    parameter_name = "trash"

    def lookups(self, request, model_admin):
        return [("no", _("No")), ("yes", _("Yes"))]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


@admin.register(PipelineStage)
class PipelineStageAdmin(admin.ModelAdmin):
    list_display = ("name", "order", "probability", "is_won", "is_lost", "is_active")
    list_editable = ("order", "probability", "is_active")
    list_filter = ("is_active", "is_won", "is_lost")
    search_fields = ("name",)
    ordering = ("order", "id")
    readonly_fields = BASE_READONLY

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: opportunities and their history point at stages


@admin.register(LeadScoreRule)
class LeadScoreRuleAdmin(admin.ModelAdmin):
    list_display = ("label", "field", "operator", "value", "points", "order", "is_active")
    list_editable = ("points", "order", "is_active")
    list_filter = ("is_active", "field")
    search_fields = ("label", "value")
    ordering = ("order", "id")
    readonly_fields = BASE_READONLY


@admin.register(LeadAssignmentRule)
class LeadAssignmentRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "order", "strategy", "match_source", "match_region", "team", "user",
                    "is_active")
    list_editable = ("order", "is_active")
    list_filter = ("is_active", "strategy")
    list_select_related = ("match_source", "match_region", "team", "user")
    search_fields = ("name",)
    autocomplete_fields = ("team", "user")
    readonly_fields = ("last_assigned", *BASE_READONLY)
    ordering = ("order", "id")


@admin.register(WebForm)
class WebFormAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "source", "owner", "team", "is_active", "submission_count")
    list_filter = ("is_active",)
    list_select_related = ("source", "owner", "team")
    search_fields = ("name", "slug", "title")
    autocomplete_fields = ("owner", "team")
    readonly_fields = ("submission_count", *BASE_READONLY)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "price", "currency", "stock_quantity", "low_stock_threshold",
                    "is_active")
    list_filter = ("is_active", DeletedFilter)
    search_fields = ("sku", "name")
    ordering = ("name", "id")
    show_full_result_count = False
    # Stock changes go through the stock services, which write the ledger.
    readonly_fields = ("stock_quantity", *BASE_READONLY)


@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):
    """The stock ledger: read only."""

    list_display = ("created_at", "product", "quantity", "reason", "order", "user")
    list_filter = ("reason",)
    list_select_related = ("product", "order", "user")
    search_fields = ("product__sku", "=order__number")
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = [f.name for f in StockMovement._meta.concrete_fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ("__str__", "email", "status", "score", "source", "owner", "team",
                    "created_at")
    list_filter = ("status", "source", "region", DeletedFilter)
    list_select_related = ("owner", "team", "source")
    search_fields = ("first_name", "last_name", "company", "=email")
    show_full_result_count = False
    raw_id_fields = ("converted_customer", "converted_contact", "converted_opportunity",
                     "web_form")
    autocomplete_fields = ("owner", "team")
    readonly_fields = ("score", "score_breakdown", "assigned_by_rule", "converted_at",
                       *BASE_READONLY)

    def has_add_permission(self, request):
        return False  # leads are created in the app (rules, scoring and events apply there)


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    """Looking up; stage moves go through the pipeline services (history and events)."""

    list_display = ("name", "customer", "stage", "amount", "currency", "expected_close_date",
                    "owner")
    list_filter = ("stage", DeletedFilter)
    list_select_related = ("customer", "stage", "owner")
    search_fields = ("name", "=customer__code")
    show_full_result_count = False
    date_hierarchy = "expected_close_date"
    raw_id_fields = ("customer", "contact", "lead")
    autocomplete_fields = ("owner", "team")
    readonly_fields = ("stage", "probability", "stage_entered_at", "closed_at", *BASE_READONLY)

    def has_add_permission(self, request):
        return False


class StageHistoryInline(admin.TabularInline):
    model = OpportunityStageHistory
    extra = 0
    readonly_fields = ("from_stage", "to_stage", "changed_by", "changed_at",
                       "seconds_in_previous")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("from_stage", "to_stage",
                                                            "changed_by")


OpportunityAdmin.inlines = [StageHistoryInline]


class PlanStepInline(admin.TabularInline):
    model = PlanStep
    extra = 0
    fields = ("planned_date", "action", "result", "done_at")
    readonly_fields = ("done_at",)


@admin.register(DevelopmentPlan)
class DevelopmentPlanAdmin(admin.ModelAdmin):
    list_display = ("title", "opportunity", "status", "created_at", "closed_at")
    list_filter = ("status",)
    list_select_related = ("opportunity",)
    search_fields = ("title", "opportunity__name")
    show_full_result_count = False
    raw_id_fields = ("opportunity", "created_by")
    readonly_fields = ("closed_at", *BASE_READONLY)
    inlines = [PlanStepInline]


class OrderLineInline(admin.TabularInline):
    """Lines are editable on a draft; once confirmed (stock taken), they are read only."""

    model = OrderLine
    extra = 0
    raw_id_fields = ("product",)
    fields = ("product", "description", "quantity", "unit_price", "discount_percent",
              "line_total")
    readonly_fields = ("line_total",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")

    def _editable(self, obj) -> bool:
        return obj is None or obj.is_editable

    def get_readonly_fields(self, request, obj=None):
        return self.fields if not self._editable(obj) else self.readonly_fields

    def has_add_permission(self, request, obj=None):
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(obj) and super().has_delete_permission(request, obj)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("number", "customer", "status", "total", "currency", "ordered_at", "owner")
    list_filter = ("status", DeletedFilter)
    list_select_related = ("customer", "owner")
    search_fields = ("=number", "=customer__code")
    show_full_result_count = False
    date_hierarchy = "ordered_at"
    raw_id_fields = ("customer", "contact", "opportunity")
    autocomplete_fields = ("owner", "team")
    # Status, totals and dates move only through the order services (stock, figures, events).
    readonly_fields = ("number", "status", "total", "ordered_at", "cancelled_at",
                       *BASE_READONLY)
    inlines = [OrderLineInline]

    def has_add_permission(self, request):
        return False

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and not obj.is_editable:
            fields += ["customer", "contact", "opportunity", "currency"]
        return fields


@admin.register(SalesTarget)
class SalesTargetAdmin(admin.ModelAdmin):
    list_display = ("__str__", "user", "team", "period", "period_start", "amount", "currency")
    list_filter = ("period", "period_start")
    list_select_related = ("user", "team")
    search_fields = ("user__email", "user__last_name", "team__name")
    autocomplete_fields = ("user", "team")
    readonly_fields = BASE_READONLY


@admin.register(CustomerPurchaseStats)
class CustomerPurchaseStatsAdmin(admin.ModelAdmin):
    """Kept by the order services: read only."""

    list_display = ("customer", "order_count", "total_spent", "average_order_value",
                    "first_order_at", "last_order_at")
    list_select_related = ("customer",)
    search_fields = ("=customer__code",)
    show_full_result_count = False
    readonly_fields = [f.name for f in CustomerPurchaseStats._meta.concrete_fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
