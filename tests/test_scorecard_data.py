"""The scorecard's figures (``build_scorecard_data``), worked out by hand on a small world,
their JSON form, the number of queries, and every partnership of the demo."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import (
    ActionStatus,
    Change,
    ChangeStatus,
    ChangeType,
    Direction,
    Partnership,
    ReviewKind,
    Side,
    Sla,
    SurveyResponse,
    Unit,
    Win,
)
from mls_tracker.periods import Month
from mls_tracker.scorecards.build import build_scorecard_data
from mls_tracker.scorecards.snapshot import dump, load
from mls_tracker.services import dashboard
from tests.demo_snapshot import demo_database
from tests.factories import (
    World,
    add_measurement,
    create_action,
    create_expectation,
    create_meeting,
    create_region,
    create_sla,
    create_sponsor,
)

TODAY = dt.date(2026, 11, 15)
OCT = Month(2026, 10)
SEP = Month(2026, 9)
Q3 = (Month(2026, 7), Month(2026, 9))


@contextmanager
def count_queries() -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def add_responses(
    partnership: Partnership,
    month: Month,
    ratings: list[int | None],
    recommends: list[int | None] | None = None,
    *,
    region=None,
    program: str | None = None,
) -> None:
    """Survey responses of one month: the i-th has ``ratings[i]`` and ``recommends[i]``."""
    recommends = recommends or [None] * len(ratings)
    start = db.session.scalar(sa.select(sa.func.count(SurveyResponse.id))) or 0
    for i, (rating, recommend) in enumerate(zip(ratings, recommends, strict=True)):
        db.session.add(
            SurveyResponse(
                partnership_id=partnership.id,
                response_key=f"r{start + i}",
                submitted_at=dt.datetime(month.year, month.month, 3, 12, tzinfo=dt.UTC),
                month=month,
                program=program,
                region_id=region.id if region else None,
                rating=rating,
                recommend=recommend,
            )
        )
    db.session.flush()


def action(partnership, title, *, created: dt.date, due: dt.date, status=ActionStatus.OPEN,
           closed: dt.date | None = None):  # fmt: skip
    item = create_action(partnership, title, due_on=due, status=status)
    item.created_at = dt.datetime.combine(created, dt.time(9), tzinfo=dt.UTC)
    item.closed_on = closed
    db.session.flush()
    return item


@dataclass
class Small:
    """The small world's objects the tests look at."""

    world: World
    wld: Sla  # world's SLA: weight 1, ≥ 90 met, ≥ 85 at risk
    a: Sla  # weight 3, ≥ 90 / ≥ 85
    b: Sla  # weight 1, lower is better: ≤ 24 h met, ≤ 48 h at risk
    c: Sla  # weight 2, never measured
    win: Win


