"""Permission-matrix rows of the change-log pages (merged into tests/test_permissions.py)."""

from mls_tracker.extensions import db
from mls_tracker.models import Change, ChangeType

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
    ("GET", "changes.index"): READ,
    ("GET", "changes.export"): READ,
    ("GET", "changes.show"): READ,
    ("GET", "changes.new"): LOG,
    ("POST", "changes.new"): LOG,
    ("GET", "changes.edit"): MANAGE,
    ("POST", "changes.edit"): MANAGE,
    ("GET", "changes.delete"): MANAGE,
    ("POST", "changes.delete"): MANAGE,
}


def prepare(world) -> dict[str, int]:
    change = Change(
        partnership_id=world.partnership.id,
        title="LMS upgrade",
        change_type=ChangeType.TECHNOLOGY,
    )
    db.session.add(change)
    db.session.flush()
    return {"change_id": change.id}
