"""Public pages (no login), mounted at /support/: the service request form, the follow page
of a ticket (signed link) and the satisfaction survey (signed link)."""

from django.urls import path

from service.views import public

app_name = "service_public"

urlpatterns = [
    path("", public.request_form, name="request"),
    path("thanks/", public.request_thanks, name="thanks"),
    path("t/<str:token>/", public.ticket_page, name="ticket"),
    path("survey/<str:token>/", public.survey, name="survey"),
]