def build_small(world: World) -> Small:
    """Figures worked out by hand in the tests below (today 15 Nov 2026).

    October 2026: WLD-01 92 met (w1), A 88 at risk (w3), B 12 h met (w1), C missing (w2)
    → attainment (1 + 1) ÷ (1 + 3 + 1) = 40.0 %, 3 of 4 SLAs measured, 1 missing.
    Q3 2026: WLD-01 95 met / 80 breached / 91 met; A 91 met / 91 met / —; B 30 h at risk /
    10 h proposed only / 20 h met; C —. Met weight 2 + 6 + 1 = 9 of 3 + 6 + 2 = 11 measured
    → 81.8 %.
    """
    p, lead = world.partnership, world.lead
    wld = db.session.get(Sla, world.ids["sla_id"])
    expectation = create_expectation(p, "Reports arrive on time", revisit_by=dt.date(2026, 9, 1))
    a = create_sla(p, expectation, "A-01", weight=3)
    b = create_sla(
        p, expectation, "B-01", direction=Direction.LOWER_IS_BETTER, unit=Unit.HOURS,
        target=24, at_risk=48,
    )  # fmt: skip
    c = create_sla(p, expectation, "C-01", weight=2)
    for sla, month, value in (
        (wld, OCT, 92), (a, OCT, 88), (b, OCT, 12),
        (wld, Month(2026, 7), 95), (wld, Month(2026, 8), 80), (wld, SEP, 91),
        (a, Month(2026, 7), 91), (a, Month(2026, 8), 91),
        (b, Month(2026, 7), 30), (b, SEP, 20),
    ):  # fmt: skip
        add_measurement(sla, month, value, confirmed_by=lead, note=f"{sla.code} {month}")
    add_measurement(b, Month(2026, 8), 10)  # proposed only: missing for attainment

    # Satisfaction. October: 12 ratings, 9 of them 4–5; 6 promoters, 3 passives, 3 detractors.
    emea = world.partnership.regions[0]
    add_responses(
        p, OCT, [5, 5, 5, 4, 4, 4, 4, 5, 4], [10, 9, 9, 10, 9, 9, 8, 7, 8],
        region=emea, program="Leadership",
    )  # fmt: skip
    add_responses(p, OCT, [1, 2, 3], [3, 5, 6], program="Onboarding")
    # Q3: July 8 ratings (6 satisfied), September 2 (none): 6 of 10 = 60 %, not (75 + 0) ÷ 2.
    add_responses(p, Month(2026, 7), [5, 5, 4, 4, 5, 4, 2, 3])
    add_responses(p, SEP, [1, 2])

    # Actions of October (as of 31 Oct)
    oct1 = dt.date(2026, 10, 1)
    action(p, "On time", created=oct1, due=dt.date(2026, 10, 10), status=ActionStatus.DONE,
           closed=dt.date(2026, 10, 8))  # fmt: skip
    action(p, "Late", created=oct1, due=dt.date(2026, 10, 20), status=ActionStatus.DONE,
           closed=dt.date(2026, 10, 25))  # fmt: skip
    action(p, "Overdue", created=oct1, due=dt.date(2026, 10, 25))
    action(p, "Cancelled", created=oct1, due=dt.date(2026, 10, 5), status=ActionStatus.CANCELLED,
           closed=dt.date(2026, 10, 6))  # fmt: skip
    action(p, "Due next", created=oct1, due=dt.date(2026, 11, 10))
    # Q3: one of two due items closed on time
    action(p, "Q3 on time", created=dt.date(2026, 7, 1), due=dt.date(2026, 7, 10),
           status=ActionStatus.DONE, closed=dt.date(2026, 7, 9))  # fmt: skip
    action(p, "Q3 still open", created=dt.date(2026, 7, 1), due=dt.date(2026, 9, 30))

    # Governance: EMEA has Erika (client), APAC nobody → coverage 50 %, APAC a gap.
    meeting_sponsor = create_sponsor(p, emea, Side.PROVIDER, "Paul Provider")
    create_meeting(p, dt.date(2026, 10, 6), present=(meeting_sponsor,))
    win = Win(partnership_id=p.id, title="Award shortlisted", won_on=dt.date(2026, 10, 12),
              region_id=emea.id, shareable=True)  # fmt: skip
    db.session.add(win)
    db.session.add(
        Change(partnership_id=p.id, title="New LMS", change_type=ChangeType.TECHNOLOGY,
               planned_on=dt.date(2026, 12, 1), status=ChangeStatus.PLANNED)
    )  # fmt: skip
    db.session.commit()
    return Small(world, wld, a, b, c, win)


@pytest.fixture
def small(world: World) -> Small:
    return build_small(world)


def _build(small: Small, kind=ReviewKind.MONTHLY, first=OCT, last=OCT, **kwargs):
    return build_scorecard_data(small.world.partnership.id, kind, first, last, TODAY, **kwargs)


# ----------------------------------------------------------------------------- a month


