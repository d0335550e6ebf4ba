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


def action_figures(
    partnership_ids: Sequence[int], start: Month, end: Month, today: dt.date
) -> dict[int, ActionFigures]:
    """The figures of each partnership for the months ``start``…``end``; every id is a key."""
    if not partnership_ids:
        return {}
    first, last = start.first_day, end.last_day
    as_of = min(last, today)
    item = ActionItem
    in_period = item.due_on.between(first, last) & (item.status != ActionStatus.CANCELLED)
    done = item.status == ActionStatus.DONE

    def count(condition: sa.ColumnElement[bool]) -> sa.Label[int]:
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    rows = db.session.execute(
        sa.select(
            item.partnership_id,
            count(in_period).label("due"),
            count(in_period & done & (item.closed_on <= item.due_on)).label("on_time"),
            count(
                (item.created_at >= _start_of(first))
                & (item.created_at < _start_of(last + dt.timedelta(days=1)))
            ).label("opened"),
            count(done & item.closed_on.between(first, last)).label("closed"),
            count(
                (item.due_on < as_of)
                & (item.created_at < _start_of(as_of + dt.timedelta(days=1)))
                & (item.closed_on.is_(None) | (item.closed_on > as_of))
            ).label("overdue"),
        )
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
