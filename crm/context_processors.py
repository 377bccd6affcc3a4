from django.conf import settings

from crm.navigation import items_for


def navigation(request):
    user = getattr(request, "user", None)
    items = items_for(user)
    path = request.path
    active = next((item.key for item in items if path.startswith(item.url) and item.url != "/"),
                  None)
    return {"nav_items": items, "nav_active": active, "brand_name": settings.SITE_NAME}
