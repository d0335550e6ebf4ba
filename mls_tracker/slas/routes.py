"""Routes of the slas blueprint."""

from mls_tracker.slas import bp  # noqa: F401
