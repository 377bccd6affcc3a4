from django.urls import path

from service.views import attachments, tickets

# Mounted at /service/tickets/ by service/urls.py (app "service").
urlpatterns = [
    path("", tickets.ticket_list, name="ticket_list"),
    path("new/", tickets.ticket_create, name="ticket_create"),
    path("bulk-assign/", tickets.ticket_bulk_assign, name="ticket_bulk_assign"),
    path("lookup/agents/", tickets.ticket_agent_options, name="ticket_agent_options"),
    path("lookup/contacts/", tickets.ticket_contact_options, name="ticket_contact_options"),
    path("lookup/<slug:kind>/", tickets.ticket_lookup, name="ticket_lookup"),
    path("<uuid:uuid>/", tickets.ticket_detail, name="ticket_detail"),
    path("<uuid:uuid>/edit/", tickets.ticket_edit, name="ticket_edit"),
    path("<uuid:uuid>/reply/", tickets.ticket_reply, name="ticket_reply"),
    path("<uuid:uuid>/status/", tickets.ticket_transition, name="ticket_transition"),
    path("<uuid:uuid>/assign/", tickets.ticket_assign, name="ticket_assign"),
    path("<uuid:uuid>/take/", tickets.ticket_take, name="ticket_take"),
    path("<uuid:uuid>/attachments/<uuid:att_uuid>/", attachments.attachment_download,
         name="ticket_attachment"),
]
