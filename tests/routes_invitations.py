"""Permission-matrix rows of a partnership's pending invitations (merged into
tests/test_permissions.py): sending one again and withdrawing it are for its leads (and
administrators); each answers with a redirect to the People tab and a message."""

import datetime as dt
import secrets

from mls_tracker.extensions import db
from mls_tracker.models import Invitation, Role, utcnow

LEADS = {
    "anonymous": 302,
    "admin": 302,
    "lead": 302,
    "provider": 403,
    "sponsor": 403,
    "viewer": 403,
    "outsider": 404,
}

SCOPED = {
    ("POST", "partnerships.send_invitation_again"): LEADS,
    ("POST", "partnerships.withdraw_invitation"): LEADS,
}


def prepare(world) -> dict[str, int]:
    invitation = Invitation(
        partnership_id=world.partnership.id,
        email="matrix.invitee@test.example",
        role=Role.VIEWER,
        token_hash=secrets.token_hex(32),
        invited_by_id=world.lead.id,
        expires_at=utcnow() + dt.timedelta(days=3),
    )
    db.session.add(invitation)
    db.session.flush()
    return {"invitation_id": invitation.id}
