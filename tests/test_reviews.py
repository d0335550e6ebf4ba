"""Reviews: opening one freezes its figures; the lead's summary and featured wins; refreshing;
the previous review; comparing two scorecards; and the scorecard's charts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json

import plotly.graph_objects as go
import pytest
import sqlalchemy as sa

from mls_tracker import charts
from mls_tracker.extensions import db
from mls_tracker.models import AuditEntry, Review, ReviewKind, Scorecard, Win
from mls_tracker.periods import Month
from mls_tracker.scorecards.build import build_scorecard_data
from mls_tracker.scorecards.charts import ScorecardChart, scorecard_figures
from mls_tracker.scorecards.snapshot import ScorecardData, SponsorFacts, dump, load
from mls_tracker.services import reviews
from mls_tracker.services.errors import Conflict, PermissionDenied, ValidationFailed
from tests.factories import add_measurement
from tests.test_scorecard_data import (
    OCT,
    Q3,
    SEP,
    TODAY,
    Small,
    add_responses,
    build_small,
    count_queries,
)


@pytest.fixture
def small(world) -> Small:
    return build_small(world)


def _open(small: Small, first: Month = OCT, kind=ReviewKind.MONTHLY, who: str = "lead"):
    return reviews.open_review(
        small.world.user(who),
        small.world.partnership.id,
        kind=kind,
        first_month=first,
        today=TODAY,
    )


def _issue(review: Review, user) -> Scorecard:
    """A scorecard row as the issuing engine writes it (its PDF is not the point here)."""
    data = reviews.review_data(review)
    pdf = b"%PDF-1.7 test"
    scorecard = Scorecard(
        review_id=review.id,
        version=len(review.scorecards) + 1,
        issued_by_id=user.id,
        sha256=hashlib.sha256(pdf).hexdigest(),
        pdf=pdf,
        snapshot=dump(data),
    )
    db.session.add(scorecard)
    db.session.commit()
    return scorecard


# ----------------------------------------------------------------------------- opening


def test_open_review_freezes_the_figures(small):
    review = _open(small)
    assert (review.kind, review.first_month, review.last_month) == (ReviewKind.MONTHLY, OCT, OCT)
    assert review.created_by_id == small.world.lead.id
    data = reviews.review_data(review)
    assert data.slas.attainment == 40.0 and data.period.label == "October 2026"
    json.dumps(review.snapshot)
    audit = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.object_type == "Review")
    ).all()
    assert [(a.action.value, a.actor_id) for a in audit] == [("insert", small.world.lead.id)]


def test_a_new_measurement_changes_nothing_until_refreshed(small):
    review = _open(small)
    add_measurement(small.c, OCT, 95, confirmed_by=small.world.lead)  # C now met
    db.session.commit()
    assert reviews.review_data(db.session.get(Review, review.id)).slas.attainment == 40.0
    reviews.refresh_review(small.world.lead, review.id, TODAY)
    # met (1 + 1 + 2) ÷ measured (1 + 3 + 1 + 2) = 57.1 %
    data = reviews.review_data(db.session.get(Review, review.id))
    assert data.slas.attainment == 57.1 and data.slas.missing == 0


def test_a_quarter(small):
    review = _open(small, Q3[0], ReviewKind.QUARTERLY)
    assert (review.first_month, review.last_month) == Q3
    assert reviews.review_data(review).slas.attainment == 81.8


@pytest.mark.parametrize(
    ("first", "kind", "message"),
    [
        (Month(2026, 12), ReviewKind.MONTHLY, r"December 2026 is not over yet: .*October 2026"),
        (Month(2026, 11), ReviewKind.MONTHLY, r"November 2026 is not over yet"),
        (
            Month(2026, 10),
            ReviewKind.QUARTERLY,
            r"Q4 2026 \(Oct–Dec 2026\) is not over yet: a "
            r"review covers a complete quarter \(the latest is Q3 2026",
        ),
        (Month(2026, 8), ReviewKind.QUARTERLY, "starts in January, April, July or October"),
    ],
)
def test_only_complete_periods_and_whole_quarters(small, first, kind, message):
    with pytest.raises(ValidationFailed, match=message) as error:
        _open(small, first, kind)
    assert error.value.field == "first_month"
    assert db.session.scalar(sa.select(sa.func.count(Review.id))) == 0


def test_a_period_is_reviewed_once(small):
    _open(small)
    with pytest.raises(ValidationFailed, match="October 2026 already has a review") as error:
        _open(small)
    assert error.value.field == "first_month"
    _open(small, Q3[0], ReviewKind.QUARTERLY)  # another period: fine


@pytest.mark.parametrize("who", ["provider", "sponsor", "viewer", "outsider"])
def test_only_a_lead_opens_and_edits(small, who):
    with pytest.raises(PermissionDenied):
        _open(small, who=who)
    review = _open(small)
    with pytest.raises(PermissionDenied):
        reviews.update_review(
            small.world.user(who),
            review.id,
            executive_summary="Mine",
            featured_win_ids=[],
            expected_version=review.version,
        )
    with pytest.raises(PermissionDenied):
        reviews.refresh_review(small.world.user(who), review.id, TODAY)


def test_an_admin_may_open(small):
    assert _open(small, who="admin").created_by_id == small.world.admin.id


# ----------------------------------------------------------------------------- editing


def test_update_summary_and_featured_wins(small):
    review = _open(small)
    second = Win(  # of the period: the cover features only wins the scorecard lists
        partnership_id=small.world.partnership.id, title="Second", won_on=dt.date(2026, 10, 1)
    )
    db.session.add(second)
    db.session.commit()
    updated = reviews.update_review(
        small.world.lead,
        review.id,
        executive_summary="  A strong month.  ",
        featured_win_ids=[small.win.id, second.id],
        expected_version=review.version,
    )
    assert updated.version == 2
    data = reviews.review_data(updated)
    assert data.executive_summary == "A strong month."
    assert [w.title for w in data.featured_wins] == ["Award shortlisted", "Second"]
    assert data.featured_wins[0].region == "EMEA"
    # only the wins: the version still moves
    again = reviews.update_review(
        small.world.lead,
        review.id,
        executive_summary="A strong month.",
        featured_win_ids=[],
        expected_version=2,
    )
    assert again.version == 3 and reviews.review_data(again).featured_wins == ()


def test_update_validation(small):
    review = _open(small)
    lead, version = small.world.lead, review.version
    with pytest.raises(ValidationFailed, match="4,000 characters") as error:
        reviews.update_review(
            lead, review.id, executive_summary="x" * 4001, featured_win_ids=[],
            expected_version=version,
        )  # fmt: skip
    assert error.value.field == "executive_summary"
    foreign = Win(partnership_id=small.world.other.id, title="Theirs", won_on=dt.date(2026, 9, 1))
    db.session.add(foreign)
    db.session.commit()
    with pytest.raises(ValidationFailed, match="wins of this partnership") as error:
        reviews.update_review(
            lead, review.id, executive_summary="", featured_win_ids=[foreign.id],
            expected_version=version,
        )  # fmt: skip
    assert error.value.field == "featured_win_ids"
    many = [Win(partnership_id=small.world.partnership.id, title=f"W{i}",
                won_on=dt.date(2026, 9, 1)) for i in range(6)]  # fmt: skip
    db.session.add_all(many)
    db.session.commit()
    with pytest.raises(ValidationFailed, match="at most 5 wins"):
        reviews.update_review(
            lead, review.id, executive_summary="", featured_win_ids=[w.id for w in many],
            expected_version=version,
        )  # fmt: skip
    assert db.session.get(Review, review.id).executive_summary is None


def test_a_stale_save_is_refused(small):
    review = _open(small)
    lead = small.world.lead
    reviews.update_review(
        lead, review.id, executive_summary="First", featured_win_ids=[], expected_version=1
    )
    with pytest.raises(Conflict, match="Someone else changed this review"):
        reviews.update_review(
            lead, review.id, executive_summary="Second", featured_win_ids=[], expected_version=1
        )
    assert db.session.get(Review, review.id).executive_summary == "First"


# ----------------------------------------------------------------------------- previous


def test_previous_tiles_are_what_the_executives_saw(small):
    lead = small.world.lead
    september = _open(small, SEP)
    issued = reviews.review_data(september)
    _issue(september, lead)
    # after issuing, two good ratings of September arrive: 2 of 4 satisfied now
    add_responses(small.world.partnership, SEP, [5, 5])
    db.session.commit()
    october = _open(small)
    assert reviews.previous_review(october).id == september.id
    data = reviews.review_data(october)
    assert data.previous_label == "Review of September 2026, as issued"
    assert [t.previous for t in data.tiles] == [t.value for t in issued.tiles]
    assert data.tiles[1].previous == 0.0  # as issued, not the 50 % September shows now
    assert data.health.previous == issued.health.score
    computed = build_scorecard_data(small.world.partnership.id, ReviewKind.MONTHLY, OCT, OCT, TODAY)
    assert computed.tiles[1].previous == 50.0


def test_a_review_without_a_scorecard_is_not_what_executives_saw(small):
    _open(small, SEP)  # a draft only
    data = reviews.review_data(_open(small))
    assert data.previous_label == "September 2026, from today's data (no scorecard was issued)"


def test_previous_review_prefers_the_same_kind(small):
    quarter = _open(small, Q3[0], ReviewKind.QUARTERLY)
    september = _open(small, SEP)
    october = _open(small)
    assert reviews.previous_review(october).id == september.id
    assert reviews.previous_review(quarter) is None
    fourth = Review(
        partnership_id=small.world.partnership.id,
        kind=ReviewKind.QUARTERLY,
        first_month=OCT,
        last_month=Month(2026, 12),
    )
    db.session.add(fourth)
    db.session.commit()
    assert reviews.previous_review(fourth).id == quarter.id


# ----------------------------------------------------------------------------- compare


def test_compare_real_reviews(small):
    september = reviews.review_data(_open(small, SEP))
    october = reviews.review_data(_open(small))
    comparison = reviews.compare(october, september)
    figures = {f.key: f for f in comparison.figures}
    assert list(figures) == [
        "health", "sla", "satisfaction", "actions", "coverage", "csat", "nps", "overdue",
    ]  # fmt: skip
    sla = figures["sla"]
    assert (sla.previous, sla.current, sla.change) == (100.0, 40.0, -60.0)
    assert (sla.direction, sla.better) == ("down", False)
    csat = figures["csat"]
    assert (csat.direction, csat.better) == ("up", True)  # 0 % → 75 %
    coverage = figures["coverage"]
    assert (coverage.direction, coverage.better, coverage.change) == ("same", None, 0.0)
    # A-01 was missing in September and is at risk now; nothing breached either month
    assert comparison.new_breaches == () and comparison.resolved_breaches == ()
    assert comparison.actions_closed == 2
    assert [i.title for i in comparison.closed_items] == ["Late", "On time"]
    assert (comparison.current_label, comparison.previous_label) == (
        "October 2026",
        "September 2026",
    )


def _with(data: ScorecardData, **statuses: str) -> ScorecardData:
    rows = tuple(
        dataclasses.replace(row, status=statuses.get(row.code.replace("-", "_"), row.status))
        for row in data.slas.rows
    )
    return dataclasses.replace(data, slas=dataclasses.replace(data.slas, rows=rows))


def test_compare_breaches_overdue_and_sponsors(small):
    base = build_scorecard_data(small.world.partnership.id, ReviewKind.MONTHLY, OCT, OCT, TODAY)
    before = _with(base, A_01="breached", B_01="breached")
    now = _with(base, A_01="met", C_01="breached", B_01="breached")
    # overdue: 2 → 5 is worse
    now = dataclasses.replace(now, actions=dataclasses.replace(now.actions, overdue=5))
    # sponsors: APAC gains a client sponsor, EMEA's provider sponsor leaves
    apac = dataclasses.replace(
        now.governance.coverage[1], client=(SponsorFacts("Ada Apac", "CLO", 0, 0, None),)
    )
    emea = dataclasses.replace(now.governance.coverage[0], provider=())
    now = dataclasses.replace(
        now, governance=dataclasses.replace(now.governance, coverage=(emea, apac))
    )
    comparison = reviews.compare(now, before)
    assert [(c.code, c.previous_status) for c in comparison.new_breaches] == [("C-01", "missing")]
    assert [(c.code, c.status) for c in comparison.resolved_breaches] == [("A-01", "met")]
    overdue = next(f for f in comparison.figures if f.key == "overdue")
    assert (overdue.change, overdue.direction, overdue.better) == (3.0, "up", False)
    assert [(s.region, s.side, s.name) for s in comparison.sponsors_added] == [
        ("APAC", "client", "Ada Apac")
    ]
    assert [(s.region, s.side, s.name) for s in comparison.sponsors_removed] == [
        ("EMEA", "provider", "Paul Provider")
    ]
    # a figure missing on one side has no direction
    empty = dataclasses.replace(before, health=dataclasses.replace(before.health, score=None))
    health = reviews.compare(now, empty).figures[0]
    assert (health.direction, health.better, health.change) == (None, None, None)


# ----------------------------------------------------------------------------- charts


def test_scorecard_figures_from_a_stored_snapshot_without_the_database(small):
    review = _open(small)
    data = load(json.loads(json.dumps(db.session.get(Review, review.id).snapshot)))
    with count_queries() as statements:
        figures = scorecard_figures(data)
    assert statements == []
    assert [f.name for f in figures] == [
        "health_trend", "sla_attainment", "satisfaction_trend", "nps_trend", "action_flow",
    ]  # fmt: skip
    assert all(isinstance(f, ScorecardChart) and f.width == 680 for f in figures)
    assert all(f.figure["layout"]["width"] == f.width for f in figures)
    json.dumps([f.figure for f in figures])  # plain values only
    for chart in figures:
        go.Figure(chart.figure)  # plotly validates every property
    by_name = {f.name: f.figure for f in figures}
    # the same plotly figure as the web page's, from the same numbers
    attainment = next(t for t in by_name["sla_attainment"]["data"] if t["name"] == "Attainment %")
    assert attainment["y"] == [p.percent for p in data.slas.series]
    web = charts.satisfaction_trend([])  # the web chart's traces, for their names
    assert [t["name"] for t in by_name["satisfaction_trend"]["data"]] == [
        t["name"] for t in web.to_plotly_json()["data"]
    ]
    csat = by_name["satisfaction_trend"]["data"][-1]
    assert csat["y"] == [f.csat for f in data.satisfaction.by_month]
    assert csat["marker"]["symbol"][1] == charts.SYMBOL_LOW_SAMPLE  # September, n = 2
    health = by_name["health_trend"]["data"][0]
    assert health["y"][-1] == data.health.score
    # pure: the same data gives the same figures
    assert [f.figure for f in scorecard_figures(data)] == [f.figure for f in figures]


def test_scorecard_figures_leave_out_charts_without_data(world):
    data = build_scorecard_data(world.other.id, ReviewKind.MONTHLY, OCT, OCT, TODAY)
    # Nothing entered: no month has enough data for a health score (issue 15, point 3), so
    # not even the health chart is drawn.
    assert all(point.score is None for point in data.health_series)
    assert [f.name for f in scorecard_figures(data)] == []
