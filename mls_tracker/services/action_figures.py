"""Action plan figures for a period (PRODUCT.md §3), for many partnerships in two queries.

For a period from the first day of ``start`` to the last day of ``end``:

- **due** — items due in the period, cancelled items excluded (a cancelled item was neither
  done on time nor late);
- **closed on time** — of those, items done on or before their due date;
- **action plan health** = closed on time ÷ due, in %; no items due → no figure;
- **opened** — items created in the period; **closed** — items done in the period;
- **overdue** — items past their due date and not closed as of the period's last day (or
  today, for the current period): the figure as it stood then, not as it stands now;
- **median days to close** — over the items done in the period, days from creation to done.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import ActionItem, ActionStatus
from mls_tracker.periods import Month
from mls_tracker.sqlfunctions import month_key


@dataclass(frozen=True, slots=True)
class ActionFigures:
    due: int = 0
    closed_on_time: int = 0
    opened: int = 0
    closed: int = 0
    overdue: int = 0
    median_days_to_close: float | None = None

    @property
    def health(self) -> float | None:
        """Closed on time ÷ due, in %."""
        return None if not self.due else 100 * self.closed_on_time / self.due


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def _counts(first: dt.date, last: dt.date, today: dt.date) -> list[sa.ColumnElement[int]]:
    """Due, closed on time, opened, closed and overdue for the days ``first``…``last``, as
    sums over a partnership's items."""
    as_of = min(last, today)
    item = ActionItem
    in_period = item.due_on.between(first, last) & (item.status != ActionStatus.CANCELLED)
    done = item.status == ActionStatus.DONE

    def count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    return [
        count(in_period),
        count(in_period & done & (item.closed_on <= item.due_on)),
        count(
            (item.created_at >= _start_of(first))
            & (item.created_at < _start_of(last + dt.timedelta(days=1)))
        ),
        count(done & item.closed_on.between(first, last)),
        count(
            (item.due_on < as_of)
            & (item.created_at < _start_of(as_of + dt.timedelta(days=1)))
            & (item.closed_on.is_(None) | (item.closed_on > as_of))
        ),
    ]


def action_counts_by_month(
    partnership_ids: Sequence[int], months: Sequence[Month], today: dt.date
) -> dict[Month, dict[int, ActionFigures]]:
    """Each month's figures of each partnership, as ``action_figures`` for that month alone
    but without the median days to close, in one query whatever the number of months."""
    result = {month: {pid: ActionFigures() for pid in partnership_ids} for month in months}
    if not partnership_ids or not months:
        return result
    item = ActionItem
    columns = [c for m in months for c in _counts(m.first_day, m.last_day, today)]
    for pid, *values in db.session.execute(
        sa.select(item.partnership_id, *columns)
        .where(item.partnership_id.in_(partnership_ids))
        .group_by(item.partnership_id)
    ):
        for i, month in enumerate(months):
            due, on_time, opened, closed, overdue = (int(v) for v in values[5 * i : 5 * i + 5])
            result[month][pid] = ActionFigures(due, on_time, opened, closed, overdue)
    return result


def action_figures(
    partnership_ids: Sequence[int], start: Month, end: Month, today: dt.date
) -> dict[int, ActionFigures]:
    """The figures of each partnership for the months ``start``…``end``; every id is a key."""
    if not partnership_ids:
        return {}
    first, last = start.first_day, end.last_day
    item = ActionItem
    done = item.status == ActionStatus.DONE
    rows = db.session.execute(
        sa.select(item.partnership_id, *_counts(first, last, today))
        .where(item.partnership_id.in_(partnership_ids))
        .group_by(item.partnership_id)
    ).all()

    durations: dict[int, list[int]] = defaultdict(list)
    for partnership_id, created_at, closed_on in db.session.execute(
        sa.select(item.partnership_id, item.created_at, item.closed_on).where(
            item.partnership_id.in_(partnership_ids),
            done,
            item.closed_on.between(first, last),
        )
    ):
        durations[partnership_id].append(max(0, (closed_on - created_at.date()).days))

    figures = {pid: ActionFigures() for pid in partnership_ids}
    for pid, due, on_time, opened, closed, overdue in rows:
        days = durations.get(pid)
        figures[pid] = ActionFigures(
            due=int(due),
            closed_on_time=int(on_time),
            opened=int(opened),
            closed=int(closed),
            overdue=int(overdue),
            median_days_to_close=float(statistics.median(days)) if days else None,
        )
    return figures


@dataclass(frozen=True, slots=True)
class MonthFlow:
    """The action plan's flow in one month: items opened, done, and overdue at its end."""

    month: Month
    opened: int
    closed: int
    overdue: int


def monthly_flow(
    partnership_ids: Sequence[int], first: Month, last: Month, today: dt.date
) -> dict[int, list[MonthFlow]]:
    """Opened, closed and overdue-at-month-end per month from ``first`` to ``last``, for
    several partnerships in three queries whatever their number and the number of months."""
    months = [first]
    while months[-1] < last:
        months.append(months[-1].next())
    item = ActionItem
    start, end = _start_of(first.first_day), _start_of(last.last_day + dt.timedelta(days=1))
    opened: dict[tuple[int, str], int] = {}
    for pid, key, count in db.session.execute(
        sa.select(item.partnership_id, month_key(item.created_at), sa.func.count())
        .where(
            item.partnership_id.in_(partnership_ids),
            item.created_at >= start,
            item.created_at < end,
        )
        .group_by(item.partnership_id, month_key(item.created_at))
    ):
        opened[(pid, key)] = count
    closed: dict[tuple[int, str], int] = {}
    for pid, key, count in db.session.execute(
        sa.select(item.partnership_id, month_key(item.closed_on), sa.func.count())
        .where(
            item.partnership_id.in_(partnership_ids),
            item.status == ActionStatus.DONE,
            item.closed_on.between(first.first_day, last.last_day),
        )
        .group_by(item.partnership_id, month_key(item.closed_on))
    ):
        closed[(pid, key)] = count
    # Overdue at each month's end: one row per item that was ever overdue in the window.
    spans: dict[int, list[tuple[dt.date, dt.date | None, dt.date]]] = defaultdict(list)
    for pid, due_on, closed_on, created_at in db.session.execute(
        sa.select(item.partnership_id, item.due_on, item.closed_on, item.created_at).where(
            item.partnership_id.in_(partnership_ids),
            item.due_on < min(last.last_day, today),
            item.closed_on.is_(None) | (item.closed_on > first.last_day),
        )
    ):
        spans[pid].append((due_on, closed_on, created_at.date()))
    result: dict[int, list[MonthFlow]] = {}
    for pid in partnership_ids:
        flows = []
        for month in months:
            as_of = min(month.last_day, today)
            key = f"{month.year:04d}-{month.month:02d}"
            overdue = sum(
                1
                for due_on, closed_on, created_on in spans.get(pid, ())
                if due_on < as_of
                and created_on <= as_of
                and (closed_on is None or closed_on > as_of)
            )
            flows.append(
                MonthFlow(
                    month=month,
                    opened=opened.get((pid, key), 0),
                    closed=closed.get((pid, key), 0),
                    overdue=overdue,
                )
            )
        result[pid] = flows
    return result
