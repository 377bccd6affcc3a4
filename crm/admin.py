from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from crm.models import Event, EventDelivery


class EventDeliveryInline(admin.TabularInline):
    model = EventDelivery
    extra = 0
    can_delete = False
    readonly_fields = ("subscriber", "delivered_at")


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """Business events are history: readable here, never edited."""

    list_display = ("created_at", "name", "actor", "customer_id", "dispatched_at", "attempts")
    list_filter = ("name", ("dispatched_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "=subject_id", "=uuid")
    date_hierarchy = "created_at"
    list_select_related = ("actor",)
    show_full_result_count = False
    inlines = [EventDeliveryInline]
    readonly_fields = [f.name for f in Event._meta.fields]

    actions = ["retry"]

    @admin.action(description=_("Retry the selected failed events"))
    def retry(self, request, queryset):
        from crm.events import events_retry

        count = events_retry(queryset)
        self.message_user(request, _("%(count)d event(s) will be delivered again.")
                          % {"count": count})

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.empty_value_display = _("(none)")
