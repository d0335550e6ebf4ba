"""Single sign-on with OpenID Connect: who may sign in with an identity the provider vouched
for (a verified e-mail address in an allowed domain, of an active account or a pending
invitation), and which organisations sign in only this way. No account is ever made for a
stranger."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from mls_tracker.extensions import db
from mls_tracker.models import Invitation, SsoIdentity, User, normalise_email, utcnow
from mls_tracker.services.errors import DomainError
from mls_tracker.services.invitations import accept_invitation


class SignInRefused(DomainError):
    """The provider vouched for someone who may not sign in here; the message says why."""


@dataclass(frozen=True)
class ProviderIdentity:
    """What the provider's verified ID token says about the person."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None


def enabled() -> bool:
    return bool(current_app.config.get("OIDC_ISSUER"))


def password_sign_in_allowed(user: User | None) -> bool:
    """False for the people of an SSO-only organisation while single sign-on is configured
    (without it they could not sign in at all)."""
    organisation = user.organisation if user is not None else None
    return not (enabled() and organisation is not None and organisation.sso_only)


def _checked_email(identity: ProviderIdentity) -> str:
    if not identity.email:
        raise SignInRefused(
            "Your identity provider did not share your e-mail address, so we cannot tell "
            "who you are here. Ask your administrator to allow the e-mail scope."
        )
    email = normalise_email(identity.email)
    if not identity.email_verified:
        raise SignInRefused(
            f"Your identity provider has not verified {email}, so it cannot be used to sign "
            "in here. Verify it with your provider, or sign in with your password."
        )
    domain = email.rpartition("@")[2]
    if domain not in current_app.config["OIDC_ALLOWED_DOMAINS"]:
        raise SignInRefused(
            f"Single sign-on is not open to {domain} addresses. Sign in with your password, "
            "or ask your administrator."
        )
    return email


def _pending_invitation(email: str) -> Invitation | None:
    return db.session.scalar(
        sa.select(Invitation)
        .where(
            Invitation.email == email,
            Invitation.pending(),
        )
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        .limit(1)
    )


def _user_by_email(identity: ProviderIdentity, email: str) -> User:
    """The first sign-in of this identity: the account with the verified address, or the one
    a pending invitation creates exactly as the invitation page would (without a password)."""
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        invitation = _pending_invitation(email)
        if invitation is None:
            raise SignInRefused(
                f"There is no account for {email}. You join MLS Tracker through an "
                "invitation from a lead of one of your partnerships or an administrator."
            )
        name = (identity.name or "").strip() or invitation.display_name or email.split("@")[0]
        user = accept_invitation(invitation, None, name[:120], single_sign_on=True)
    linked_elsewhere = db.session.scalar(
        sa.select(SsoIdentity.id).where(
            SsoIdentity.user_id == user.id, SsoIdentity.issuer == identity.issuer
        )
    )
    if linked_elsewhere is not None:
        # Someone else at the provider now holds this address: never hand them the account.
        raise SignInRefused(
            f"The account {email} is linked to another identity at your provider. "
            "Ask an administrator."
        )
    if user.active:
        db.session.add(
            SsoIdentity(
                issuer=identity.issuer,
                subject=identity.subject,
                user_id=user.id,
                email_at_link=email,
            )
        )
    return user


def user_for_identity(identity: ProviderIdentity) -> User:
    """The active user this identity signs in as: by the (issuer, subject) linked at its
    first sign-in, else by the verified e-mail address (then linked). Raises
    ``SignInRefused`` with a message for the sign-in page."""
    email = _checked_email(identity)
    linked = db.session.scalar(
        sa.select(SsoIdentity).where(
            SsoIdentity.issuer == identity.issuer, SsoIdentity.subject == identity.subject
        )
    )
    if linked is not None:
        user = linked.user
        linked.last_used_at = utcnow()
    else:
        user = _user_by_email(identity, email)
    if not user.active:
        db.session.rollback()
        raise SignInRefused(
            f"The account {user.email} is deactivated. Ask an administrator to reactivate it."
        )
    db.session.commit()
    return user
