"""Public pages (no login), mounted at /forms/: the web-to-lead forms."""

from django.urls import path

from sales.views import public

app_name = "sales_public"

urlpatterns = [
    path("<slug:slug>/", public.web_form, name="web_form"),
    path("<slug:slug>/submit/", public.web_form_submit, name="web_form_submit"),
    path("<slug:slug>/thanks/", public.web_form_thanks, name="web_form_thanks"),
]
