"""Routes of the sponsors blueprint."""

from mls_tracker.sponsors import bp  # noqa: F401
