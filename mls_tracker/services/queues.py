"""Work queues across all of a user's partnerships: what waits for a lead (done items to
verify, proposed actuals, proposed survey imports) and for a provider (items returned to
them, their side's items due this week), and the counts the navigation shows."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker.extensions import db
from mls_tracker.models import (
    CLOSED_STATUSES,
    ActionItem,
    ActionUpdate,
    Membership,
    Notification,
    Partnership,
    Role,
    Side,
    Sla,
    SlaMeasurement,
    SurveyImport,
    User,
)
from mls_tracker.models.inbox import UNREAD_SQL
from mls_tracker.models.meeting import OPEN_ACTION_SQL
from mls_tracker.models.satisfaction import ImportState
from mls_tracker.models.sla import PROPOSED_SQL
from mls_tracker.pagination import PageWindow, page_window
from mls_tracker.services import data_version
from mls_tracker.services.slas import format_value

WITHIN_DAYS = 7
PER_PAGE = 50
DUE_FILTERS = {"overdue": "Overdue", "week": "Due within 7 days"}
SORTS = ("partnership", "title", "who", "date")


@dataclass(frozen=True, slots=True)
class Queue:
    """One queue: its name in the URL, title, who uses it, and its column headings."""

    name: str
    title: str
    role: Role
    empty: str
    item: str
    who: str
    date: str
    extra: str
    dated_by_due: bool  # its date column is a due date (the due/overdue filter applies)


QUEUES = {
    queue.name: queue
    for queue in (
        Queue(
            "verification",
            "Awaiting my verification",
            Role.LEAD,
            "No done item is waiting for your verification.",
            "Action item",
            "Owner",
            "Due",
            "Done on",
            False,  # done items: never overdue, and the due filter means nothing here
        ),
        Queue(
            "actuals",
            "Actuals to confirm",
            Role.LEAD,
            "No proposed actual is waiting for you.",
            "SLA",
            "Proposed by",
            "Month",
            "Value",
            False,
        ),
        Queue(
            "imports",
            "Survey imports to confirm",
            Role.LEAD,
            "No survey import is waiting for you.",
            "File",
            "Uploaded by",
            "Uploaded",
            "Responses",
            False,
        ),
        Queue(
            "returned",
            "Returned to me",
            Role.PROVIDER,
            "No item of yours has been reopened.",
            "Action item",
            "Returned by",
            "Due",
            "Returned on",
            True,
        ),
        Queue(
            "due",
            "Due this week or overdue",
            Role.PROVIDER,
            "Nothing on your side is due in the next 7 days or overdue.",
            "Action item",
            "Owner",
            "Due",
            "Status",
            True,
        ),
    )
}


@dataclass(frozen=True, slots=True)
class QueueFilters:
    partnership_id: int | None = None
    due: str | None = None  # "overdue", "week" or None
    sort: str = "date"
    descending: bool = False

    def query_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {}
        if self.partnership_id:
            args["partnership"] = self.partnership_id
        if self.due:
            args["due"] = self.due
        return args


def read_filters(args: Any) -> QueueFilters:
    """Filters and sort from a request's query arguments; anything unreadable is ignored."""
    try:
        partnership_id = int(args.get("partnership") or 0) or None
    except ValueError:
        partnership_id = None
    due = args.get("due") if args.get("due") in DUE_FILTERS else None
    sort = args.get("sort") if args.get("sort") in SORTS else "date"
    return QueueFilters(partnership_id, due, sort, args.get("order") == "desc")


@dataclass(frozen=True, slots=True)
class QueueRow:
    object_id: int
    partnership_id: int
    partnership_name: str
    title: str
    who: str
    date: dt.date | None
    extra: str
    overdue: bool
    month: str | None = None  # actuals: the month's page to link to


@dataclass(frozen=True, slots=True)
class QueuePage:
    queue: Queue
    rows: list[QueueRow]
    window: PageWindow
    partnerships: list[tuple[int, str]] = field(default_factory=list)


