"""The version of what a partnership's pages show, read in one small query: the newest audit
entry of the partnership, and the newest of the organisations and regions (whose names and
order those pages show too).

Every audited write of a partnership — anything the audit log records with its
``audit_partnership_id``, which is also what empties its monthly figures cache
(``services/figures_cache.py``) — adds an audit entry, so a page built from the partnership's
data at one version is the same page as long as the version and the day stay the same. The
entry's time is part of the version: ids alone may be given again after a database is
emptied or restored, a microsecond timestamp is not.

Writes that bypass the session (SQL on a raw connection) bypass the audit log and the figures
cache alike; survey responses are written so, but always with their audited ``SurveyImport``.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import AuditEntry

# Reference data without a partnership that the partnership pages show.
SHOWN_REFERENCE = ("Organisation", "Region")

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


def partnership_version(partnership_id: int) -> Version:
    """(the partnership's newest audit entry, the newest of the reference data), each as
    (id, time) or None when there is none yet."""
    rows = db.session.execute(_VERSION_QUERY, {"partnership_id": partnership_id}).all()
    found = {kind: (entry_id, occurred_at) for kind, entry_id, occurred_at in rows}
    return found.get(0), found.get(1)
