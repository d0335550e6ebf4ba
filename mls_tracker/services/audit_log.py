"""The audit log as people read it: entries filtered, a page of them with names resolved, the
filtered set as CSV rows, and who may see which entries.

Rules, as implemented here:

- Administrators see every entry. A lead sees the entries of the partnerships they lead, and
  nothing that belongs to no partnership (people, organisations, regions). Anyone else is
  answered 404 (``PermissionDenied(hidden=True)``), as for the administration.
- Dates in the filters are days in the viewer's time zone: "from 3 March" starts at midnight
  there, "to 5 March" ends at the following midnight.
- A page costs the same number of queries whatever its length: one for the count, one for the
  rows, one for the people named, one per type of object on the page.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from mls_tracker.access import member_of, role_in
from mls_tracker.extensions import db
from mls_tracker.formatting import day, local_time, read_day
from mls_tracker.models import (
    ActionItem,
    ActionUpdate,
    AgendaItem,
    Attendance,
    AuditAction,
    AuditEntry,
    Challenge,
    Change,
    Expectation,
    ExpectationRevision,
    Meeting,
    Organisation,
    Partnership,
    Region,
    Review,
    Role,
    Sla,
    SlaMeasurement,
    SlaTarget,
    Sponsor,
    User,
    Win,
)
from mls_tracker.pagination import PageWindow, page_window
from mls_tracker.services.errors import PermissionDenied

PER_PAGE = 50
EXPORT_CHUNK = 500
# Longer values are cut on the page (the full text stays one click away).
SHORT_VALUE = 120
SYSTEM = "system"

# Readable names of the object types, where splitting the class name is not enough.
TYPE_NAMES = {
    "Sla": "SLA",
    "SlaTarget": "SLA target",
    "SlaMeasurement": "SLA actual",
    "ActionItem": "Action",
    "ActionUpdate": "Action update",
    "ApiToken": "API token",
    "User": "Person",
}


def _label_of(obj: Any) -> str | None:
    """A short readable name of an object, for the log's "what" column."""
    if isinstance(obj, Sla):
        return f"{obj.code} {obj.name}"
    if isinstance(obj, Expectation):
        return obj.title or _cut(obj.statement, 60)
    if isinstance(obj, Meeting):
        return f"{obj.kind.value.capitalize()} meeting of {day(obj.held_on)}"
    if isinstance(obj, Review):
        months = obj.first_month.label
        if obj.last_month != obj.first_month:
            months = f"{months} – {obj.last_month.label}"
        return f"{obj.kind.value.capitalize()} review, {months}"
    if isinstance(obj, User):
        return obj.display_name
    if isinstance(obj, SlaTarget):
        return f"From {obj.effective_from.label}"
    if isinstance(obj, SlaMeasurement):
        return obj.month.label
    if isinstance(obj, ActionUpdate):
        status = f"Status {obj.new_status.value}" if obj.new_status else None
        return _cut(obj.text, 60) if obj.text else status
    if isinstance(obj, ExpectationRevision):
        return obj.kind.value.capitalize()
    return getattr(obj, "title", None) or getattr(obj, "name", None)


# The types whose objects are named (one query per type on a page), by their log name.
NAMED_TYPES: dict[str, type] = {
    model.__name__: model
    for model in (
        Partnership,
        Sla,
        Expectation,
        ActionItem,
        Meeting,
        AgendaItem,
        Challenge,
        Change,
        Win,
        Sponsor,
        Review,
        Organisation,
        Region,
        User,
        SlaTarget,
        SlaMeasurement,
        ActionUpdate,
        Attendance,
        ExpectationRevision,
    )
}
# An object's history includes the rows that belong to it (an SLA's targets and actuals …):
# its type → (the child model, the column naming the parent).
CHILDREN: dict[str, tuple[tuple[type, str], ...]] = {
    "Sla": ((SlaTarget, "sla_id"), (SlaMeasurement, "sla_id")),
    "ActionItem": ((ActionUpdate, "action_item_id"),),
    "Meeting": ((AgendaItem, "meeting_id"), (Attendance, "meeting_id")),
    "Expectation": ((ExpectationRevision, "expectation_id"),),
}
# A row that belongs to another object is shown on that object's page.
PARENT_OF: dict[type, tuple[str, str]] = {
    model: (parent, column) for parent, children in CHILDREN.items() for model, column in children
}
# Columns that may name a deleted object, in the values its log entries kept.
_NAME_KEYS = ("title", "name", "display_name", "code", "email")


