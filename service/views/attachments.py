"""Downloads of ticket attachments: only through the ticket's access path, always as a
download with the stored content type (never shown inline, so an uploaded HTML or SVG file
cannot run in our origin)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.views.decorators.http import require_GET

from service.models import TicketAttachment
from service.selectors import ticket_get_for_user

SAFE_FALLBACK = "application/octet-stream"


@login_required
@require_GET
def attachment_download(request, uuid, att_uuid):
    ticket = ticket_get_for_user(request.user, uuid)
    if not request.user.has_perm("service.view_ticketattachment"):
        raise PermissionDenied
    try:
        attachment = TicketAttachment.objects.get(ticket=ticket, uuid=att_uuid)
    except (TicketAttachment.DoesNotExist, ValidationError) as exc:
        raise Http404 from exc
    content_type = attachment.content_type or SAFE_FALLBACK
    if "html" in content_type.lower() or "xml" in content_type.lower():
        content_type = SAFE_FALLBACK
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404 from exc
    response = FileResponse(handle, as_attachment=True, filename=attachment.name,
                            content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
