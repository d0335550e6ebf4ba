"""The one place that answers "may this user do this to this partnership's object?"."""

from __future__ import annotations

import enum
import functools
import logging
from collections.abc import Iterable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import g, has_request_context, request
from flask_login import current_user

from mls_tracker.extensions import db
from mls_tracker.models import Membership, Partnership, Role, User
from mls_tracker.services import data_version
from mls_tracker.services.errors import NotFound, PermissionDenied

log = logging.getLogger("mls_tracker.access")


def _deny(user: Any, action: Action, partnership_id: int, message: str | None, *, hidden: bool):
    where = f" {request.method} {request.path}" if has_request_context() else ""
    log.warning(
        "denied %s: user=%s action=%r partnership=%s%s",
        404 if hidden else 403,
        getattr(user, "id", None),
        str(action),
        partnership_id,
        where,
    )
    if hidden:
        return PermissionDenied(hidden=True)
    return PermissionDenied(message) if message else PermissionDenied()


class Action(enum.StrEnum):
    VIEW = "view"
    MANAGE = "manage"  # sponsors, expectations, SLAs, targets, meetings, reviews …
    INVITE = "invite"
    PROPOSE_ACTUALS = "propose actuals"
    UPDATE_PROVIDER_ACTIONS = "update provider actions"
    LOG_WINS_AND_CHANGES = "log wins and changes"
    UPLOAD_SURVEYS = "upload surveys"
    ACKNOWLEDGE_SCORECARD = "acknowledge scorecard"
    WRITE_PROVIDER_COMMENTARY = "write provider commentary"


ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.LEAD: frozenset(Action),
    Role.PROVIDER: frozenset(
        {
            Action.VIEW,
            Action.PROPOSE_ACTUALS,
            Action.UPDATE_PROVIDER_ACTIONS,
            Action.LOG_WINS_AND_CHANGES,
            Action.UPLOAD_SURVEYS,
            Action.WRITE_PROVIDER_COMMENTARY,
        }
    ),
    Role.SPONSOR: frozenset({Action.VIEW, Action.ACKNOWLEDGE_SCORECARD}),
    Role.VIEWER: frozenset({Action.VIEW}),
}


# After this many partnerships looked up one by one in a request, all of the user's roles are
# loaded at once: a page about one partnership reads one row, a list reads them all once.
_ONE_BY_ONE = 2


class _KnownRoles(dict[int, "Role | None"]):
    """A user's roles by partnership known in this request; ``complete`` once all were read."""

    complete = False


def role_in(user: User | Any, partnership_id: int) -> Role | None:
    """The user's role in a partnership, or None. Cached for the request."""
    if not getattr(user, "is_authenticated", False):
        return None
    cache: dict[int, _KnownRoles] = g.setdefault("_membership_roles", {})
    roles = cache.setdefault(user.id, _KnownRoles())
    if partnership_id in roles or roles.complete:
        return roles.get(partnership_id)
    if len(roles) < _ONE_BY_ONE:
        roles[partnership_id] = _read_partnership(user.id, partnership_id)
        return roles[partnership_id]
    return _all_roles(user, roles).get(partnership_id)


@functools.cache
def _partnership_statement() -> sa.Select[Any]:
    """The partnership, the user's role in it and its data version: built once."""
    role = (
        sa.select(Membership.role)
        .where(
            Membership.user_id == sa.bindparam("user_id", type_=sa.Integer),
            Membership.partnership_id == Partnership.id,
        )
        .scalar_subquery()
    )
    return sa.select(
        Partnership, role.label("role"), *data_version.version_columns(Partnership.id)
    ).where(Partnership.id == sa.bindparam("partnership_id", type_=sa.Integer))


def _read_partnership(user_id: int, partnership_id: int) -> Role | None:
    """The user's role in a partnership, read in one query with the partnership (which the
    page loads next, from the session's identity map) and its data version (which the
    page's remembered parts need, ``data_version.note_version``)."""
    row = db.session.execute(
        _partnership_statement(), {"user_id": user_id, "partnership_id": partnership_id}
    ).first()
    if row is None:
        return None
    partnership, role, *version = row
    # Held for the request: the session's identity map keeps only weak references, and the
    # page asks for the partnership next.
    g.setdefault("_partnerships_read", []).append(partnership)
    data_version.note_version(partnership_id, data_version.version_of(*version))
    return role


def _all_roles(user: User | Any, roles: _KnownRoles) -> _KnownRoles:
    if not roles.complete:
        rows = db.session.execute(
            sa.select(Membership.partnership_id, Membership.role).where(
                Membership.user_id == user.id
            )
        )
        roles.clear()
        roles.update({pid: role for pid, role in rows})
        roles.complete = True
    return roles