def type_name(object_type: str) -> str:
    """ "ActionItem" → "Action", "SlaTarget" → "SLA target", "Win" → "Win"."""
    if object_type in TYPE_NAMES:
        return TYPE_NAMES[object_type]
    words = re.findall(r"[A-Z][a-z0-9]*", object_type) or [object_type]
    return " ".join([words[0], *(w.lower() for w in words[1:])])


def _cut(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class Filters:
    """What the log is narrowed to; None is "any"."""

    person: int | None = None
    partnership: int | None = None
    object_type: str | None = None
    object_id: str | None = None
    action: AuditAction | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @property
    def any(self) -> bool:
        return any(getattr(self, name) is not None for name in self.__slots__)

    def query_args(self) -> dict[str, str]:
        """The filters as a query string keeps them (for pages, the CSV link, clearing one)."""
        values = {
            "person": self.person,
            "partnership": self.partnership,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "action": self.action.value if self.action else None,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
        }
        return {key: str(value) for key, value in values.items() if value is not None}


def _date(value: str | None) -> dt.date | None:
    """A day as the filter takes it ("4 Dec 2026" or ISO "2026-12-04"); None if it is not one."""
    try:
        return read_day(value or "")
    except ValueError:
        return None


def _whole(value: str | None) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isdigit() else None


def read_filters(args: Any) -> Filters:
    """Filters from a query string (``request.args``); unreadable values are left out."""
    action = (args.get("action") or "").strip()
    object_type = (args.get("object_type") or "").strip()
    object_id = (args.get("object_id") or "").strip()
    return Filters(
        person=_whole(args.get("person")),
        partnership=_whole(args.get("partnership")),
        object_type=object_type[:60] if re.fullmatch(r"[A-Za-z]+", object_type) else None,
        object_id=object_id[:60] if re.fullmatch(r"[0-9,]+", object_id) else None,
        action=AuditAction(action) if action in {a.value for a in AuditAction} else None,
        date_from=_date(args.get("date_from")),
        date_to=_date(args.get("date_to")),
    )


# --- who may see what -------------------------------------------------------------------------


def may_read_log(user: Any, leads: bool | None = None) -> bool:
    """Administrators and leads (of any partnership) may read the log. ``leads``: whether
    the user leads a partnership, when already known (for a menu link); None asks."""
    if not getattr(user, "is_authenticated", False) or not user.active:
        return False
    if user.is_admin:
        return True
    if leads is not None:
        return leads
    return bool(
        db.session.scalar(
            sa.select(sa.func.count()).select_from(member_of(user, Role.LEAD).subquery())
        )
    )


def require_reader(user: Any) -> None:
    """Anyone but administrators and leads is answered 404, as for the administration."""
    if not may_read_log(user):
        raise PermissionDenied(hidden=True)


def may_see_history(user: Any, partnership_id: int | None) -> bool:
    """Whether ``user`` may read the history of an object of this partnership (the "History"
    link on its page): administrators, and the partnership's leads (archived or not)."""
    if not getattr(user, "is_authenticated", False) or not user.active:
        return False
    if user.is_admin:
        return True
    return partnership_id is not None and role_in(user, partnership_id) == Role.LEAD


def _scope(user: Any) -> list[sa.ColumnElement[bool]]:
    if user.is_admin:
        return []
    return [AuditEntry.partnership_id.in_(member_of(user, Role.LEAD))]


def _object_and_children(object_type: str, object_id: str) -> sa.ColumnElement[bool]:
    """The entries of one object and of the rows that still belong to it."""
    either = [(AuditEntry.object_type == object_type) & (AuditEntry.object_id == object_id)]
    if object_id.isdigit():
        for model, column in CHILDREN.get(object_type, ()):
            child_ids = sa.select(sa.cast(model.id, sa.String)).where(
                getattr(model, column) == int(object_id)
            )
            either.append(
                (AuditEntry.object_type == model.__name__) & AuditEntry.object_id.in_(child_ids)
            )
    return sa.or_(*either)


def _conditions(user: Any, filters: Filters, zone: dt.tzinfo) -> list[sa.ColumnElement[bool]]:
    where = _scope(user)
    if filters.person is not None:
        where.append(AuditEntry.actor_id == filters.person)
    if filters.partnership is not None:
        where.append(AuditEntry.partnership_id == filters.partnership)
    if filters.object_type is not None and filters.object_id is not None:
        where.append(_object_and_children(filters.object_type, filters.object_id))
    elif filters.object_type is not None:
        where.append(AuditEntry.object_type == filters.object_type)
    elif filters.object_id is not None:
        where.append(AuditEntry.object_id == filters.object_id)
    if filters.action is not None:
        where.append(AuditEntry.action == filters.action)
    if filters.date_from is not None:
        start = dt.datetime.combine(filters.date_from, dt.time(), zone)
        where.append(AuditEntry.occurred_at >= start.astimezone(dt.UTC))
    if filters.date_to is not None:
        end = dt.datetime.combine(filters.date_to + dt.timedelta(days=1), dt.time(), zone)
        where.append(AuditEntry.occurred_at < end.astimezone(dt.UTC))
    return where


# --- one entry as shown -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Value:
    """One side of a change as text: ``short`` on the page, ``full`` behind "show all" and
    in the CSV and the API; ``shown`` what the page shows of it uncut (a time in the
    viewer's zone, "6 Dec 2026 20:30 UTC", where ``full`` keeps ISO 8601; a person by name
    where ``full`` keeps their id)."""

    full: str
    short: str
    empty: bool
    shown: str = ""

    @property
    def cut(self) -> bool:
        return self.short != (self.shown or self.full)


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    before: Value
    after: Value


@dataclass(frozen=True, slots=True)
class EntryView:
    id: int
    occurred_at: dt.datetime
    actor_id: int | None
    actor_name: str
    partnership_id: int | None
    partnership_name: str | None
    action: AuditAction
    object_type: str
    object_type_name: str
    object_id: str
    object_label: str
    # The object is still there (and the viewer may see it, since they see its entry); None
    # for kinds of rows the log does not look up.
    object_exists: bool | None
    # The object whose page shows it (type, id): itself, or what it belongs to (an SLA for
    # its target); None when it is gone.
    page_of: tuple[str, int] | None = None
    changes: tuple[FieldChange, ...] = field(default=())


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


_BY = "_by_id"  # a person who did something to the object: shown by name

# (type, id) → (label, the page showing it)
Objects = dict[tuple[str, int], tuple[str, tuple[str, int]]]


def _in_sentence(name: str) -> str:
    """A type's name inside a sentence: "meeting", "action", but "SLA", "SLA target"."""
    return name[0].lower() + name[1:] if name[1:2].islower() else name


@functools.cache
def _reference(object_type: str, key: str) -> str | None:
    """The named type that a field of ``object_type`` refers to (an action item's
    "owner_id" → "User", its "sla_id" → "Sla"), read from the model's foreign keys."""
    model = NAMED_TYPES.get(object_type)
    if model is None or not key.endswith("_id") or key not in model.__table__.c:
        return None
    for foreign_key in model.__table__.c[key].foreign_keys:
        for name, target in NAMED_TYPES.items():
            if target.__table__ is foreign_key.column.table:
                return name
    return None


def _value(
    value: Any,
    key: str = "",
    zone: dt.tzinfo = dt.UTC,
    people: dict[int, str] | None = None,
    *,
    refers_to: str | None = None,
    objects: Objects | None = None,
) -> Value:
    """A field's value as kept (``full``) and as the page shows it: a person or another
    object named (``refers_to``: the type its id refers to), a time in the viewer's zone, a
    day as days are shown ("11 Dec 2026")."""
    full = _text(value)
    shown = full
    if isinstance(value, int) and (key.endswith(_BY) or refers_to == "User"):
        shown = (people or {}).get(value) or f"Deleted person #{value}"
    elif isinstance(value, int) and refers_to:
        named = (objects or {}).get((refers_to, value))
        shown = named[0] if named else f"Deleted {_in_sentence(type_name(refers_to))} #{value}"
    if key.endswith("_at") and isinstance(value, str):
        with contextlib.suppress(ValueError):
            shown = local_time(dt.datetime.fromisoformat(value), zone=zone)
    if key.endswith("_on") and isinstance(value, str):
        with contextlib.suppress(ValueError):
            shown = day(dt.date.fromisoformat(value))
    return Value(full=full, short=_cut(shown, SHORT_VALUE), empty=value is None, shown=shown)


def _field_name(key: str) -> str:
    return key.removesuffix("_id").replace("_", " ") if key != "id" else "id"


def _field_changes(
    entry: AuditEntry, zone: dt.tzinfo, people: dict[int, str], objects: Objects
) -> tuple[FieldChange, ...]:
    """Before → after per field; an insert lists what was set, a delete what was there."""
    rows = []
    for key, pair in (entry.changes or {}).items():
        before, after = (pair + [None, None])[:2] if isinstance(pair, list) else (None, pair)
        if key == "id" or (before is None and after is None):
            continue
        named = {"refers_to": _reference(entry.object_type, key), "objects": objects}
        rows.append(
            FieldChange(
                _field_name(key),
                _value(before, key, zone, people, **named),
                _value(after, key, zone, people, **named),
            )
        )
    return tuple(rows)


def _kept_name(entry: AuditEntry) -> str | None:
    """The name a deleted object had, from the values its entry kept."""
    for key in _NAME_KEYS:
        pair = (entry.changes or {}).get(key)
        if isinstance(pair, list):
            name = next((v for v in pair if isinstance(v, str) and v), None)
            if name:
                return name
    return None


def _page_of(obj: Any, object_type: str) -> tuple[str, int]:
    parent = PARENT_OF.get(type(obj))
    return (parent[0], getattr(obj, parent[1])) if parent else (object_type, obj.id)


def _names(entries: Sequence[AuditEntry]) -> tuple[dict[int, str], Objects, dict[int, str]]:
    """People, objects and partnerships named by ``entries`` — their objects and the values
    that refer to others (an owner, an SLA; who confirmed, approved, verified …): one query
    for the people and one per type of object (partnerships are objects too)."""
    people_ids = {e.actor_id for e in entries if e.actor_id is not None}
    wanted: dict[str, set[int]] = {}
    for entry in entries:
        for key, pair in (entry.changes or {}).items():
            refers_to = "User" if key.endswith(_BY) else _reference(entry.object_type, key)
            if refers_to:
                values = pair if isinstance(pair, list) else [pair]
                ids = {v for v in values if isinstance(v, int) and not isinstance(v, bool)}
                wanted.setdefault(refers_to, set()).update(ids)
    for entry in entries:
        if entry.object_type in NAMED_TYPES and entry.object_id.isdigit():
            wanted.setdefault(entry.object_type, set()).add(int(entry.object_id))
        if entry.partnership_id is not None:
            wanted.setdefault("Partnership", set()).add(entry.partnership_id)
    if "User" in wanted:
        people_ids |= wanted.pop("User")
    people: dict[int, str] = {}
    objects: Objects = {}
    if people_ids:
        for user_id, name in db.session.execute(
            sa.select(User.id, User.display_name).where(User.id.in_(sorted(people_ids)))
        ):
            people[user_id] = name
            objects[("User", user_id)] = (name, ("User", user_id))
    for object_type, ids in sorted(wanted.items()):
        model = NAMED_TYPES[object_type]
        for obj in db.session.scalars(sa.select(model).where(model.id.in_(sorted(ids)))):
            label = _label_of(obj) or f"#{obj.id}"
            objects[(object_type, obj.id)] = (label, _page_of(obj, object_type))
    partnerships = {
        key[1]: label for key, (label, _page) in objects.items() if key[0] == "Partnership"
    }
    return people, objects, partnerships


def _views(entries: Sequence[AuditEntry], zone: dt.tzinfo) -> list[EntryView]:
    people, objects, partnerships = _names(entries)
    views = []
    for entry in entries:
        key = (entry.object_type, int(entry.object_id) if entry.object_id.isdigit() else -1)
        label, page = objects.get(key, (None, None))
        if entry.actor_id is None:
            actor = SYSTEM
        else:
            actor = people.get(entry.actor_id) or f"Deleted person #{entry.actor_id}"
        views.append(
            EntryView(
                id=entry.id,
                occurred_at=entry.occurred_at,
                actor_id=entry.actor_id,
                actor_name=actor,
                partnership_id=entry.partnership_id,
                partnership_name=partnerships.get(entry.partnership_id or -1),
                action=entry.action,
                object_type=entry.object_type,
                object_type_name=type_name(entry.object_type),
                object_id=entry.object_id,
                object_label=label or _kept_name(entry) or f"#{entry.object_id}",
                object_exists=label is not None if entry.object_type in NAMED_TYPES else None,
                page_of=page,
                changes=_field_changes(entry, zone, people, objects),
            )
        )
    return views


# --- the page ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Choices:
    """What the filters offer: people who acted, partnerships, object types (id/value, text)."""

    people: list[tuple[int, str]]
    partnerships: list[tuple[int, str]]
    object_types: list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class LogPage:
    entries: list[EntryView]
    window: PageWindow
    filters: Filters
    choices: Choices
    # The object the page is the history of (object_type and object_id filtered), if any.
    subject: str | None


def _choices(user: Any) -> Choices:
    scope = _scope(user)
    actor_ids = sa.select(AuditEntry.actor_id).where(*scope).distinct().scalar_subquery()
    people = [
        (user_id, name)
        for user_id, name in db.session.execute(
            sa.select(User.id, User.display_name)
            .where(User.id.in_(actor_ids))
            .order_by(User.display_name, User.id)
        )
    ]
    partnership_query = sa.select(Partnership.id, Partnership.name).order_by(Partnership.name)
    if not user.is_admin:
        partnership_query = partnership_query.where(Partnership.id.in_(member_of(user, Role.LEAD)))
    types = db.session.scalars(
        sa.select(AuditEntry.object_type).where(*scope).distinct().order_by(AuditEntry.object_type)
    )
    return Choices(
        people=people,
        partnerships=[tuple(row) for row in db.session.execute(partnership_query)],
        object_types=sorted(((t, type_name(t)) for t in types), key=lambda pair: pair[1]),
    )


def _visible_filters(user: Any, filters: Filters, choices: Choices) -> Filters:
    """A partnership the viewer may not see is no filter (it is dropped, not honoured)."""
    if filters.partnership is not None and filters.partnership not in dict(choices.partnerships):
        return Filters(**{**_as_dict(filters), "partnership": None})
    return filters


def _as_dict(filters: Filters) -> dict[str, Any]:
    return {name: getattr(filters, name) for name in filters.__slots__}


def _subject(user: Any, filters: Filters, views: Sequence[EntryView]) -> str:
    """ "SLA “CMP-01 Course completion rate”": the object a history is of, by its name now, or
    by the name the log kept when it is gone."""
    object_type, object_id = filters.object_type or "", filters.object_id or ""
    model = NAMED_TYPES.get(object_type)
    obj = db.session.get(model, int(object_id)) if model and object_id.isdigit() else None
    # Named only when the viewer may read its history: no name from another partnership.
    seen = obj is not None and may_see_history(user, getattr(obj, "audit_partnership_id", None))
    label = _label_of(obj) if seen else None
    if label is None:
        label = next(
            (
                v.object_label
                for v in views
                if (v.object_type, v.object_id) == (object_type, object_id)
            ),
            f"#{object_id}",
        )
    return f"{type_name(object_type)} “{label}”"


def log_page(
    user: Any, filters: Filters, requested_page: Any, zone: dt.tzinfo, per_page: int = PER_PAGE
) -> LogPage:
    """One page of the entries ``user`` may see, newest first."""
    require_reader(user)
    choices = _choices(user)
    filters = _visible_filters(user, filters, choices)
    where = _conditions(user, filters, zone)
    total = db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(*where)) or 0
    window = page_window(total, requested_page, per_page)
    entries = db.session.scalars(
        sa.select(AuditEntry)
        .where(*where)
        .order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
        .limit(per_page)
        .offset(window.offset)
    ).all()
    views = _views(entries, zone)
    subject = _subject(user, filters, views) if filters.object_type and filters.object_id else None
    return LogPage(views, window, filters, choices, subject)


