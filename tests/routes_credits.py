"""Permission-matrix rows of the service credits pages (merged into tests/test_permissions.py):
every member reads them; the rules are changed on the SLA and settings forms (leads)."""

from tests.routes_wins import READ

SCOPED = {
    ("GET", "credits.index"): READ,
    ("GET", "credits.export"): READ,
}
