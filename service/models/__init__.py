"""The service app's models."""

from service.models.tickets import (  # noqa: F401
    AssignmentRule,
    Feedback,
    ServiceConfig,
    SLANotice,
    SLAPolicy,
    Ticket,
    TicketAssignment,
    TicketAttachment,
    TicketComment,
)