def test_month_sla_attainment_counts_weights_and_never_a_missing_sla_as_met(small):
    data = _build(small)
    assert data.slas.attainment == 40.0
    assert (data.slas.measured, data.slas.total, data.slas.missing) == (3, 4, 1)
    rows = {row.code: row for row in data.slas.rows}
    assert rows["C-01"].status == "missing" and rows["C-01"].actual is None
    assert rows["A-01"].status == "at risk" and rows["A-01"].actual == 88.0
    assert rows["B-01"].status == "met" and rows["B-01"].direction == "lower is better"
    assert (rows["A-01"].target, rows["A-01"].at_risk, rows["A-01"].weight) == (90.0, 85.0, 3.0)
    assert rows["WLD-01"].note == "WLD-01 2026-10"
    # the last six months of each SLA, oldest first; a proposed-only month says so
    assert [p.month for p in rows["B-01"].trend] == [Month(2026, m) for m in range(5, 11)]
    assert [p.status for p in rows["B-01"].trend][-4:] == ["at risk", "proposed", "met", "met"]
    tile = data.tiles[0]
    assert (tile.key, tile.value, tile.detail) == ("sla", 40.0, "3 of 4 SLAs measured · 1 missing")
    # 12 months of attainment for the chart, ending with the period
    assert len(data.slas.series) == 12 and data.slas.series[-1].month == OCT
    point = data.slas.series[-1]
    assert (point.percent, point.met, point.at_risk, point.missing) == (40.0, 2, 1, 1)


def test_month_satisfaction_reports_n_and_intervals(small):
    total = _build(small).satisfaction.total
    assert (total.n_rating, total.csat, total.n_recommend, total.nps) == (12, 75.0, 12, 25.0)
    # Wilson 95 % for 9 of 12: centre 0.689, half-width 0.222
    assert (total.csat_low, total.csat_high) == (46.8, 91.1)
    # 1.96 · √((0.5 + 0.25 − 0.25²) / 12) · 100
    assert total.nps_moe == 46.9
    assert total.mean_rating == round((5 * 3 + 4 * 5 + 5 + 1 + 2 + 3) / 12, 2)
    assert total.low_sample is False and total.source == "computed"
    data = _build(small)
    by_region = {f.label: f for f in data.satisfaction.by_region}
    assert by_region["EMEA"].n_rating == 9 and by_region["EMEA"].csat == 100.0
    assert by_region["No region"].n_rating == 3 and by_region["No region"].low_sample
    by_program = {f.label: f.csat for f in data.satisfaction.by_program}
    assert by_program == {"Leadership": 100.0, "Onboarding": 0.0}
    months = [f.month for f in data.satisfaction.by_month]
    assert months == [Month(2026, 7), SEP, OCT]
    assert data.satisfaction.by_month[1].low_sample  # n = 2


def test_month_action_plan_health_and_lists(small):
    actions = _build(small).actions
    # due in October, cancelled excluded: On time, Late, Overdue → 1 of 3 closed on time
    assert (actions.due, actions.closed_on_time, actions.health) == (3, 1, 33.3)
    # overdue on 31 October: "Overdue" and the quarter's "Q3 still open"
    assert (actions.opened, actions.closed, actions.overdue) == (5, 2, 2)
    assert [(row.title, row.overdue) for row in actions.open_items] == [
        ("Q3 still open", True),
        ("Overdue", True),
        ("Due next", False),
    ]
    assert actions.next_review_on == dt.date(2026, 11, 30)  # no meeting planned: next month's end
    assert [row.title for row in actions.due_next] == ["Due next"]
    assert [row.title for row in actions.closed_items] == ["Late", "On time"]
    assert actions.flow[-1].month == OCT and actions.flow[-1].opened == 5


def test_month_coverage_gap_meetings_and_the_rest_of_governance(small):
    data = _build(small)
    gov = data.governance
    assert gov.coverage_percent == 50.0
    assert [(row.region, row.gap) for row in gov.coverage] == [("EMEA", False), ("APAC", True)]
    emea = gov.coverage[0]
    assert [s.name for s in emea.client] == ["Erika Sponsor"]
    assert [(s.name, s.attended, s.held) for s in emea.provider] == [("Paul Provider", 1, 1)]
    assert [(m.held_on, m.present, m.invited) for m in gov.meetings] == [
        (dt.date(2026, 10, 6), 1, 1)
    ]
    assert [e.statement for e in gov.expectations_due] == ["Reports arrive on time"]
    assert [c.title for c in gov.changes] == ["New LMS"]
    assert [w.title for w in gov.wins] == ["Award shortlisted"]
    tile = data.tiles[3]
    assert (tile.value, tile.detail) == (50.0, "1 of 2 regions have a client sponsor")


