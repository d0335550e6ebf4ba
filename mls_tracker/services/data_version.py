"""The version of what a partnership's pages show, read in one small query: the newest audit
entry of the partnership, and the newest of the organisations, regions and people (whose
names and order those pages show too).

Every audited write of a partnership — anything the audit log records with its
``audit_partnership_id``, which is also what empties its monthly figures cache
(``services/figures_cache.py``) — adds an audit entry, so a page built from the partnership's
data at one version is the same page as long as the version and the day stay the same. The
entry's time is part of the version: ids alone may be given again after a database is
emptied or restored, a microsecond timestamp is not.

Writes that bypass the session (SQL on a raw connection) bypass the audit log and the figures
cache alike; survey responses are written so, but always with their audited ``SurveyImport``.

``remembered`` keeps what a page computed from a partnership's data, per process and app, under
that version: a revisit with nothing written reads the version (one query) and nothing else.
The permission check of a request reads the version in its own query (``access.role_in``:
the partnership, the viewer's role and the version at once) and notes it here
(``note_version``), so that the page's ``remembered`` asks nothing more; a flush of the
request's session forgets what was noted, so a write in the request is always seen.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app, g, has_request_context

from mls_tracker.extensions import db
from mls_tracker.models import AuditEntry

# Reference data without a partnership that the partnership pages show.
SHOWN_REFERENCE = ("Organisation", "Region", "User")

Version = tuple[tuple[int, dt.datetime] | None, tuple[int, dt.datetime] | None]


def _newest(*where: sa.ColumnElement[bool]) -> sa.Subquery:
    return (
        sa.select(AuditEntry.id, AuditEntry.occurred_at)
        .where(*where)
        .order_by(AuditEntry.id.desc())
        .limit(1)
        .subquery()
    )


def _version_query() -> sa.CompoundSelect:
    own = _newest(AuditEntry.partnership_id == sa.bindparam("partnership_id"))
    reference = _newest(
        AuditEntry.partnership_id.is_(None), AuditEntry.object_type.in_(SHOWN_REFERENCE)
    )
    return sa.union_all(
        sa.select(sa.literal(0).label("kind"), own.c.id, own.c.occurred_at),
        sa.select(sa.literal(1).label("kind"), reference.c.id, reference.c.occurred_at),
    )


# Built once: every page view reads the version, and building the statement cost more than
# running it.
_VERSION_QUERY = _version_query()


def version_columns(partnership_id: sa.ColumnElement[int]) -> list[sa.Label[Any]]:
    """The version of ``partnership_id`` (a column of the enclosing statement, or a bound
    parameter) as four columns, for a statement that reads it beside something else;
    ``version_of`` makes the version of them."""
    own = (AuditEntry.partnership_id == partnership_id,)
    reference = (AuditEntry.partnership_id.is_(None), AuditEntry.object_type.in_(SHOWN_REFERENCE))
    return [
        sa.select(column)
        .where(*where)
        .order_by(AuditEntry.id.desc())
        .limit(1)
        .scalar_subquery()
        .label(f"version_{name}")
        for name, where in (("own", own), ("reference", reference))
        for column in (AuditEntry.id, AuditEntry.occurred_at)
    ]


def version_of(own_id: Any, own_at: Any, reference_id: Any, reference_at: Any) -> Version:
    """The version read by ``version_columns``."""
    return (
        (own_id, own_at) if own_id is not None else None,
        (reference_id, reference_at) if reference_id is not None else None,
    )


_NOTED = "_partnership_versions"


def note_version(partnership_id: int, version: Version) -> None:
    """Keep, for the rest of this request (until its session flushes), the version that a
    query of the request read beside something else."""
    if has_request_context():
        g.setdefault(_NOTED, {})[partnership_id] = version


def _forget_noted(_session: so.Session, *_args: Any) -> None:
    if has_request_context():
        g.pop(_NOTED, None)


def install_listeners() -> None:
    """Idempotent, global to every session: a flush (any write of the request) or a rollback
    forgets the versions noted in the request."""
    for name in ("after_flush", "after_rollback"):
        if not sa.event.contains(so.Session, name, _forget_noted):
            sa.event.listen(so.Session, name, _forget_noted)


def partnership_version(partnership_id: int) -> Version:
    """(the partnership's newest audit entry, the newest of the reference data), each as
    (id, time) or None when there is none yet: as noted in this request, else read."""
    noted = g.get(_NOTED) if has_request_context() else None
    if noted is not None and partnership_id in noted:
        return noted[partnership_id]
    rows = db.session.execute(_VERSION_QUERY, {"partnership_id": partnership_id}).all()
    found = {kind: (entry_id, occurred_at) for kind, entry_id, occurred_at in rows}
    return found.get(0), found.get(1)


# ----------------------------------------------------------------------------- remembering

T = TypeVar("T")
REMEMBERED = 512  # values per process and app: a page's data or markup is a few tens of kB


class Memo:
    """A thread-safe map of the ``size`` most recently used keys."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def app_memo(name: str, size: int) -> Memo:
    """The app's ``Memo`` called ``name`` (in ``app.extensions``), made on first use."""
    memo = current_app.extensions.get(name)
    if memo is None:
        memo = current_app.extensions.setdefault(name, Memo(size))
    return memo


def _remembered(full_key: Hashable, compute: Callable[[], T]) -> T:
    memo = app_memo("partnership_pages", REMEMBERED)
    value = memo.get(full_key)
    if value is None:
        value = compute()
        memo.put(full_key, value)
    return value


def remembered(kind: str, partnership_id: int, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()`` once per ``kind`` (a page), partnership, ``key`` (what else the value
    depends on: the day, the months shown, the viewer's rights) and data version, in this
    process; the value remembered after. ``compute`` reads only the partnership's own data
    and the reference data the version covers."""
    return _remembered((kind, partnership_id, key, partnership_version(partnership_id)), compute)


# ----------------------------------------------------------------------------- across partnerships

# The newest audit entry of all: one read of the end of the primary key's index.
_NEWEST_QUERY = (
    sa.select(AuditEntry.id, AuditEntry.occurred_at).order_by(AuditEntry.id.desc()).limit(1)
)

InstallationVersion = tuple[int, dt.datetime] | None
_UNREAD = object()  # remembered_across: the caller did not read the version


def installation_version() -> InstallationVersion:
    """The newest audit entry of the installation as (id, time), or None when there is none:
    it changes with every audited write of any partnership, person or reference data, so a
    page built from data across partnerships is the same while it stays the same."""
    row = db.session.execute(_NEWEST_QUERY).first()
    return (row[0], row[1]) if row else None


def installation_version_columns() -> list[sa.Label[Any]]:
    """``installation_version`` as two columns (id, time), for a statement that reads it
    beside something else."""
    return [
        sa.select(column)
        .order_by(AuditEntry.id.desc())
        .limit(1)
        .scalar_subquery()
        .label(f"installation_{column.key}")
        for column in (AuditEntry.id, AuditEntry.occurred_at)
    ]


def remembered_across(
    kind: str,
    key: Hashable,
    compute: Callable[[], T],
    version: InstallationVersion | object = _UNREAD,
) -> T:
    """``compute()`` once per ``kind`` (a page), ``key`` (what else the value depends on: the
    viewer, whose memberships and rights choose what it shows, and the day) and
    ``installation_version`` (read here unless the caller read it, ``version``), in this
    process; the value remembered after. For pages across partnerships, where a
    partnership's own version is not enough."""
    if version is _UNREAD:
        version = installation_version()
    return _remembered((kind, None, key, version), compute)
