from django.urls import path

from customers import autocomplete

urlpatterns = [
    path("users/", autocomplete.users, name="autocomplete_users"),
    path("tags/", autocomplete.tags, name="autocomplete_tags"),
    path("contacts/", autocomplete.contacts, name="autocomplete_contacts"),
]
