"""Figures loaded for many partnerships at once (the portfolio): the same answers as one at a
time, in a number of queries that does not grow with the number of partnerships."""

from __future__ import annotations

import datetime as dt

from mls_tracker.extensions import db
from mls_tracker.models import Side
from mls_tracker.periods import Month
from mls_tracker.services import sla_figures, sponsors
from tests.factories import add_measurement, create_sla, create_sponsor
from tests.test_partnerships import count_queries


def test_coverage_history_of_several_partnerships(app, world):
    emea, apac = world.partnership.regions  # the world's sponsor covers EMEA from its start
    create_sponsor(
        world.other,
        apac,
        Side.CLIENT,
        "Ana Other",
        start=dt.date(2026, 3, 1),
        end=dt.date(2026, 5, 31),
    )
    db.session.commit()
    ids = [world.partnership.id, world.other.id]
    days = [dt.date(2026, 2, 28), dt.date(2026, 4, 30), dt.date(2026, 6, 30)]
    with count_queries() as queries:
        history = sponsors.coverage_history(ids, days)
    assert len(queries) == 2
    for day in days:
        assert history[ids[0]][day] == sponsors.coverage(ids[0], day)
    assert [history[ids[1]][day] for day in days] == [0.0, 1.0, 0.0]
    assert sponsors.coverage(ids[0], dt.date(2026, 4, 30)) == 0.5  # EMEA of EMEA + APAC


def test_sla_series_of_several_partnerships(app, world):
    other_sla = create_sla(world.other, None, "OTH-01")
    add_measurement(other_sla, Month(2026, 1), 97)
    db.session.commit()
    ids = [world.partnership.id, world.other.id]
    with count_queries() as one:
        alone = sla_figures.load_sla_series(ids[0], Month(2025, 1), Month(2026, 12))
    with count_queries() as both:
        many = sla_figures.load_sla_series_many(ids, Month(2025, 1), Month(2026, 12))
    assert len(one) == len(both) == 3
    assert many[ids[0]] == alone
    assert [s.code for s in many[ids[1]]] == ["OTH-01"]
    assert list(many[ids[1]][0].measurements) == [Month(2026, 1)]
