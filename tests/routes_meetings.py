"""Permission-matrix rows of the meetings pages (merged into tests/test_permissions.py)."""

from __future__ import annotations

import datetime as dt

from mls_tracker.extensions import db
from mls_tracker.models import AgendaItem, Meeting, MeetingState
from mls_tracker.periods import Month


def _row(allowed: int) -> dict[str, int]:
    return {
        "anonymous": 302,
        "admin": allowed,
        "lead": allowed,
        "provider": 403,
        "sponsor": 403,
        "viewer": 403,
        "outsider": 404,
    }


READ = {
    "anonymous": 302,
    "admin": 200,
    "lead": 200,
    "provider": 200,
    "sponsor": 200,
    "viewer": 200,
    "outsider": 404,
}
# Forms: leads and admins get the form (a POST with no data shows it again with errors).
WRITE = _row(200)
# Buttons: a POST redirects back to the meeting with a message.
BUTTON = _row(302)

SCOPED = {
    ("GET", "meetings.index"): READ,
    ("GET", "meetings.new"): WRITE,
    ("POST", "meetings.new"): WRITE,
    ("GET", "meetings.show"): READ,
    ("GET", "meetings.edit"): WRITE,
    ("POST", "meetings.edit"): WRITE,
    ("POST", "meetings.refresh"): BUTTON,
    ("POST", "meetings.move_item"): BUTTON,
    ("GET", "meetings.edit_item"): WRITE,
    ("POST", "meetings.edit_item"): WRITE,
    ("POST", "meetings.delete_item"): BUTTON,
    ("GET", "meetings.new_item"): WRITE,
    ("POST", "meetings.new_item"): WRITE,
    ("GET", "meetings.hold"): WRITE,
    ("POST", "meetings.hold"): WRITE,
    ("GET", "meetings.approve"): BUTTON,  # a planned meeting: back to it, with a message
    ("POST", "meetings.approve"): BUTTON,
    ("GET", "meetings.export"): READ,
    ("GET", "meetings.ics"): READ,
    ("GET", "meetings.invitations"): WRITE,
    ("POST", "meetings.invitations"): WRITE,  # no confirmation: the page again, with the error
}


def prepare(world) -> dict[str, int]:
    """A planned meeting of world.partnership (with a start time) and one hand-added agenda
    item."""
    meeting = Meeting(
        partnership_id=world.partnership.id,
        held_on=dt.date(2025, 7, 10),
        reviewed_month=Month(2025, 6),
        state=MeetingState.PLANNED,
        starts_at=dt.datetime(2025, 7, 10, 9, 0, tzinfo=dt.UTC),
        duration_minutes=60,
    )
    meeting.agenda_items.append(AgendaItem(position=0, section="Other business", title="AOB"))
    db.session.add(meeting)
    db.session.flush()
    return {"meeting_id": meeting.id, "item_id": meeting.agenda_items[0].id}
