from django.urls import path

from customers.views import tags

urlpatterns = [
    path("", tags.tag_list, name="tag_list"),
    path("<uuid:uuid>/", tags.tag_edit, name="tag_edit"),
]
