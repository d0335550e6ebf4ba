"""Permission-matrix rows of the wins pages (merged into tests/test_permissions.py)."""

import datetime as dt

from mls_tracker.extensions import db
from mls_tracker.models import Win

READ = {
    "anonymous": 302,
    "admin": 200,
    "lead": 200,
    "provider": 200,
    "sponsor": 200,
    "viewer": 200,
    "outsider": 404,
}
# Logging: providers and leads (a POST with no data shows the form again with errors).
LOG = {**READ, "sponsor": 403, "viewer": 403}
# Editing and deleting: leads only. A delete POST without its hidden version is refused with
# a message (200), so the walk deletes nothing.
MANAGE = {**LOG, "provider": 403}

SCOPED = {
    ("GET", "wins.index"): READ,
    ("GET", "wins.export"): READ,
    ("GET", "wins.show"): READ,
    ("GET", "wins.new"): LOG,
    ("POST", "wins.new"): LOG,
    ("GET", "wins.edit"): MANAGE,
    ("POST", "wins.edit"): MANAGE,
    ("GET", "wins.delete"): MANAGE,
    ("POST", "wins.delete"): MANAGE,
}


def prepare(world) -> dict[str, int]:
    win = Win(
        partnership_id=world.partnership.id, title="Launch landed", won_on=dt.date(2026, 1, 5)
    )
    db.session.add(win)
    db.session.flush()
    return {"win_id": win.id}
