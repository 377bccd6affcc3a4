from django.urls import include, path

from customers.views import customer, profile

app_name = "customers"

urlpatterns = [
    # list, create, edit, trash, bulk actions (customers/views/customer.py)
    path("", customer.customer_list, name="list"),
    path("new/", customer.customer_create, name="create"),
    path("trash/", customer.customer_trash, name="trash"),
    path("bulk/", customer.customer_bulk, name="bulk"),
    path("<uuid:uuid>/edit/", customer.customer_edit, name="edit"),
    path("<uuid:uuid>/delete/", customer.customer_delete, name="delete"),
    path("<uuid:uuid>/restore/", customer.customer_restore, name="restore"),
    # the 360-degree page, contacts, communication log, timeline (customers/views/profile.py)
    path("<uuid:uuid>/", profile.customer_detail, name="detail"),
    path("<uuid:uuid>/timeline/", profile.customer_timeline, name="timeline"),
    path("<uuid:uuid>/interactions/new/", profile.interaction_create, name="interaction_create"),
    path("<uuid:uuid>/contacts/new/", profile.contact_create, name="contact_create"),
    path("<uuid:uuid>/contacts/<uuid:contact_uuid>/edit/", profile.contact_edit,
         name="contact_edit"),
    path("<uuid:uuid>/contacts/<uuid:contact_uuid>/delete/", profile.contact_delete,
         name="contact_delete"),
    path("<uuid:uuid>/share/", profile.customer_share, name="share"),
    # Each area below keeps its routes in its own module (names stay "customers:<name>").
    path("tasks/", include("customers.urls_tasks")),
    path("contacts/", include("customers.urls_contacts")),
    path("segments/", include("customers.urls_segments")),
    path("transfer/", include("customers.urls_transfer")),
    path("duplicates/", include("customers.urls_dedupe")),
    path("gdpr/", include("customers.urls_gdpr")),
    path("fields/", include("customers.urls_fields")),
    path("tags/", include("customers.urls_tags")),
    path("autocomplete/", include("customers.urls_autocomplete")),
]
