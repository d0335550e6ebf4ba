"""Routes of the wins blueprint."""

from mls_tracker.wins import bp  # noqa: F401