# A user's id and the last due date "this week" takes: values for a page, bound parameters in
# the navigation's counts (one statement built once, for every user and day).
UserId = int | sa.BindParameter[int]
Day = dt.date | sa.BindParameter[dt.date]


def _partnerships_where(user_id: UserId, role: Role) -> sa.Select[tuple[int]]:
    """The ids of the open (not archived) partnerships where the user holds ``role``."""
    return (
        sa.select(Membership.partnership_id)
        .join(Partnership, Partnership.id == Membership.partnership_id)
        .where(
            Membership.user_id == user_id,
            Membership.role == role,
            Partnership.archived_at.is_(None),
        )
        .correlate(None)  # a whole list of its own wherever it is used
    )


def _name(user: type[User] | Any) -> sa.ColumnElement[str]:
    return sa.func.coalesce(user.display_name, user.email)


def _sent_back() -> tuple[sa.ColumnElement[bool], ...]:
    """An update of the item (the row in the query) that took it from done or cancelled back
    to an open status."""
    return (
        ActionUpdate.action_item_id == ActionItem.id,
        ActionUpdate.old_status.in_(CLOSED_STATUSES),
        ActionUpdate.new_status.not_in(CLOSED_STATUSES),
    )


def _returned_at() -> sa.ScalarSelect[Any]:
    """When the item was last sent back to an open status."""
    return sa.select(sa.func.max(ActionUpdate.created_at)).where(*_sent_back()).scalar_subquery()


