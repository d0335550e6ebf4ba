"""Routes of the meetings blueprint."""

from mls_tracker.meetings import bp  # noqa: F401
