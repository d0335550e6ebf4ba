"""The one place that answers "may this user do this to this partnership's object?"."""

from __future__ import annotations

import enum
import logging
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import abort, g, request
from flask_login import current_user

from mls_tracker.extensions import db
from mls_tracker.models import Membership, Partnership, Role, User

log = logging.getLogger("mls_tracker.access")


def _deny(status: int, user: Any, action: Action, partnership_id: int) -> None:
    log.warning(
        "denied %s: user=%s action=%r partnership=%s %s %s",
        status,
        getattr(user, "id", None),
        str(action),
        partnership_id,
        request.method,
        request.path,
    )
    abort(status)


class Action(enum.StrEnum):
    VIEW = "view"
    MANAGE = "manage"  # sponsors, expectations, SLAs, targets, meetings, reviews …
    INVITE = "invite"
    PROPOSE_ACTUALS = "propose actuals"
    UPDATE_PROVIDER_ACTIONS = "update provider actions"
    LOG_WINS_AND_CHANGES = "log wins and changes"
    UPLOAD_SURVEYS = "upload surveys"
    ACKNOWLEDGE_SCORECARD = "acknowledge scorecard"


ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.LEAD: frozenset(Action),
    Role.PROVIDER: frozenset(
        {
            Action.VIEW,
            Action.PROPOSE_ACTUALS,
            Action.UPDATE_PROVIDER_ACTIONS,
            Action.LOG_WINS_AND_CHANGES,
            Action.UPLOAD_SURVEYS,
        }
    ),
    Role.SPONSOR: frozenset({Action.VIEW, Action.ACKNOWLEDGE_SCORECARD}),
    Role.VIEWER: frozenset({Action.VIEW}),
}


def role_in(user: User | Any, partnership_id: int) -> Role | None:
    """The user's role in a partnership, or None. Cached for the request."""
    if not getattr(user, "is_authenticated", False):
        return None
    cache: dict[int, dict[int, Role]] = g.setdefault("_membership_roles", {})
    if user.id not in cache:
        rows = db.session.execute(
            sa.select(Membership.partnership_id, Membership.role).where(
                Membership.user_id == user.id
            )
        )
        cache[user.id] = {pid: role for pid, role in rows}
    return cache[user.id].get(partnership_id)


def can(user: User | Any, action: Action, partnership_id: int) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.active:
        return False
    if user.is_admin:
        return True
    role = role_in(user, partnership_id)
    return role is not None and action in ROLE_ACTIONS[role]


def visible_partnerships(user: User | Any) -> sa.Select[tuple[Partnership]]:
    """Every partnership the user may see."""
    query = sa.select(Partnership)
    if user.is_admin:
        return query
    member_of = sa.select(Membership.partnership_id).where(Membership.user_id == user.id)
    return query.where(Partnership.id.in_(member_of))


def check(action: Action, partnership_id: int) -> None:
    """The guard every view uses. Not a member (or no such object) → 404, whatever the role,
    so nobody learns what exists in someone else's partnership; a member without the right → 403.
    """
    user = current_user
    if not getattr(user, "is_authenticated", False):
        _deny(404, user, action, partnership_id)
    if user.is_admin:
        return
    role = role_in(user, partnership_id)
    if role is None:
        _deny(404, user, action, partnership_id)
    elif action not in ROLE_ACTIONS[role]:
        _deny(403, user, action, partnership_id)


ModelT = TypeVar("ModelT")


def get_partnership(partnership_id: int, action: Action = Action.VIEW) -> Partnership:
    check(action, partnership_id)
    return db.get_or_404(Partnership, partnership_id)


def get_object(
    model: type[ModelT], object_id: int, partnership_id: int, action: Action = Action.VIEW
) -> ModelT:
    """Load an object of a partnership, checking both that the user may act on the
    partnership and that the object really belongs to it."""
    check(action, partnership_id)
    obj = db.session.get(model, object_id)
    if obj is None or getattr(obj, "audit_partnership_id", None) != partnership_id:
        abort(404)
    return obj
