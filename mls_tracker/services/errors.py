"""Domain errors, raised by services and by ``access``; ``mls_tracker.errors`` turns each into
an HTTP answer in one place (views catch only what they show next to a form field)."""

NOT_FOUND = "There is nothing here, or it is not shared with you."


class DomainError(Exception):
    """Base class: ``str(error)`` is a message fit to show the user."""


class ValidationFailed(DomainError):
    """Input breaks a business rule. ``field`` names the form field it belongs to, if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class PermissionDenied(DomainError):
    """The acting user may not do this. ``hidden``: they may not even learn that the object
    exists (not a member of its partnership), so the edge answers 404 instead of 403."""

    def __init__(
        self,
        message: str = "Your role in this partnership does not allow this.",
        *,
        hidden: bool = False,
    ) -> None:
        super().__init__(message)
        self.hidden = hidden


class NotFound(DomainError):
    """There is no such object (or not where it was asked for)."""

    def __init__(
        self, message: str = "There is nothing here, or it is not shared with you."
    ) -> None:
        super().__init__(message)


class Conflict(DomainError):
    """Someone else saved the record first (optimistic locking)."""


class Unavailable(DomainError):
    """Something the app needs cannot be used just now (the job queue, the file store): nothing
    was done, and the message says what to do. The edge answers 503."""
