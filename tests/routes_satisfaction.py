"""Permission-matrix rows of the satisfaction pages (merged into tests/test_permissions.py)."""

from mls_tracker.extensions import db
from mls_tracker.models import ReportedSatisfaction
from mls_tracker.periods import Month

READ = {
    "anonymous": 302,
    "admin": 200,
    "lead": 200,
    "provider": 200,
    "sponsor": 200,
    "viewer": 200,
    "outsider": 404,
}
# Reported totals: leads only. A POST with no data shows the form again with its errors
# (200); a delete POST without its confirmation field is refused the same way, so the walk
# deletes nothing.
MANAGE = {**READ, "provider": 403, "sponsor": 403, "viewer": 403}

SCOPED = {
    ("GET", "satisfaction.index"): READ,
    ("GET", "satisfaction.export"): READ,
    ("GET", "satisfaction.reported_new"): MANAGE,
    ("POST", "satisfaction.reported_new"): MANAGE,
    ("GET", "satisfaction.reported_edit"): MANAGE,
    ("POST", "satisfaction.reported_edit"): MANAGE,
    ("GET", "satisfaction.reported_delete"): MANAGE,
    ("POST", "satisfaction.reported_delete"): MANAGE,
}


def prepare(world) -> dict[str, int]:
    reported = ReportedSatisfaction(
        partnership_id=world.partnership.id,
        month=Month(2026, 1),
        responses=40,
        csat=80,
    )
    db.session.add(reported)
    db.session.flush()
    return {"reported_id": reported.id}
