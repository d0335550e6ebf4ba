"""Server-side record of each signed-in session, so that sign-out, idle and absolute
timeouts really end it: a cookie saved before sign-out is refused afterwards."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask, current_app, g, request, session
from flask_login import user_logged_in, user_logged_out
from flask_security.utils import set_request_attr

from mls_tracker.extensions import db, security
from mls_tracker.models import Membership, Role, User, UserSession, utcnow

SESSION_KEY = "mls_sid"
# Set by the single sign-on callback after ``login_user``: the identity provider did the
# second factor, so ours is not asked for (auth/routes.py).
SIGNED_IN_WITH_SSO = "mls_sso"
log = logging.getLogger("mls_tracker.sessions")
_TOUCH_EVERY = dt.timedelta(seconds=60)
_LEADS_KEY = "_session_user_leads"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _start(sender: Flask, user: Any, **_extra: Any) -> None:
    token = secrets.token_urlsafe(32)
    db.session.add(
        UserSession(
            user_id=user.id,
            token_hash=_hash(token),
            ip_address=request.remote_addr if request else None,
            user_agent=(request.user_agent.string[:255] if request else None),
        )
    )
    db.session.commit()
    session[SESSION_KEY] = token
    session.pop(SIGNED_IN_WITH_SSO, None)
    log.info("sign-in: user=%s address=%s", user.id, request.remote_addr)


def _end(sender: Flask, user: Any, **_extra: Any) -> None:
    log.info("sign-out: user=%s", getattr(user, "id", None))
    session.pop(SIGNED_IN_WITH_SSO, None)
    token = session.pop(SESSION_KEY, None)
    if token:
        db.session.execute(
            sa.update(UserSession)
            .where(UserSession.token_hash == _hash(token), UserSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )
        db.session.commit()


def _sign_out_locally() -> None:
    for key in (
        "_user_id",
        "_fresh",
        "_id",
        "fs_cc",
        "fs_paa",
        "_permanent",
        SESSION_KEY,
        SIGNED_IN_WITH_SSO,
    ):
        session.pop(key, None)
    # A user loaded earlier in this request (a flush listener asking who is acting, say)
    # would otherwise stay signed in for the rest of it.
    g.pop("_login_user", None)
    g.pop("_session_user", None)


def check_session() -> None:
    """Runs before every request, ahead of anything that loads the current user."""
    # Remember-me cookies would survive sign-out; ask Flask-Login to drop any it sees.
    if current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies:
        session["_remember"] = "clear"
    if "_user_id" not in session:
        return
    token = session.get(SESSION_KEY)
    record, user, user_leads = None, None, False
    if token:
        # The session, its user and whether the user leads a partnership (the "Audit log"
        # link of every page's menu) in one query; the user loader below takes the user from
        # here instead of querying again.
        leads = (
            sa.exists()
            .where(Membership.user_id == User.id, Membership.role == Role.LEAD)
            .label("leads")
        )
        row = (
            db.session.execute(
                sa.select(UserSession, User, leads)
                .join(User, User.id == UserSession.user_id)
                .options(so.joinedload(User.roles))  # Flask-Principal reads them next
                .where(UserSession.token_hash == _hash(token))
            )
            .unique()
            .first()
        )
        if row is not None:
            record, user, user_leads = row
    now = utcnow()
    config = current_app.config
    if (
        record is None
        or record.ended_at is not None
        or now - record.last_seen_at > config["SESSION_IDLE_TIMEOUT"]
        or now - record.created_at > config["SESSION_ABSOLUTE_TIMEOUT"]
    ):
        if record is not None and record.ended_at is None:
            record.ended_at = now
            db.session.commit()
            log.info("session ended by timeout: user=%s", record.user_id)
        _sign_out_locally()
        return
    g._session_user = user
    setattr(g, _LEADS_KEY, (user.id, bool(user_leads)))
    if now - record.last_seen_at > _TOUCH_EVERY:
        record.last_seen_at = now
        db.session.commit()


def leads_a_partnership(user: Any) -> bool | None:
    """Whether ``user`` led a partnership when this request's session was checked (read in
    the same query as the session), or None when that is not known: another user, or no
    signed-in session. For what a page shows (a menu link), never for a permission check,
    which asks the database."""
    known = g.get(_LEADS_KEY)
    if known is None or known[0] != getattr(user, "id", None):
        return None
    return known[1]


def _load_user(user_id: str) -> User | None:
    """Flask-Login's user loader: the user ``check_session`` already loaded with the session
    record, or (when it has not run) Flask-Security's own lookup by ``fs_uniquifier``."""
    user = g.pop("_session_user", None)
    if user is None or user.fs_uniquifier != str(user_id):
        user = security.datastore.find_user(fs_uniquifier=str(user_id)) if user_id else None
    if user is None or not user.active or user.is_service_account:
        return None
    set_request_attr("fs_authn_via", "session")
    set_request_attr("fs_paa", session.get("fs_paa", 0))
    return user


def _no_token(_request: Any) -> None:
    """Flask-Security's request loader signs a request in from an ``Authentication-Token``
    header, an ``?auth_token=`` query or a JSON body: tokens that outlive sign-out and never
    expire. None is accepted until the project's own API tokens exist; sessions only."""
    return None


def init_app(app: Flask) -> None:
    """After ``security.init_app``: replaces its user loader with ``_load_user`` and its
    token request loader with ``_no_token``."""
    app.login_manager.user_loader(_load_user)
    app.login_manager.request_loader(_no_token)
    user_logged_in.connect(_start, app)
    user_logged_out.connect(_end, app)
    app.before_request_funcs.setdefault(None, []).insert(0, check_session)