# --- CSV --------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "Entry",
    "When (UTC)",
    "When (local)",
    "Who",
    "Person id",
    "Partnership",
    "Object type",
    "Object id",
    "Object",
    "Action",
    "Field",
    "Before",
    "After",
)


def export_rows(user: Any, filters: Filters, zone: dt.tzinfo) -> Iterator[list[Any]]:
    """The filtered entries, newest first, one row per field changed (an entry with no field
    has one row); read ``EXPORT_CHUNK`` entries at a time, so memory stays flat. The
    permission check runs at once, before the first row is asked for."""
    require_reader(user)
    filters = _visible_filters(user, filters, _choices(user))
    where = _conditions(user, filters, zone)
    return _rows(where, zone)


def _rows(where: list[sa.ColumnElement[bool]], zone: dt.tzinfo) -> Iterator[list[Any]]:
    query = (
        sa.select(AuditEntry)
        .where(*where)
        .order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
    )
    result = db.session.execute(query.execution_options(yield_per=EXPORT_CHUNK)).scalars()
    for chunk in result.partitions(EXPORT_CHUNK):
        for view in _views(chunk, zone):
            yield from _csv_lines(view, zone)


def _csv_lines(view: EntryView, zone: dt.tzinfo) -> Iterable[list[Any]]:
    local = view.occurred_at.astimezone(zone)
    head = [
        view.id,
        view.occurred_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
        f"{local.isoformat(timespec='seconds')} {local.tzname()}",
        view.actor_name,
        view.actor_id,
        view.partnership_name,
        view.object_type_name,
        view.object_id,
        view.object_label,
        view.action.value,
    ]
    if not view.changes:
        yield [*head, "", "", ""]
    for change in view.changes:
        yield [*head, change.field, change.before.full, change.after.full]