def test_month_health_is_the_weighted_mean_and_the_dashboards_figure(small):
    data = _build(small)
    # (40 · 40 + 75 · 25 + 33.3… · 20 + 50 · 15) ÷ 100 = 48.9 → 49, red
    assert (data.health.score, data.health.rag, data.health.left_out) == (49, "red", ())
    p = small.world.partnership
    figures = dashboard.month_figures([p], OCT, OCT, TODAY)[p.id][-1]
    assert figures.health.score == data.health.score
    assert data.health_series[-1].score == data.health.score
    assert [t.value for t in data.tiles] == [40.0, 75.0, 33.3, 50.0]
    # previous: September computed (no review): WLD-01 met, B met, A and C missing → 100 %
    assert data.previous_label == "September 2026, from today's data (no scorecard was issued)"
    assert data.tiles[0].previous == 100.0
    assert data.tiles[1].previous == 0.0  # September: two ratings, neither 4 nor 5


def test_components_without_data_are_left_out(world):
    other = world.other  # nothing but a region without a sponsor
    data = build_scorecard_data(other.id, ReviewKind.MONTHLY, OCT, OCT, TODAY)
    assert data.health.left_out == (
        "SLA attainment",
        "Learner satisfaction",
        "Action plan health",
    )
    # coverage 0 % alone carries 15 % of the weight: not enough data for a score (issue 15)
    assert (data.health.score, data.health.rag) == (None, None)
    assert data.health.weights == (("Sponsor coverage", 100.0),)
    assert data.tiles[0].value is None and data.tiles[0].detail == "No SLA measured this month"


# ----------------------------------------------------------------------------- a quarter


def test_quarter_figures(small):
    data = _build(small, ReviewKind.QUARTERLY, *Q3)
    assert data.period.label == "Q3 2026 (Jul–Sep 2026)"
    assert data.slas.attainment == 81.8  # 9 ÷ 11 by weight over the SLA-months
    assert (data.slas.measured, data.slas.missing) == (3, 1)
    rows = {row.code: row for row in data.slas.rows}
    assert rows["WLD-01"].actual == 91.0  # the quarter's last month
    # every response of the quarter: 6 of 10 ratings are 4–5
    total = data.satisfaction.total
    assert (total.n_rating, total.csat, total.low_sample) == (10, 60.0, False)
    assert (data.actions.due, data.actions.closed_on_time, data.actions.health) == (2, 1, 50.0)
    assert data.actions.overdue == 0  # due 30 Sep, the quarter's last day
    assert data.governance.coverage_percent == 50.0
    # previous: Q2 2026, computed, had nothing measured
    assert data.previous_label == (
        "Q2 2026 (Apr–Jun 2026), from today's data (no scorecard was issued)"
    )
    assert data.tiles[0].previous is None
    # the next governance meeting after the quarter: 6 October
    assert data.actions.next_review_on == dt.date(2026, 10, 6)


def test_quarter_of_reported_totals_only_is_marked_reported(world):
    from mls_tracker.models import ReportedSatisfaction

    p = world.partnership
    for month, n, csat in ((Month(2026, 7), 40, 80), (Month(2026, 8), 10, 60)):
        db.session.add(
            ReportedSatisfaction(partnership_id=p.id, month=month, responses=n, csat=csat)
        )
    db.session.commit()
    total = build_scorecard_data(p.id, ReviewKind.QUARTERLY, *Q3, TODAY).satisfaction.total
    # weighted by n: (80 · 40 + 60 · 10) ÷ 50 = 76
    assert (total.source, total.n_rating, total.csat) == ("reported", 50, 76.0)
    assert total.csat_low is not None and total.csat_low < 76.0 < total.csat_high


