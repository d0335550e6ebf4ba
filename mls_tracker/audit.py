"""Writes the audit log from one place: a session event that sees every flush."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import decimal
import enum
import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import has_request_context

from mls_tracker.models import AuditAction, AuditEntry, utcnow
from mls_tracker.models.base import Audited, Base
from mls_tracker.periods import Month

# Who is acting outside a request (CLI commands, background jobs, the demo loader).
_acting_user_id: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "acting_user_id", default=None
)


@contextlib.contextmanager
def acting_as(user_id: int | None) -> Iterator[None]:
    token = _acting_user_id.set(user_id)
    try:
        yield
    finally:
        _acting_user_id.reset(token)


def current_actor_id() -> int | None:
    explicit = _acting_user_id.get()
    if explicit is not None:
        return explicit
    if has_request_context():
        from flask_login import current_user

        if current_user and current_user.is_authenticated:
            return int(current_user.id)
    return None


def _plain(value: Any) -> Any:
    """A JSON-safe rendering of a column value."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Month):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, dict | list):
        return value
    return str(value)


def _logged(obj: Audited, key: str, value: Any) -> Any:
    """The value as the log keeps it: a digest for the model's ``__audit_digest__`` columns."""
    if value is not None and key in obj.__audit_digest__:
        raw = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()
        return "sha256:" + hashlib.sha256(raw).hexdigest()
    return _plain(value)


def _ids(objects: Iterable[Any]) -> list[Any]:
    return sorted(getattr(o, "id", None) for o in objects)


def _collections(obj: Audited) -> list[so.RelationshipProperty[Any]]:
    """Many-to-many collections (regions in scope, featured wins …): logged as lists of ids."""
    mapper = sa.inspect(obj).mapper
    return [
        rel
        for rel in mapper.relationships
        if rel.secondary is not None and rel.key not in obj.__audit_exclude__
    ]


def _columns(obj: Audited) -> list[so.ColumnProperty[Any]]:
    mapper = sa.inspect(obj).mapper
    return [p for p in mapper.column_attrs if p.key not in obj.__audit_exclude__]


# A child created by key alone (``SlaMeasurement(sla_id=…)``) has no parent loaded at flush
# time, so its ``audit_partnership_id`` is None: its partnership is found through the key.
PARENT_TABLES = {
    "sla_id": "slas",
    "meeting_id": "meetings",
    "action_item_id": "action_items",
    "expectation_id": "expectations",
    "review_id": "reviews",
}


def partnerships_of(session: so.Session, objects: Iterable[Audited]) -> dict[int, int | None]:
    """``id(obj)`` → the partnership owning it, for audited objects being flushed; one
    query per kind of parent whose row had to be looked up."""
    found: dict[int, int | None] = {}
    wanted: dict[tuple[str, int], list[int]] = {}
    for obj in objects:
        partnership_id = obj.audit_partnership_id
        found[id(obj)] = partnership_id
        if partnership_id is None:
            for key, table in PARENT_TABLES.items():
                parent_id = getattr(obj, key, None)
                if parent_id is not None:
                    wanted.setdefault((table, parent_id), []).append(id(obj))
                    break
    for table_name in {table for table, _ in wanted}:
        table = Base.metadata.tables[table_name]
        parent_ids = sorted(parent_id for name, parent_id in wanted if name == table_name)
        for parent_id, partnership_id in session.connection().execute(
            sa.select(table.c.id, table.c.partnership_id).where(table.c.id.in_(parent_ids))
        ):
            for object_id in wanted[(table_name, parent_id)]:
                found[object_id] = partnership_id
    return found


def _entry(
    obj: Audited, action: AuditAction, changes: dict[str, Any], partnership_id: int | None
) -> dict[str, Any]:
    state = sa.inspect(obj)
    identity = state.mapper.primary_key_from_instance(obj)
    return {
        "occurred_at": utcnow(),
        "actor_id": current_actor_id(),
        "partnership_id": partnership_id,
        "action": action,
        "object_type": type(obj).__name__,
        "object_id": ",".join(str(part) for part in identity),
        "changes": changes,
    }


def _before_flush(session: so.Session, _flush_context: Any, _instances: Any) -> None:
    """Fetch the stored value of attributes that were changed without being loaded first
    (after a commit expired them): history alone would not know what they were."""
    unknown: dict[int, dict[str, Any]] = session.info.setdefault("audit_old_values", {})
    for obj in session.dirty:
        if not isinstance(obj, Audited):
            continue
        state = sa.inspect(obj)
        if state.key is None:
            continue
        missing = [
            prop
            for prop in _columns(obj)
            if state.attrs[prop.key].history.added and not state.attrs[prop.key].history.deleted
        ]
        if not missing:
            continue
        mapper = state.mapper
        where = [
            col == value for col, value in zip(mapper.primary_key, state.identity, strict=True)
        ]
        row = (
            session.connection()
            .execute(sa.select(*[prop.columns[0] for prop in missing]).where(*where))
            .first()
        )
        if row is not None:
            unknown[id(obj)] = {prop.key: row[i] for i, prop in enumerate(missing)}


def _after_flush(session: so.Session, _flush_context: Any) -> None:
    stored = session.info.pop("audit_old_values", {})
    rows = []
    with session.no_autoflush:
        owners = partnerships_of(
            session,
            (
                obj
                for obj in (*session.new, *session.dirty, *session.deleted)
                if isinstance(obj, Audited)
            ),
        )
        for obj in session.new:
            if isinstance(obj, Audited):
                values = {
                    p.key: [None, _logged(obj, p.key, getattr(obj, p.key))] for p in _columns(obj)
                }
                state = sa.inspect(obj)
                for rel in _collections(obj):
                    added = state.attrs[rel.key].history.added
                    if added:
                        values[rel.key] = [None, _ids(added)]
                rows.append(_entry(obj, AuditAction.INSERT, values, owners[id(obj)]))
        for obj in session.dirty:
            if not isinstance(obj, Audited) or not session.is_modified(obj):
                continue
            state = sa.inspect(obj)
            changes = {}
            for prop in _columns(obj):
                history = state.attrs[prop.key].history
                if history.has_changes():
                    if history.deleted:
                        old = history.deleted[0]
                    else:
                        old = stored.get(id(obj), {}).get(prop.key)
                    new = history.added[0] if history.added else None
                    if old != new:
                        changes[prop.key] = [
                            _logged(obj, prop.key, old),
                            _logged(obj, prop.key, new),
                        ]
            for rel in _collections(obj):
                history = state.attrs[rel.key].history
                if history.added or history.deleted:
                    kept = list(history.unchanged)
                    before, after = (
                        _ids(kept + list(history.deleted)),
                        _ids(kept + list(history.added)),
                    )
                    if before != after:
                        changes[rel.key] = [before, after]
            if changes:
                rows.append(_entry(obj, AuditAction.UPDATE, changes, owners[id(obj)]))
        for obj in session.deleted:
            if isinstance(obj, Audited):
                values = {
                    p.key: [_logged(obj, p.key, getattr(obj, p.key)), None] for p in _columns(obj)
                }
                rows.append(_entry(obj, AuditAction.DELETE, values, owners[id(obj)]))
    if rows:
        session.connection().execute(sa.insert(AuditEntry), rows)


def install_audit_listener() -> None:
    """Idempotent: the listener is global to every SQLAlchemy session."""
    if not sa.event.contains(so.Session, "after_flush", _after_flush):
        sa.event.listen(so.Session, "before_flush", _before_flush)
        sa.event.listen(so.Session, "after_flush", _after_flush)
