"""Inviting people (into a partnership by its leads; into the product, and optionally a
partnership, by an administrator), and accepting an invitation."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets
import smtplib
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app, url_for
from flask_security import hash_password

from mls_tracker import access
from mls_tracker.access import Action
from mls_tracker.extensions import db
from mls_tracker.models import (
    Invitation,
    Membership,
    Organisation,
    Partnership,
    Role,
    User,
    normalise_email,
    utcnow,
)
from mls_tracker.services.errors import Conflict, NotFound, ValidationFailed
from mls_tracker.services.mail import send_templated


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite_person(
    actor: User, partnership: Partnership, email: str, role: Role, display_name: str | None
) -> Invitation:
    """Create an invitation and e-mail its one-time link."""
    access.require(
        actor,
        Action.INVITE,
        partnership.id,
        message="Only a lead of this partnership can invite people.",
    )
    email = normalise_email(email)
    _refuse_existing_member(partnership, email)
    return _send_invitation(actor, email, display_name, partnership=partnership, role=role)


def invite_to_product(
    actor: User,
    email: str,
    display_name: str | None,
    *,
    organisation_id: int | None = None,
    make_admin: bool = False,
    partnership_id: int | None = None,
    role: Role | None = None,
) -> Invitation:
    """An administrator invites someone new: into the product only (no partnership, no
    role), or straight into a partnership with a role; optionally as an administrator and
    with their organisation. People who already have an account are added to partnerships
    from their page instead."""
    access.require_admin(actor)
    email = normalise_email(email)
    existing = db.session.scalar(sa.select(User).where(User.email == email))
    if existing is not None:
        raise ValidationFailed(
            f"{email} already has an account ({existing.display_name}): "
            "open their page to change their role or add them to a partnership.",
            field="email",
        )
    organisation = None
    if organisation_id:
        organisation = db.session.get(Organisation, organisation_id)
        if organisation is None or organisation.retired_at is not None:
            raise ValidationFailed(
                "Choose an organisation from the list (retired ones are not offered).",
                field="organisation_id",
            )
    partnership = None
    if partnership_id:
        partnership = db.session.get(Partnership, partnership_id)
        if partnership is None or partnership.archived_at is not None:
            raise ValidationFailed(
                "Choose a partnership from the list (archived ones are not offered).",
                field="partnership_id",
            )
        if role is None:
            raise ValidationFailed("Choose the role they will have in it.", field="role")
        _refuse_existing_member(partnership, email)
    return _send_invitation(
        actor,
        email,
        display_name,
        partnership=partnership,
        role=role if partnership is not None else None,
        organisation=organisation,
        make_admin=make_admin,
    )


def _refuse_existing_member(partnership: Partnership, email: str) -> None:
    existing = db.session.scalar(
        sa.select(Membership)
        .join(User, Membership.user_id == User.id)
        .where(Membership.partnership_id == partnership.id, User.email == email)
    )
    if existing is not None:
        raise ValidationFailed(
            f"{email} is already a member of this partnership ({existing.role}).", field="email"
        )


def _send_invitation(
    actor: User,
    email: str,
    display_name: str | None,
    *,
    partnership: Partnership | None,
    role: Role | None,
    organisation: Organisation | None = None,
    make_admin: bool = False,
) -> Invitation:
    """Save the invitation and e-mail its link; nothing is saved when the e-mail fails."""
    invitation = Invitation(
        partnership_id=partnership.id if partnership is not None else None,
        email=email,
        display_name=(display_name or "").strip() or None,
        role=role,
        organisation_id=organisation.id if organisation is not None else None,
        make_admin=make_admin,
        invited_by_id=actor.id,
    )
    db.session.add(invitation)
    return _mail_link(actor, invitation)


def _mail_link(actor: User, invitation: Invitation) -> Invitation:
    """A new one-time link for ``invitation``, valid from now, e-mailed to the invitee and
    saved; when the e-mail fails nothing is saved (an earlier link keeps working)."""
    token = secrets.token_urlsafe(32)
    invitation.token_hash = _hash(token)
    invitation.expires_at = utcnow() + dt.timedelta(
        days=current_app.config["INVITATION_VALID_DAYS"]
    )
    db.session.flush()
    partnership = invitation.partnership
    subject = (
        f"You are invited to {partnership.name} on MLS Tracker"
        if partnership is not None
        else "You are invited to MLS Tracker"
    )
    try:
        send_templated(
            invitation.email,
            subject,
            "invitation",
            invitation=invitation,
            partnership_name=partnership.name if partnership is not None else None,
            inviter_name=actor.display_name,
            link=url_for("auth.accept_invitation", token=token, _external=True),
            valid_days=current_app.config["INVITATION_VALID_DAYS"],
        )
    except (OSError, smtplib.SMTPException) as error:
        db.session.rollback()
        current_app.logger.warning("Invitation e-mail to %s failed: %s", invitation.email, error)
        raise ValidationFailed(
            "The invitation e-mail could not be sent; nothing was saved. "
            "Please try again, or ask the administrator to check the mail settings.",
            field="email",
        ) from error
    db.session.commit()
    return invitation


def pending_invitation(
    actor: User, invitation_id: int, partnership_id: int | None = None
) -> Invitation:
    """A pending invitation that ``actor`` may send again or withdraw: a partnership's, for
    its leads (``partnership_id``), or any, for an administrator (``partnership_id`` None).
    ``NotFound`` for another partnership's (or none), ``Conflict`` once it was accepted or
    withdrawn. One that expired may still be sent again."""
    if partnership_id is None:
        access.require_admin(actor)
    else:
        access.require(
            actor,
            Action.INVITE,
            partnership_id,
            message="Only a lead of this partnership can send or withdraw its invitations.",
        )
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or (
        partnership_id is not None and invitation.partnership_id != partnership_id
    ):
        raise NotFound()
    if invitation.accepted_at is not None:
        raise Conflict(f"{invitation.email} has already accepted this invitation.")
    if invitation.withdrawn_at is not None:
        raise Conflict(f"The invitation to {invitation.email} was already withdrawn.")
    return invitation


def open_invitations(actor: User) -> list[Invitation]:
    """Every invitation waiting for an answer, newest first, for an administrator: into the
    product and into partnerships (two queries, with who sent each and where to)."""
    access.require_admin(actor)
    return list(
        db.session.scalars(
            sa.select(Invitation)
            .options(
                so.selectinload(Invitation.partnership), so.selectinload(Invitation.invited_by)
            )
            .where(Invitation.pending())
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        )
    )


def send_again(actor: User, invitation: Invitation) -> Invitation:
    """E-mail a pending invitation again with a new link, valid for the full period from now;
    the earlier link stops working (it may have been forwarded or lost)."""
    return _mail_link(actor, invitation)


def withdraw(actor: User, invitation: Invitation) -> None:
    """Withdraw a pending invitation: its link says so and can no longer be used."""
    invitation.withdrawn_at = utcnow()
    db.session.commit()


class InvitationState(enum.StrEnum):
    VALID = "valid"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    WITHDRAWN = "withdrawn"


def find_invitation(token: str) -> tuple[InvitationState, Invitation | None]:
    invitation = db.session.scalar(
        sa.select(Invitation).where(Invitation.token_hash == _hash(token))
    )
    if invitation is None:
        return InvitationState.UNKNOWN, None
    if invitation.accepted_at is not None:
        return InvitationState.USED, invitation
    if invitation.withdrawn_at is not None:
        return InvitationState.WITHDRAWN, invitation
    if invitation.expires_at <= utcnow():
        return InvitationState.EXPIRED, invitation
    return InvitationState.VALID, invitation


def accept_invitation(
    invitation: Invitation,
    signed_in: User | None,
    display_name: str | None = None,
    password: str | None = None,
    *,
    single_sign_on: bool = False,
) -> User:
    """Accept as the signed-in user, or as a new account: join the invited partnership (if
    any), take the organisation (if they have none) and the administrator role (if given).
    With ``single_sign_on`` the identity provider vouched for the address: the new account
    has no password (it signs in through the provider until one is set by a reset)."""
    user = db.session.scalar(sa.select(User).where(User.email == invitation.email))
    if signed_in is not None and signed_in.email != invitation.email:
        raise ValidationFailed(
            f"This invitation is for {invitation.email}; you are signed in as {signed_in.email}."
        )
    if user is None:
        if not (password or single_sign_on) or not display_name:
            raise ValidationFailed("Choose your name and a password to create your account.")
        user = User(
            email=invitation.email,
            display_name=display_name.strip(),
            password=hash_password(password) if password else None,
            active=True,
            fs_uniquifier=uuid.uuid4().hex,
            confirmed_at=utcnow(),
        )
        db.session.add(user)
        db.session.flush()
    elif signed_in is None:
        raise ValidationFailed(
            "You already have an account: sign in first, then open the link again."
        )
    if invitation.partnership_id is not None:
        already = db.session.scalar(
            sa.select(Membership).where(
                Membership.user_id == user.id,
                Membership.partnership_id == invitation.partnership_id,
            )
        )
        if already is None:
            db.session.add(
                Membership(
                    user_id=user.id,
                    partnership_id=invitation.partnership_id,
                    role=invitation.role,
                    invited_by_id=invitation.invited_by_id,
                )
            )
    if invitation.organisation_id is not None and user.organisation_id is None:
        user.organisation_id = invitation.organisation_id
    if invitation.make_admin:
        user.is_admin = True
    invitation.accepted_at = utcnow()
    invitation.accepted_by_id = user.id
    db.session.commit()
    return user


def account_exists(email: str) -> bool:
    return (
        db.session.scalar(sa.select(User.id).where(User.email == normalise_email(email)))
        is not None
    )


def save_sign_in() -> None:
    """Keeps what signing a new member in recorded on their account: Flask-Security's
    ``login_user`` sets the last-login columns after its sign-in signal committed, and does not
    commit them itself."""
    db.session.commit()
