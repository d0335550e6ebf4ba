"""Permission-matrix rows of pending invitations (merged into tests/test_permissions.py):
sending one again and withdrawing it are for the partnership's leads (and administrators) on
its People tab, and for administrators on the people list; each answers with a redirect and a
message."""

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


# The people list's buttons, walked with an invitation id that does not exist: 404 for the
# administrator too, and administration answers 404 to everyone else (nobody learns what it
# holds); test_invitations.py sends and withdraws real ones.
ADMINS = {
    "anonymous": 302,
    "admin": 404,
    "lead": 404,
    "provider": 404,
    "sponsor": 404,
    "viewer": 404,
    "outsider": 404,
}

GLOBAL = {
    ("POST", "accounts.send_invitation_again"): ADMINS,
    ("POST", "accounts.withdraw_invitation"): ADMINS,
}
SAMPLE_ARGS = {"invitation_id": 999999}


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
