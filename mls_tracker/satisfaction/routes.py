"""Satisfaction pages (routes added by the satisfaction work)."""

from mls_tracker.satisfaction import bp  # noqa: F401
