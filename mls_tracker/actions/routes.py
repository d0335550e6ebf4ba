"""Routes of the actions blueprint."""

from mls_tracker.actions import bp  # noqa: F401
