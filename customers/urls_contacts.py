from django.urls import path

from customers.views import contacts

# Included at /customers/contacts/ in the "customers" namespace.
urlpatterns = [
    path("", contacts.contact_list, name="contact_list"),
]