def roles_in(user: User | Any, partnership_ids: Iterable[int]) -> dict[int, Role | None]:
    """``role_in`` for each partnership of a list: all of the user's roles read at once (one
    query, whatever the length of the list) unless the list holds a single partnership."""
    ids = list(partnership_ids)
    if len(ids) > 1 and getattr(user, "is_authenticated", False):
        cache: dict[int, _KnownRoles] = g.setdefault("_membership_roles", {})
        _all_roles(user, cache.setdefault(user.id, _KnownRoles()))
    return {pid: role_in(user, pid) for pid in ids}


ARCHIVED_MESSAGE = (
    "This partnership is archived, so it is read-only. An administrator can reopen it."
)


def is_archived(partnership_id: int) -> bool:
    """Whether a partnership is archived (closed): then it may be viewed, and nothing more."""
    partnership = db.session.get(Partnership, partnership_id)
    return partnership is not None and partnership.archived_at is not None


def can(user: User | Any, action: Action, partnership_id: int) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.active:
        return False
    if user.is_admin:
        return action == Action.VIEW or not is_archived(partnership_id)
    role = role_in(user, partnership_id)
    if role is None or action not in ROLE_ACTIONS[role]:
        return False
    return action == Action.VIEW or not is_archived(partnership_id)


def visible_partnerships(user: User | Any) -> sa.Select[tuple[Partnership]]:
    """Every partnership the user may see."""
    query = sa.select(Partnership)
    if user.is_admin:
        return query
    return query.where(Partnership.id.in_(member_of(user)))


def member_of(user: User | Any, role: Role | None = None) -> sa.Select[tuple[int]]:
    """The ids of the partnerships the user is a member of (with ``role``, if given), as a
    subquery for ``.in_()``. Admins are members of nothing unless they were added."""
    query = sa.select(Membership.partnership_id).where(Membership.user_id == user.id)
    return query if role is None else query.where(Membership.role == role)


def partnership_id_of(target: Partnership | int | Any) -> int:
    """The partnership a permission question is about: a partnership, its id, or any object
    of it (every such model has ``audit_partnership_id``)."""
    if isinstance(target, int):
        return target
    if isinstance(target, Partnership):
        return target.id
    partnership_id = getattr(target, "audit_partnership_id", None)
    if partnership_id is None:
        raise TypeError(f"{type(target).__name__} does not belong to a partnership")
    return partnership_id


def require(
    user: User | Any, action: Action, target: Partnership | int | Any, message: str | None = None
) -> None:
    """The one permission check. Raises ``PermissionDenied``: ``hidden`` (answered 404) when
    the user is not a member of the partnership — nobody learns what exists in someone else's
    partnership — and with ``message`` (answered 403) when a member's role does not allow it.
    An archived partnership may only be viewed, by administrators too (403, saying so)."""
    partnership_id = partnership_id_of(target)
    if not getattr(user, "is_authenticated", False) or not user.active:
        raise _deny(user, action, partnership_id, message, hidden=True)
    if not user.is_admin:
        role = role_in(user, partnership_id)
        if role is None:
            raise _deny(user, action, partnership_id, message, hidden=True)
        if action not in ROLE_ACTIONS[role]:
            raise _deny(user, action, partnership_id, message, hidden=False)
    if action != Action.VIEW and is_archived(partnership_id):
        raise _deny(user, action, partnership_id, ARCHIVED_MESSAGE, hidden=False)


def require_admin(user: User | Any) -> None:
    """Administration is for administrators only; everyone else is answered 404, as for a
    partnership they are not part of (nobody learns what the administration holds)."""
    if (
        not getattr(user, "is_authenticated", False)
        or not user.active
        or not getattr(user, "is_admin", False)
    ):
        where = f" {request.method} {request.path}" if has_request_context() else ""
        log.warning("denied 404: user=%s administration%s", getattr(user, "id", None), where)
        raise PermissionDenied(hidden=True)


def check(action: Action, partnership_id: int) -> None:
    """The guard every view uses, for the signed-in user (see ``require``)."""
    require(current_user, action, partnership_id)


ModelT = TypeVar("ModelT")


def get_partnership(partnership_id: int, action: Action = Action.VIEW) -> Partnership:
    check(action, partnership_id)
    partnership = db.session.get(Partnership, partnership_id)
    if partnership is None:
        raise NotFound()
    return partnership


def get_object(
    model: type[ModelT], object_id: int, partnership_id: int, action: Action = Action.VIEW
) -> ModelT:
    """Load an object of a partnership, checking both that the user may act on the
    partnership and that the object really belongs to it."""
    check(action, partnership_id)
    obj = db.session.get(model, object_id)
    if obj is None or getattr(obj, "audit_partnership_id", None) != partnership_id:
        raise NotFound()
    return obj
