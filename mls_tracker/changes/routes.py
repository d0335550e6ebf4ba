"""Routes of the changes blueprint."""

from mls_tracker.changes import bp  # noqa: F401