def test_previous_tiles_come_from_the_snapshot_given(small):
    september = _build(small, ReviewKind.MONTHLY, SEP, SEP)
    data = _build(small, previous=september)
    assert data.previous_label == "Review of September 2026, as issued"
    assert [t.previous for t in data.tiles] == [t.value for t in september.tiles]
    assert data.health.previous == september.health.score


def test_featured_wins_in_the_order_given(small):
    data = _build(small, featured_win_ids=[small.win.id, 999_999], executive_summary="Good")
    assert [w.title for w in data.featured_wins] == ["Award shortlisted"]
    assert data.executive_summary == "Good"


# ----------------------------------------------------------------------------- the JSON form


def test_round_trip_and_json(small):
    for kind, first, last in ((ReviewKind.MONTHLY, OCT, OCT), (ReviewKind.QUARTERLY, *Q3)):
        data = _build(small, kind, first, last, featured_win_ids=[small.win.id])
        text = json.dumps(dump(data))
        assert load(json.loads(text)) == data


def test_load_refuses_an_unknown_schema(small):
    stored = dump(_build(small))
    stored["schema"] = 999
    with pytest.raises(ValueError, match="schema"):
        load(stored)


# ----------------------------------------------------------------------------- queries


def _grow(world: World, partnership: Partnership, size: int) -> None:
    """One of everything (size 1) or many (size > 1) in ``partnership``."""
    lead = world.lead
    region = partnership.regions[0]
    expectation = create_expectation(partnership, revisit_by=dt.date(2026, 1, 1))
    for i in range(size):
        sla = create_sla(partnership, expectation, f"S-{i:02d}")
        for m in range(1, 11):
            add_measurement(sla, Month(2026, m), 80 + i % 15, confirmed_by=lead)
        add_responses(partnership, OCT, [4, 5, 3], [9, 10, 2], region=region, program=f"P{i}")
        sponsor = create_sponsor(partnership, region, Side.CLIENT, f"Sponsor {i}")
        create_meeting(partnership, dt.date(2026, 10, 1 + i % 28), present=(sponsor,))
        action(partnership, f"Item {i}", created=dt.date(2026, 9, 1), due=dt.date(2026, 10, 9))
        db.session.add(Win(partnership_id=partnership.id, title=f"Win {i}",
                           won_on=dt.date(2026, 10, 2)))  # fmt: skip
        db.session.add(
            Change(partnership_id=partnership.id, title=f"Change {i}",
                   change_type=ChangeType.TECHNOLOGY, planned_on=dt.date(2026, 12, 1))
        )  # fmt: skip
    db.session.commit()


def test_query_count_does_not_grow_with_the_data(world):
    other_region = create_region("LATAM", 3)
    world.other.regions.append(other_region)
    _grow(world, world.partnership, 1)
    _grow(world, world.other, 25)
    counts = []
    for partnership in (world.partnership, world.other):
        for kind, first, last in ((ReviewKind.MONTHLY, OCT, OCT), (ReviewKind.QUARTERLY, *Q3)):
            db.session.expire_all()
            with count_queries() as statements:
                build_scorecard_data(partnership.id, kind, first, last, TODAY)
            counts.append(len(statements))
    assert counts[0] == counts[2] and counts[1] == counts[3], counts
    # the first build computes the monthly figures cache, the second reads it; on PostgreSQL
    # storing it adds the lock_timeout set and restored around the upsert (two statements)
    assert max(counts) <= 74, counts


# ----------------------------------------------------------------------------- the demo


def test_every_demo_partnership_builds(app):
    demo_database(today=TODAY)
    partnerships = db.session.scalars(sa.select(Partnership)).all()
    assert partnerships
    for partnership in partnerships:
        for kind, first, last in ((ReviewKind.MONTHLY, OCT, OCT), (ReviewKind.QUARTERLY, *Q3)):
            data = build_scorecard_data(partnership.id, kind, first, last, TODAY)
            assert load(json.loads(json.dumps(dump(data)))) == data
            assert data.health.score is not None
            assert data.slas.rows and len(data.health_series) == 12
