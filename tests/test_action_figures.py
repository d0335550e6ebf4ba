"""Action plan figures of a period, worked by hand."""

from __future__ import annotations

import datetime as dt

from mls_tracker.extensions import db
from mls_tracker.models import ActionStatus
from mls_tracker.periods import Month
from mls_tracker.services.action_figures import (
    action_counts_by_month,
    action_figures,
    monthly_flow,
)
from tests.factories import create_action
from tests.test_partnerships import count_queries

UTC = dt.UTC
MARCH = Month(2026, 3)


def _item(partnership, due_on, *, created, status=ActionStatus.OPEN, closed_on=None):
    item = create_action(partnership, due_on=due_on, status=status)
    item.created_at = dt.datetime.combine(created, dt.time(9), tzinfo=UTC)
    item.closed_on = closed_on
    db.session.flush()
    return item


def test_figures_of_a_month(app, world):
    p = world.partnership
    d = dt.date
    # Due in March: done on time, done late, still open, cancelled (ignored) → 1 of 3 on time.
    _item(
        p, d(2026, 3, 10), created=d(2026, 2, 1), status=ActionStatus.DONE, closed_on=d(2026, 3, 9)
    )
    _item(
        p, d(2026, 3, 12), created=d(2026, 3, 2), status=ActionStatus.DONE, closed_on=d(2026, 3, 20)
    )
    _item(p, d(2026, 3, 20), created=d(2026, 3, 5))
    _item(
        p,
        d(2026, 3, 25),
        created=d(2026, 3, 5),
        status=ActionStatus.CANCELLED,
        closed_on=d(2026, 3, 6),
    )
    # Due in February, done in April: overdue at the end of March, not any more.
    _item(
        p, d(2026, 2, 20), created=d(2026, 1, 10), status=ActionStatus.DONE, closed_on=d(2026, 4, 2)
    )
    # Due in April: not due in March, not overdue.
    _item(p, d(2026, 4, 15), created=d(2026, 3, 30))
    db.session.commit()

    figures = action_figures([p.id, world.other.id], MARCH, MARCH, today=d(2026, 11, 1))
    march = figures[p.id]
    assert (march.due, march.closed_on_time) == (3, 1)
    assert march.health == 100 / 3
    # Opened in March: created 2, 5, 5, 30 March.
    assert march.opened == 4
    # Done in March: closed 9 and 20 March (the cancelled one is not "closed" as done).
    assert march.closed == 2
    # Overdue on 31 March: open item due 20 March, item due 20 Feb closed in April.
    assert march.overdue == 2
    # Days to close: 1 Feb → 9 Mar = 36 days, 2 Mar → 20 Mar = 18 days → median 27.
    assert march.median_days_to_close == 27
    # A partnership without items has zeros and no health.
    assert figures[world.other.id].due == 0
    assert figures[world.other.id].health is None


def test_overdue_of_the_current_month_is_as_of_today(app, world):
    d = dt.date
    _item(world.partnership, d(2026, 3, 10), created=d(2026, 3, 1))
    _item(world.partnership, d(2026, 3, 20), created=d(2026, 3, 1))
    db.session.commit()
    figures = action_figures([world.partnership.id], MARCH, MARCH, today=d(2026, 3, 15))
    assert figures[world.partnership.id].overdue == 1


def test_a_quarter_and_a_constant_number_of_queries(app, world):
    d = dt.date
    for month in (1, 2, 3):
        _item(
            world.partnership,
            d(2026, month, 5),
            created=d(2026, 1, 1),
            status=ActionStatus.DONE,
            closed_on=d(2026, month, 4),
        )
    db.session.commit()
    ids = [world.partnership.id, world.other.id]
    with count_queries() as one:
        figures = action_figures(ids[:1], Month(2026, 1), MARCH, d(2026, 6, 1))
    assert figures[ids[0]].due == 3
    assert figures[ids[0]].health == 100
    with count_queries() as two:
        action_figures(ids, Month(2026, 1), MARCH, d(2026, 6, 1))
    assert len(one) == len(two) == 2


def test_monthly_flow(app, world):
    d = dt.date
    p = world.partnership
    # Created in January, due 10 Feb, done 5 March: overdue at the end of February only.
    _item(
        p, d(2026, 2, 10), created=d(2026, 1, 20), status=ActionStatus.DONE, closed_on=d(2026, 3, 5)
    )
    # Created in February, due 20 Feb, done on time the same month.
    _item(
        p, d(2026, 2, 20), created=d(2026, 2, 3), status=ActionStatus.DONE, closed_on=d(2026, 2, 19)
    )
    # Created in March, due 15 March, still open: overdue at the end of March and April.
    _item(p, d(2026, 3, 15), created=d(2026, 3, 1))
    db.session.commit()
    ids = [p.id, world.other.id]
    with count_queries() as queries:
        flows = monthly_flow(ids, Month(2026, 1), Month(2026, 4), today=d(2026, 4, 10))
    assert len(queries) == 3
    assert [(f.month.month, f.opened, f.closed, f.overdue) for f in flows[ids[0]]] == [
        (1, 1, 0, 0),
        (2, 1, 1, 1),
        (3, 1, 1, 1),
        (4, 0, 0, 1),  # as of today, 10 April
    ]
    assert [f.opened + f.closed + f.overdue for f in flows[ids[1]]] == [0, 0, 0, 0]


def test_counts_by_month_in_one_query_are_each_month_s_figures(app, world):
    """``action_counts_by_month`` (the monthly figures cache's source) gives, for every month,
    what ``action_figures`` gives for that month alone, in one query however many months."""
    d = dt.date
    p = world.partnership
    _item(
        p, d(2026, 1, 20), created=d(2026, 1, 2), status=ActionStatus.DONE, closed_on=d(2026, 3, 3)
    )
    _item(
        p, d(2026, 2, 10), created=d(2026, 1, 5), status=ActionStatus.DONE, closed_on=d(2026, 2, 9)
    )
    _item(p, d(2026, 2, 25), created=d(2026, 2, 1))
    _item(
        p,
        d(2026, 3, 5),
        created=d(2026, 2, 3),
        status=ActionStatus.CANCELLED,
        closed_on=d(2026, 3, 1),
    )
    _item(p, d(2026, 3, 30), created=d(2026, 3, 2))
    db.session.commit()
    months = [Month(2026, m) for m in (1, 2, 3, 4)]
    ids = [p.id, world.other.id]
    today = d(2026, 4, 10)  # April is the current month: overdue as of today
    with count_queries() as queries:
        by_month = action_counts_by_month(ids, months, today)
    assert len(queries) == 1
    for month in months:
        alone = action_figures(ids, month, month, today)
        for pid in ids:
            expected = alone[pid]
            got = by_month[month][pid]
            assert (got.due, got.closed_on_time, got.opened, got.closed, got.overdue) == (
                expected.due,
                expected.closed_on_time,
                expected.opened,
                expected.closed,
                expected.overdue,
            ), (month, pid)
    assert by_month[Month(2026, 2)][p.id].overdue == 2  # the one due in January, closed in March
    assert by_month[Month(2026, 4)][p.id].overdue == 2  # as of 10 April
