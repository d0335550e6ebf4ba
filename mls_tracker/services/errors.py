"""Domain errors, raised by services and turned into messages or HTTP answers by views."""


class DomainError(Exception):
    """Base class: ``str(error)`` is a message fit to show the user."""


class ValidationFailed(DomainError):
    """Input breaks a business rule. ``field`` names the form field it belongs to, if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class PermissionDenied(DomainError):
    pass


class Conflict(DomainError):
    """Someone else saved the record first (optimistic locking)."""
