"""Permission-matrix rows of the action pages (merged into tests/test_permissions.py)."""

from __future__ import annotations

import datetime as dt

from mls_tracker.models import ActionItem, Side

READ = {
    "anonymous": 302,
    "admin": 200,
    "lead": 200,
    "provider": 200,
    "sponsor": 200,
    "viewer": 200,
    "outsider": 404,
}
# Leads and admins get the form (a POST with no data shows it again with errors).
WRITE = {
    "anonymous": 302,
    "admin": 200,
    "lead": 200,
    "provider": 403,
    "sponsor": 403,
    "viewer": 403,
    "outsider": 404,
}
# Provider updates of a provider-side item: leads and providers.
UPDATE = {**WRITE, "provider": 200}

SCOPED = {
    ("GET", "actions.index"): READ,
    ("GET", "actions.export"): READ,
    ("GET", "actions.show"): READ,
    ("GET", "actions.new"): WRITE,
    ("POST", "actions.new"): WRITE,
    ("GET", "actions.edit"): WRITE,
    ("POST", "actions.edit"): WRITE,
    ("POST", "actions.update"): UPDATE,
    # The page that asks before verifying: the walk's item is open, so it sends leads back
    # to the item with why (302); a post without its confirm field verifies nothing (200).
    ("GET", "actions.verify"): {**WRITE, "admin": 302, "lead": 302},
    ("POST", "actions.verify"): WRITE,
    ("POST", "actions.reopen"): WRITE,
}

# GET actions.mine (/my-actions) is a global route: its row is in GLOBAL of test_permissions.


def prepare(world) -> dict[str, int]:
    """A provider-side item of the members' partnership."""
    from mls_tracker.extensions import db

    item = ActionItem(
        partnership_id=world.partnership.id,
        title="Send the completion report",
        owner_side=Side.PROVIDER,
        owner_id=world.provider.id,
        due_on=dt.date(2026, 1, 31),
    )
    db.session.add(item)
    db.session.flush()
    return {"action_id": item.id}
