from django.conf import settings

from crm.navigation import items_for, main_menu


def navigation(request):
    user = getattr(request, "user", None)
    items = items_for(user)
    path = request.path
    # The most specific entry wins: /customers/segments/ is "Segments", not "Customers".
    matches = [item for item in items if item.url != "/" and path.startswith(item.url)]
    active = max(matches, key=lambda item: len(item.url)).key if matches else None
    menu = main_menu(items)
    active_group = next((entry.key for entry in menu if entry.is_group
                         and any(item.key == active for item in entry.items)), None)
    return {
        "nav_items": [item for item in items if item.section == "main"],
        "nav_menu": menu,
        "nav_active_group": active_group,
        "nav_admin_items": [item for item in items if item.section == "admin"],
        "nav_active": active,
        "brand_name": settings.SITE_NAME,
    }
