"""Survey import pages (routes added by the import work)."""

from mls_tracker.survey_imports import bp  # noqa: F401