def _returned_by() -> sa.ScalarSelect[Any]:
    """Who sent it back, the last time."""
    author = so.aliased(User)
    return (
        sa.select(_name(author))
        .select_from(ActionUpdate)
        .join(author, author.id == ActionUpdate.author_id)
        .where(*_sent_back())
        .order_by(ActionUpdate.created_at.desc(), ActionUpdate.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _where(name: str, user_id: UserId, horizon: Day) -> list[sa.ColumnElement[bool]]:
    """What puts a row in queue ``name`` for the user (also the navigation's counts);
    ``horizon``: the last day "due this week" takes."""
    if name == "verification":
        return [
            # literal SQL, the condition of the partial index (parameters would not match it)
            sa.text("action_items.status = 'done' AND action_items.verified_at IS NULL"),
            ActionItem.partnership_id.in_(_partnerships_where(user_id, Role.LEAD)),
        ]
    if name == "actuals":
        return [
            sa.text("sla_measurements." + PROPOSED_SQL),
            Sla.partnership_id.in_(_partnerships_where(user_id, Role.LEAD)),
        ]
    if name == "imports":
        return [
            SurveyImport.state == ImportState.PROPOSED,
            SurveyImport.undone_at.is_(None),
            SurveyImport.partnership_id.in_(_partnerships_where(user_id, Role.LEAD)),
        ]
    if name == "returned":
        return [
            ActionItem.owner_id == user_id,
            sa.text("action_items." + OPEN_ACTION_SQL),
            sa.exists().where(*_sent_back()),
            ActionItem.partnership_id.in_(_partnerships_where(user_id, Role.PROVIDER)),
        ]
    if name == "due":
        return [
            ActionItem.owner_side == Side.PROVIDER,
            sa.text("action_items." + OPEN_ACTION_SQL),
            ActionItem.due_on <= horizon,
            ActionItem.partnership_id.in_(_partnerships_where(user_id, Role.PROVIDER)),
        ]
    raise KeyError(name)


def _base(name: str) -> tuple[sa.Select, dict[str, Any]]:
    """The queue's rows as (statement, its sortable columns)."""
    person = so.aliased(User)
    if name == "actuals":
        columns = {
            "partnership": Partnership.name,
            "title": Sla.code,
            "who": _name(person),
            "date": SlaMeasurement.month,
        }
        query = (
            sa.select(
                SlaMeasurement.id.label("object_id"),
                Sla.partnership_id.label("partnership_id"),
                Partnership.name.label("partnership_name"),
                (Sla.code + " — " + Sla.name).label("title"),
                _name(person).label("who"),
                SlaMeasurement.month.label("date"),
                SlaMeasurement.value,
                SlaMeasurement.not_applicable,
                Sla.unit,
            )
            .select_from(SlaMeasurement)
            .join(Sla, Sla.id == SlaMeasurement.sla_id)
            .join(Partnership, Partnership.id == Sla.partnership_id)
            .outerjoin(person, person.id == SlaMeasurement.entered_by_id)
        )
        return query, columns
    if name == "imports":
        columns = {
            "partnership": Partnership.name,
            "title": SurveyImport.file_name,
            "who": _name(person),
            "date": SurveyImport.created_at,
        }
        query = (
            sa.select(
                SurveyImport.id.label("object_id"),
                SurveyImport.partnership_id.label("partnership_id"),
                Partnership.name.label("partnership_name"),
                SurveyImport.file_name.label("title"),
                _name(person).label("who"),
                SurveyImport.created_at.label("date"),
                SurveyImport.rows_added,
            )
            .select_from(SurveyImport)
            .join(Partnership, Partnership.id == SurveyImport.partnership_id)
            .outerjoin(person, person.id == SurveyImport.uploaded_by_id)
        )
        return query, columns
    who = _returned_by() if name == "returned" else _name(person)
    columns = {
        "partnership": Partnership.name,
        "title": ActionItem.title,
        "who": who,
        "date": ActionItem.due_on,
    }
    extra = {
        "verification": ActionItem.closed_on,
        "returned": _returned_at(),
        "due": ActionItem.status,
    }[name]
    query = (
        sa.select(
            ActionItem.id.label("object_id"),
            ActionItem.partnership_id.label("partnership_id"),
            Partnership.name.label("partnership_name"),
            ActionItem.title.label("title"),
            who.label("who"),
            ActionItem.due_on.label("date"),
            extra.label("extra"),
        )
        .select_from(ActionItem)
        .join(Partnership, Partnership.id == ActionItem.partnership_id)
        .outerjoin(person, person.id == ActionItem.owner_id)
    )
    return query, columns


def _extra(name: str, row: Any) -> str:
    if name == "actuals":
        return "Not applicable" if row.not_applicable else format_value(row.value, row.unit)
    if name == "imports":
        return f"{row.rows_added:,}"
    if name == "due":
        return str(row.extra).capitalize()
    value = row.extra
    if isinstance(value, dt.datetime):
        value = value.date()
    return f"{value.day} {value:%b %Y}" if value else ""


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if hasattr(value, "first_day"):
        return value.first_day
    return value


def _filtered(
    name: str, user: User, filters: QueueFilters, today: dt.date
) -> tuple[sa.Select, dict[str, Any]]:
    query, columns = _base(name)
    query = query.where(*_where(name, user.id, today + dt.timedelta(days=WITHIN_DAYS)))
    if filters.partnership_id:
        query = query.where(Partnership.id == filters.partnership_id)
    if QUEUES[name].dated_by_due and filters.due == "overdue":
        query = query.where(ActionItem.due_on < today)
    elif QUEUES[name].dated_by_due and filters.due == "week":
        query = query.where(
            ActionItem.due_on >= today,
            ActionItem.due_on <= today + dt.timedelta(days=WITHIN_DAYS),
        )
    return query, columns


def queue_rows(
    name: str,
    user: User,
    filters: QueueFilters,
    today: dt.date,
    page: object = 1,
    per_page: int | None = PER_PAGE,
) -> QueuePage:
    """One page of queue ``name`` for ``user`` (every row with ``per_page`` None: the CSV)."""
    queue = QUEUES[name]
    query, columns = _filtered(name, user, filters, today)
    order = columns[filters.sort]
    ordering = [
        order.desc() if filters.descending else order,
        columns["date"],
        sa.literal_column("object_id"),
    ]
    if per_page is None:
        total = 0
        window = page_window(0, 1, 1)
        result = db.session.execute(query.order_by(*ordering)).all()
    else:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
        window = page_window(total, page, per_page)
        result = db.session.execute(
            query.order_by(*ordering).offset(window.offset).limit(per_page)
        ).all()
    rows = [
        QueueRow(
            object_id=row.object_id,
            partnership_id=row.partnership_id,
            partnership_name=row.partnership_name,
            title=row.title,
            who=row.who or "Nobody yet",
            date=_date(row.date),
            extra=_extra(name, row),
            overdue=queue.dated_by_due and row.date is not None and row.date < today,
            month=str(row.date) if name == "actuals" else None,
        )
        for row in result
    ]
    partnerships = db.session.execute(
        sa.select(Partnership.id, Partnership.name)
        .where(Partnership.id.in_(_partnerships_where(user.id, queue.role)))
        .order_by(Partnership.name)
    ).all()
    return QueuePage(queue, rows, window, [(p.id, p.name) for p in partnerships])


def _count(name: str, user_id: UserId, horizon: Day) -> sa.ScalarSelect[int]:
    """How many rows queue ``name`` holds (from its own table, without the page's joins)."""
    query = sa.select(sa.func.count())
    if name == "actuals":
        query = query.select_from(SlaMeasurement).join(Sla, Sla.id == SlaMeasurement.sla_id)
    else:
        query = query.select_from(SurveyImport if name == "imports" else ActionItem)
    return query.where(*_where(name, user_id, horizon)).scalar_subquery()


@dataclass(frozen=True, slots=True)
class Counts:
    """What the navigation shows: each queue's length and the unread notifications."""

    queues: dict[str, int]
    unread: int
    roles: frozenset[Role]  # the queue-using roles the user holds (lead, provider)

    def of_role(self, role: Role) -> list[tuple[Queue, int]]:
        return [
            (QUEUES[name], count)
            for name, count in self.queues.items()
            if QUEUES[name].role is role
        ]

    @property
    def waiting(self) -> int:
        return sum(self.queues.values())


@functools.cache
def _counts_statement() -> sa.Select:
    """Every queue's length and which queue roles the user holds, as one statement with the
    user and the horizon as parameters: built once, its SQL compiled once (building it for
    each page cost more than running it)."""
    user_id = sa.bindparam("user_id", type_=sa.Integer)
    horizon = sa.bindparam("horizon", type_=sa.Date)
    return sa.select(
        *(
            _partnerships_where(user_id, role).exists().label(f"holds_{role.value}")
            for role in (Role.LEAD, Role.PROVIDER)
        ),
        *(_count(name, user_id, horizon).label(name) for name in QUEUES),
    )


@functools.cache
def _unread_statement() -> sa.Select:
    """The user's unread notifications and the installation's data version, in one small
    statement read on every page."""
    unread = (
        sa.select(sa.func.count())
        .select_from(Notification)
        .where(
            Notification.user_id == sa.bindparam("user_id", type_=sa.Integer),
            sa.text("notifications." + UNREAD_SQL),
        )
        .scalar_subquery()
    )
    return sa.select(unread.label("unread"), *data_version.installation_version_columns())


def _queue_counts(user_id: int, today: dt.date) -> tuple[dict[str, int], frozenset[Role]]:
    row = (
        db.session.execute(
            _counts_statement(),
            {"user_id": user_id, "horizon": today + dt.timedelta(days=WITHIN_DAYS)},
        )
        .one()
        ._mapping
    )
    held = frozenset(role for role in (Role.LEAD, Role.PROVIDER) if row[f"holds_{role.value}"])
    return {name: row[name] for name in QUEUES}, held


def counts(user: User, today: dt.date) -> Counts:
    """Every queue's length and the unread notifications. The queues are counted across all
    of the user's partnerships (for a lead of hundreds, tens of milliseconds): remembered per
    user and day under the installation's data version, which every write they count
    changes (action items and their updates, SLA actuals, survey imports, memberships,
    archiving: all audited). Notifications are not audited: read each time, with the version,
    in one query."""
    unread, newest_id, newest_at = db.session.execute(
        _unread_statement(), {"user_id": user.id}
    ).one()
    queues, held = data_version.remembered_across(
        "queues.counts",
        (user.id, today),
        lambda: _queue_counts(user.id, today),
        version=(newest_id, newest_at) if newest_id is not None else None,
    )
    return Counts(queues, unread, held)
