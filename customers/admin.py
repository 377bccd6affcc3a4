from django.contrib import admin

from customers.models import Contact, Customer, DictionaryEntry, Interaction, Tag


@admin.register(DictionaryEntry)
class DictionaryEntryAdmin(admin.ModelAdmin):
    """The data dictionary: the choice lists forms and filters offer."""

    list_display = ("label", "kind", "code", "order", "is_active")
    list_editable = ("order", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("label", "code")
    ordering = ("kind", "order", "label")
    readonly_fields = ("uuid", "created_at", "updated_at", "version")

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: records keep pointing at the entry


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "color")
    search_fields = ("name",)
    readonly_fields = ("uuid", "created_at", "updated_at", "version")


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    """For looking things up; customers are edited in the app, where the access rules live."""

    list_display = ("name", "code", "kind", "status", "owner", "team", "created_at")
    list_filter = ("kind", "status", ("deleted_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "=code", "email")
    list_select_related = ("owner", "team")
    show_full_result_count = False
    readonly_fields = [f.name for f in Customer._meta.concrete_fields]
    exclude = ("tags",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("__str__", "customer", "email", "is_primary")
    search_fields = ("first_name", "last_name", "email")
    list_select_related = ("customer",)
    show_full_result_count = False
    exclude = ("national_id", "private_notes")
    readonly_fields = [f.name for f in Contact._meta.concrete_fields
                       if f.name not in ("national_id", "private_notes")]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "kind", "subject", "customer", "user")
    list_filter = ("kind", "direction")
    list_select_related = ("customer", "user")
    show_full_result_count = False
    date_hierarchy = "occurred_at"
    readonly_fields = [f.name for f in Interaction._meta.concrete_fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.site_url = "/"
