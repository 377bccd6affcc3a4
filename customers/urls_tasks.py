"""Tasks and reminders, at /customers/tasks/ (names stay "customers:<name>")."""

from django.urls import path

from customers.views import tasks

urlpatterns = [
    path("", tasks.task_list, name="tasks"),
    path("new/", tasks.task_create, name="task_create"),
    path("calendar/", tasks.task_calendar_view, name="task_calendar"),
    path("<uuid:uuid>/", tasks.task_detail, name="task_detail"),
    path("<uuid:uuid>/edit/", tasks.task_edit, name="task_edit"),
    path("<uuid:uuid>/done/", tasks.task_done, name="task_done"),
]
