from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    """A business rule refused the request; the message is shown to the user as it is."""

    def __init__(self, message, *, extra=None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class StaleObjectError(ApplicationError):
    """The record changed since the form was opened: saving would overwrite someone's work."""

    def __init__(self, message=None):
        super().__init__(
            message
            or _(
                "Someone else changed this record while you were editing it. Nothing was "
                "saved: reload the page to see their changes, then make yours again."
            )
        )
