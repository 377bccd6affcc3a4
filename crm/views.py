from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static


def favicon(request):
    """Browsers ask for /favicon.ico on pages without an icon link (the Django admin)."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))
