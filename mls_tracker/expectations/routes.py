"""Routes of the expectations blueprint."""

from mls_tracker.expectations import bp  # noqa: F401
