"""Sending a pending invitation again and withdrawing it, as a lead does from a partnership's
People tab and an administrator from the people list: the same checks, messages and redirect
(``services.invitations`` does the work)."""

from __future__ import annotations

from flask import flash, redirect
from flask_login import current_user
from werkzeug.wrappers import Response

from mls_tracker.formatting import day
from mls_tracker.services.errors import Conflict, ValidationFailed
from mls_tracker.services.invitations import pending_invitation, send_again, withdraw


def send_again_and_return(invitation_id: int, partnership_id: int | None, back: str) -> Response:
    """E-mail the invitation again with a new link, say so (or why not), go ``back``."""
    try:
        invitation = pending_invitation(current_user, invitation_id, partnership_id)
        send_again(current_user, invitation)
    except (Conflict, ValidationFailed) as error:
        flash(str(error), "warning")
    else:
        flash(
            f"Invitation sent again to {invitation.email}, with a new link valid until "
            f"{day(invitation.expires_at)}. The earlier link no longer works.",
            "success",
        )
    return redirect(back)


def withdraw_and_return(invitation_id: int, partnership_id: int | None, back: str) -> Response:
    """Withdraw the invitation, say so (or why not), go ``back``."""
    try:
        invitation = pending_invitation(current_user, invitation_id, partnership_id)
        withdraw(current_user, invitation)
    except Conflict as error:
        flash(str(error), "warning")
    else:
        flash(
            f"Invitation to {invitation.email} withdrawn: the link in their e-mail no longer "
            "works. You can invite them again at any time.",
            "success",
        )
    return redirect(back)
