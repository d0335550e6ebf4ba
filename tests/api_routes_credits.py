"""API permission-matrix rows of service credits (merged into tests/test_api_permissions.py)."""

from __future__ import annotations

from tests.api_routes_core import READ

SCOPED = {
    ("GET", "api_credits.Credits"): (READ, None),
}
