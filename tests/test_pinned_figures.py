"""Figures pinned to hand-worked numbers at the edges where a small bug hides (issue 12).

Each test names the planted bug it catches: a bug that passed the rest of the suite when it
was planted by hand, and that moving the figure code could bring in unseen. The tests go
through the public service functions (``health_score``, ``load_sla_series`` + ``attainment``,
``action_figures``, ``monthly_flow``, ``dashboard.month_figures`` / ``portfolio``, the survey
import's ``check_upload`` / ``commit_upload``) so that they survive code moving around them.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import (
    ActionStatus,
    Direction,
    ReportedSatisfaction,
    Side,
    Sla,
    SurveyImport,
    SurveyResponse,
    Unit,
)
from mls_tracker.periods import Month
from mls_tracker.services import dashboard
from mls_tracker.services import survey_import as survey_service
from mls_tracker.services.action_figures import action_figures, monthly_flow
from mls_tracker.services.health import DEFAULT_WEIGHTS, ComponentKey, Rag, health_score
from mls_tracker.services.satisfaction import (
    Counts,
    ReportedView,
    figure_from_counts,
    figure_from_reported,
    monthly_counts_many,
    nps_margin,
    wilson_interval,
)
from mls_tracker.services.sla_figures import (
    MeasurementPoint,
    SlaSeries,
    Status,
    TargetPoint,
    attainment,
    early_warning,
    judge,
    load_sla_series,
    threshold_on_right_side,
)
from mls_tracker.services.sponsors import coverage, coverage_history
from tests import factories

d = dt.date
JANUARY, FEBRUARY, MARCH, APRIL = Month(2026, 1), Month(2026, 2), Month(2026, 3), Month(2026, 4)
# The dashboards review the last complete month: on 15 April 2026, March.
TODAY = d(2026, 4, 15)
SLA, SAT, ACT, COV = (
    ComponentKey.SLA,
    ComponentKey.SATISFACTION,
    ComponentKey.ACTIONS,
    ComponentKey.COVERAGE,
)


def test_default_weights_are_the_product_definition():
    """The arithmetic below uses the default weights 40 / 25 / 20 / 15 (PRODUCT.md §3)."""
    assert {key: int(weight) for key, weight in DEFAULT_WEIGHTS.items()} == {
        SLA: 40,
        SAT: 25,
        ACT: 20,
        COV: 15,
    }


# ----------------------------------------------------------------------------- health


def test_health_rounds_half_up_not_to_even():
    """Catches Python's ``round()`` (banker's rounding) in place of half up.

    SLA 82, satisfaction 80, actions 80, coverage 78 with weights 40/25/20/15:
    (82·40 + 80·25 + 80·20 + 78·15) / 100 = (3280 + 2000 + 1600 + 1170) / 100 = 80.5
    → half up 81 (``round(80.5)`` gives 80). 60.5 likewise: 61, not 60; and 79.5 → 80 (green).
    """
    score = health_score({SLA: 82, SAT: 80, ACT: 80, COV: 78}, DEFAULT_WEIGHTS)
    assert score.score == 81
    assert score.rag is Rag.GREEN
    # all four at 60.5: 60.5 exactly → 61; all at 79.5 → 80, green by one point
    assert health_score(dict.fromkeys(ComponentKey, 60.5), DEFAULT_WEIGHTS).score == 61
    assert health_score(dict.fromkeys(ComponentKey, 79.5), DEFAULT_WEIGHTS).rag is Rag.GREEN


def test_health_weights_the_unrounded_components():
    """Catches rounding each component before weighting (PRODUCT.md: "computed from unrounded
    parts and rounded half up once").

    SLA 79.4, satisfaction 79.4, actions 79.4, coverage 80.4, weights 40/25/20/15:
    exact (79.4·85 + 80.4·15) / 100 = (6749 + 1206) / 100 = 79.55 → 80, green.
    Rounded first: (79·85 + 80·15) / 100 = (6715 + 1200) / 100 = 79.15 → 79, amber.
    """
    score = health_score({SLA: 79.4, SAT: 79.4, ACT: 79.4, COV: 80.4}, DEFAULT_WEIGHTS)
    assert score.score == 80
    assert score.rag is Rag.GREEN


# ----------------------------------------------------------------------------- SLA attainment


def test_attainment_leaves_inactive_slas_out(app, world):
    """Catches SLA attainment counting inactive SLAs.

    March 2026, both confirmed: active SLA A (weight 1) met at 95 ≥ 90; inactive SLA B
    (weight 3) breached at 50 < 85. Attainment = met ÷ measured over active SLAs = 1 / 1 =
    100 %; counting B would give 1 / (1 + 3) = 25 %. The SLA of ``build_world`` has no March
    measurement: missing, outside both weights.
    """
    p = world.partnership
    a = factories.create_sla(p, None, "PIN-A", weight=1)
    b = factories.create_sla(p, None, "PIN-B", weight=3)
    factories.add_measurement(a, MARCH, 95, confirmed_by=world.lead)
    factories.add_measurement(b, MARCH, 50, confirmed_by=world.lead)
    b.active = False
    db.session.commit()

    # the SLA pages', the agenda's and the reviews' path
    march = attainment(load_sla_series(p.id, MARCH, MARCH), MARCH)
    assert (march.met_weight, march.measured_weight) == (1, 1)
    assert march.percent == 100.0
    # the inactive SLA's own page still asks for its series
    everything = load_sla_series(p.id, MARCH, MARCH, include_inactive=True)
    assert {"PIN-A", "PIN-B"} <= {s.code for s in everything}
    # the dashboards' path
    figures = dashboard.month_figures([p], MARCH, MARCH, TODAY)[p.id][0]
    assert figures.sla_attainment == 100.0
    assert (figures.sla_met_weight, figures.sla_measured_weight) == (1.0, 1.0)
    assert figures.slas_breached == 0
    # WLD-01 of build_world has no March measurement: missing, not at risk
    assert (figures.slas_at_risk, figures.slas_missing) == (0, 1)


# ----------------------------------------------------------------------------- satisfaction


def _responses(partnership, month: Month, ratings_and_scores) -> None:
    for number, (rating, recommend) in enumerate(ratings_and_scores, start=1):
        db.session.add(
            SurveyResponse(
                partnership_id=partnership.id,
                response_key=f"PIN-{month}-{number}",
                submitted_at=dt.datetime(month.year, month.month, 5, 12, tzinfo=dt.UTC),
                month=month,
                rating=rating,
                recommend=recommend,
            )
        )


def test_the_dashboard_prefers_responses_to_a_reported_total_of_the_same_month(app, world):
    """Catches the dashboard preferring a reported total over the responses of the same month
    (PRODUCT.md: reported totals are never blended, and responses supersede them).

    March: 10 responses, ratings 5×7, 4×1, 2×2 → CSAT 8/10 = 80.0 %, mean 43/10 = 4.3;
    recommend 10×6, 8×2, 3×2 → NPS (6 − 2)/10 = +40.0. A reported March total says 50
    responses, CSAT 40 %, mean 3.0, NPS −20: superseded, the dashboard shows 80.0 / 40.0 from
    n = 10. February has only a reported total (CSAT 60 %, 25 responses): shown as reported.
    """
    p = world.partnership
    emea_id = next(r.id for r in p.regions if r.name == "EMEA")
    _responses(p, MARCH, [(5, 10)] * 6 + [(5, 8), (4, 8)] + [(2, 3)] * 2)
    db.session.add_all(
        [
            ReportedSatisfaction(
                partnership_id=p.id, month=MARCH, responses=50, csat=40, mean_rating=3, nps=-20
            ),
            ReportedSatisfaction(partnership_id=p.id, month=FEBRUARY, responses=25, csat=60),
            # a region's or a programme's total is not the partnership's; another
            # partnership's total is not this one's
            ReportedSatisfaction(
                partnership_id=p.id, month=JANUARY, responses=30, csat=10, region_id=emea_id
            ),
            ReportedSatisfaction(
                partnership_id=p.id, month=JANUARY, responses=30, csat=20, program="Data"
            ),
            ReportedSatisfaction(
                partnership_id=world.other.id, month=JANUARY, responses=30, csat=90
            ),
        ]
    )
    db.session.commit()

    january, february, march = dashboard.month_figures([p], JANUARY, MARCH, TODAY)[p.id]
    assert (january.csat, january.satisfaction_source) == (None, None)
    assert (january.n_rating, january.n_recommend, january.low_sample) == (0, 0, False)
    assert march.month == MARCH
    computed = figure_from_counts(Counts(10, 43, 8, 10, 6, 2))
    assert (march.csat_low, march.csat_high, march.nps_moe, march.low_sample) == (
        computed.csat_low,
        computed.csat_high,
        computed.nps_moe,
        False,
    )
    assert march.satisfaction_source == "computed"
    assert (march.csat, march.mean_rating, march.nps) == (80.0, 4.3, 40.0)
    assert (march.n_rating, march.n_recommend) == (10, 10)
    assert february.satisfaction_source == "reported"
    assert (february.csat, february.n_rating) == (60.0, 25)


# ----------------------------------------------------------------------------- action plan


def _item(partnership, due_on, *, created, closed_on=None, status=None):
    status = status or (ActionStatus.DONE if closed_on else ActionStatus.OPEN)
    item = factories.create_action(partnership, due_on=due_on, status=status)
    item.created_at = dt.datetime.combine(created, dt.time(9), tzinfo=dt.UTC)
    item.closed_on = closed_on
    db.session.flush()
    return item


def test_an_item_closed_on_its_due_date_is_on_time(app, world):
    """Catches an item closed ON its due date counted late (``<`` for ``<=``).

    Due in March: A due 10 Mar closed 10 Mar (on time: on the day), B due 12 Mar closed
    20 Mar (late). Action plan health = 1 on time ÷ 2 due = 50.0 %; the bug gives 0 %.
    """
    p = world.partnership
    _item(p, d(2026, 3, 10), created=d(2026, 3, 1), closed_on=d(2026, 3, 10))
    _item(p, d(2026, 3, 12), created=d(2026, 3, 1), closed_on=d(2026, 3, 20))
    db.session.commit()

    march = action_figures([p.id], MARCH, MARCH, TODAY)[p.id]
    assert (march.due, march.closed_on_time) == (2, 1)
    assert march.health == 50.0
    figures = dashboard.month_figures([p], MARCH, MARCH, TODAY)[p.id][0]
    assert (figures.actions_due, figures.actions_on_time, figures.action_health) == (2, 1, 50.0)
    assert figures.actions_opened == 2


def test_closed_counts_by_the_month_an_item_was_closed(app, world):
    """Catches "closed" counted by due month instead of close month.

    A due 20 Feb, done 5 Mar; B due 10 Mar, done 2 Apr; C due 15 Mar, done 14 Mar.
    Closed in February: none; in March: A and C = 2; in April: B = 1. By due month it would
    be February 1, March 2 (B and C), April 0 — so February and April tell them apart.
    Median days to close in March: A 1 Feb → 5 Mar = 32, C 1 Mar → 14 Mar = 13 → 22.5.
    """
    p = world.partnership
    _item(p, d(2026, 2, 20), created=d(2026, 2, 1), closed_on=d(2026, 3, 5))
    _item(p, d(2026, 3, 10), created=d(2026, 3, 1), closed_on=d(2026, 4, 2))
    _item(p, d(2026, 3, 15), created=d(2026, 3, 1), closed_on=d(2026, 3, 14))
    db.session.commit()

    closed = {
        month: action_figures([p.id], month, month, TODAY)[p.id].closed
        for month in (FEBRUARY, MARCH, APRIL)
    }
    assert closed == {FEBRUARY: 0, MARCH: 2, APRIL: 1}
    assert action_figures([p.id], MARCH, MARCH, TODAY)[p.id].median_days_to_close == 22.5
    flow = monthly_flow([p.id], FEBRUARY, APRIL, TODAY)[p.id]
    assert [(f.month, f.closed) for f in flow] == [(FEBRUARY, 0), (MARCH, 2), (APRIL, 1)]
    figures = dashboard.month_figures([p], FEBRUARY, APRIL, TODAY)[p.id]
    assert [f.actions_closed for f in figures] == [0, 2, 1]


# ----------------------------------------------------------------------------- coverage


def _coverage_world(world):
    """world.partnership has EMEA and APAC in scope and Erika, a client sponsor of EMEA since
    2025. Add a provider-side sponsor of APAC and a client sponsor of LATAM, a region that is
    not in scope (taken out of scope after she was named, say)."""
    apac = next(r for r in world.partnership.regions if r.name == "APAC")
    latam = factories.create_region("LATAM", 5)
    factories.create_sponsor(world.partnership, apac, Side.PROVIDER, "Paul Provider")
    factories.create_sponsor(world.partnership, latam, Side.CLIENT, "Lara Outofscope")
    return world


def test_coverage_counts_client_sponsors_of_regions_in_scope_only(app, world):
    """Catches sponsor coverage on the dashboards' path (``coverage_history``) counting
    provider-side sponsors, or sponsors of regions outside the scope.

    In scope: EMEA (client sponsor) and APAC (a provider sponsor only); LATAM has a client
    sponsor but is not in scope. Coverage = 1 covered ÷ 2 in scope = 50 %. Counting the
    provider sponsor gives 2/2 = 100 %, counting LATAM 2/2, both 3/2 = 150 %.
    """
    _coverage_world(world)
    db.session.commit()
    p = world.partnership
    assert coverage(p.id, TODAY) == 0.5
    assert coverage_history([p.id], [d(2026, 3, 31), TODAY]) == {
        p.id: {d(2026, 3, 31): 0.5, TODAY: 0.5}
    }
    march = dashboard.month_figures([p], MARCH, MARCH, TODAY)[p.id][0]
    assert (march.coverage, march.regions_in_scope, march.regions_covered) == (50.0, 2, 1)


def test_the_portfolio_row_health_is_worked_by_hand(app, world):
    """Catches a wrong figure reaching the portfolio's health score (it used to be checked
    only for being "not None"), including coverage above 100 % on the dashboards' path.

    Global Learning, March 2026 (reviewed on 15 April):
    - SLA attainment: PIN-A (weight 3) met at 95 ≥ 90, PIN-B (weight 1) breached at 80 < 85
      → 3 / 4 = 75.0 %;
    - satisfaction: 10 responses, ratings 5×7, 4×1, 2×2 → CSAT 8/10 = 80.0 %;
    - action plan: due in March A (closed on its due date), B (closed before), C (closed
      late), D (open) → 2 on time ÷ 4 due = 50.0 %;
    - sponsor coverage: EMEA covered, APAC only by a provider sponsor, LATAM out of scope
      → 1 / 2 = 50.0 %.
    Health = (75·40 + 80·25 + 50·20 + 50·15) / 100 = (3000 + 2000 + 1000 + 750) / 100 = 67.5
    → 68, amber. Coverage counted 100 % would give 75.0 → 75; an item closed on its due date
    counted late, 62.5 → 63.
    """
    p = world.partnership
    _coverage_world(world)
    db.session.delete(db.session.get(Sla, world.ids["sla_id"]))
    a = factories.create_sla(p, None, "PIN-A", weight=3)
    b = factories.create_sla(p, None, "PIN-B", weight=1)
    factories.add_measurement(a, MARCH, 95, confirmed_by=world.lead)
    factories.add_measurement(b, MARCH, 80, confirmed_by=world.lead)
    _responses(p, MARCH, [(5, None)] * 7 + [(4, None)] + [(2, None)] * 2)
    _item(p, d(2026, 3, 10), created=d(2026, 3, 1), closed_on=d(2026, 3, 10))
    _item(p, d(2026, 3, 20), created=d(2026, 3, 1), closed_on=d(2026, 3, 12))
    _item(p, d(2026, 3, 12), created=d(2026, 3, 1), closed_on=d(2026, 3, 13))
    _item(p, d(2026, 3, 25), created=d(2026, 3, 1))
    db.session.commit()

    rows = dashboard.portfolio(world.lead, TODAY)
    assert [r.name for r in rows] == ["Global Learning"]
    row = rows[0]
    assert row.month == MARCH
    current = row.current
    assert (current.sla_attainment, current.csat, current.action_health, current.coverage) == (
        75.0,
        80.0,
        50.0,
        50.0,
    )
    assert row.health.score == 68
    assert (current.slas_breached, current.slas_at_risk) == (1, 0)
    assert row.health.rag is Rag.AMBER
    assert row.left_out == ()
    assert row.coverage_gaps == ("APAC",)
    assert all(f.coverage is None or 0 <= f.coverage <= 100 for f in row.figures), (
        "coverage above 100 %"
    )


# ----------------------------------------------------------------------------- survey rows


def _check(world, rows: str):
    staged = survey_service.stage_upload(
        world.lead,
        world.partnership.id,
        io.BytesIO(("response_id,submitted_at,rating,recommend\n" + rows).encode()),
        "pinned.csv",
    )
    file = survey_service.open_staged(staged)
    mapping = survey_service.default_mapping(file, None)
    return staged, mapping


@pytest.fixture
def _after_march(monkeypatch):
    monkeypatch.setattr(
        survey_service, "clock", lambda: dt.datetime(2026, 4, 15, 12, tzinfo=dt.UTC)
    )


def test_out_of_range_scores_are_row_numbered_problems(app, world, _after_march):
    """Catches the row check letting a rating of 0 or 6, or a recommend score of −1 or 11,
    through to the database constraint (a crash instead of a row-numbered message).

    Ratings are 1–5 and recommend scores 0–10 (PRODUCT.md §2). Rows (the header is row 1):
    2 rating 0, 3 rating 6, 4 recommend −1, 5 recommend 11 — four problems; rows 6 and 7
    hold the edges 1 / 0 and 5 / 10, which are fine. Committing refuses the file whole.
    """
    staged, mapping = _check(
        world,
        "R1,2026-03-01T10:00:00Z,0,5\n"
        "R2,2026-03-01T10:00:00Z,6,5\n"
        "R3,2026-03-01T10:00:00Z,3,-1\n"
        "R4,2026-03-01T10:00:00Z,3,11\n"
        "R5,2026-03-01T10:00:00Z,1,0\n"
        "R6,2026-03-01T10:00:00Z,5,10\n",
    )
    outcome = survey_service.check_upload(world.lead, staged, mapping, "dmy")
    assert (outcome.rows, outcome.errors, outcome.new) == (6, 4, 2)
    # First one message about the whole file: its ratings (0 to 6) are not on 1–5.
    assert outcome.problems[0].row is None
    assert outcome.problems[0].message.startswith(
        "Satisfaction ratings in this file run from 0 to 6: 2 of 6 rows are outside 1–5"
    )
    problems = [(p.row, p.message) for p in outcome.problems[1:]]
    assert [row for row, _ in problems] == [2, 3, 4, 5]
    for (row, message), expected in zip(
        problems,
        (
            "rating 0 is outside 1–5",
            "rating 6 is outside 1–5",
            "-1 is outside 0–10",
            "11 is outside 0–10",
        ),
        strict=True,
    ):
        assert expected in message, (row, message)
    with pytest.raises(survey_service.ImportRefused) as refused:
        survey_service.commit_upload(world.lead, staged, mapping, "dmy")
    assert refused.value.outcome.errors == 4
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyImport)) == 0


# ----------------------------------------------------------------------------- mutation survivors
# Bugs `make mutate` planted that the tests above and the rest of the suite let through, and
# that change a figure a user sees. Each test names the mutant it kills.


def test_weights_given_as_fractions_score_as_percentages():
    """``total > 0`` mutated to ``total > 1``: weights 0.40 / 0.25 / 0.20 / 0.15 (sum 1) are
    as good as 40 / 25 / 20 / 15 — same 80.5 → 81 as above, same effective weights — and a
    partnership may save them so. Each component keeps the weight it was given."""
    fractions = {SLA: 0.40, SAT: 0.25, ACT: 0.20, COV: 0.15}
    score = health_score({SLA: 82, SAT: 80, ACT: 80, COV: 78}, fractions)
    assert score.score == 81
    assert [c.weight for c in score.components] == [0.40, 0.25, 0.20, 0.15]
    assert [c.effective_weight for c in score.components] == pytest.approx([0.4, 0.25, 0.2, 0.15])


def test_all_components_at_zero_score_zero_and_a_weight_left_unset_counts_zero():
    """``max(0.0, …)`` mutated to ``max(1.0, …)``: every component at 0 scores 0, red.
    ``weights.get(key, 0)`` mutated to 1: a component missing from the weights weighs
    nothing — SLA 100 (weight 1) and actions 0 (no weight given) → 100, not 50."""
    zero = health_score(dict.fromkeys(ComponentKey, 0.0), DEFAULT_WEIGHTS)
    assert (zero.score, zero.rag) == (0, Rag.RED)
    partial = health_score({SLA: 100, ACT: 0}, {SLA: 1})
    assert partial.score == 100
    assert partial.component(ACT).weight == 0
    assert partial.component(ACT).effective_weight == 0


def test_reported_totals_count_their_responses_where_they_have_a_figure():
    """``figure_from_reported``: a reported total of 8 responses with only a mean rating
    (4.2) counts n = 8 for ratings and 0 for recommend; with only an NPS (+30), n = 8 for
    recommend and 0 for ratings; both are low samples (8 < 10); region and program are the
    total's. Kills the mutants of ``has_rating``, of the n's and of ``low_sample``."""

    def view(**values):
        base = dict(
            id=1,
            month=MARCH,
            region_id=7,
            region_name="EMEA",
            program="Data literacy",
            responses=8,
            mean_rating=None,
            csat=None,
            nps=None,
            superseded=False,
            entered_by_name=None,
            created_at=None,
        )
        return ReportedView(**{**base, **values})

    mean_only = figure_from_reported(view(mean_rating=Decimal("4.2")))
    assert (mean_only.n_rating, mean_only.n_recommend, mean_only.low_sample) == (8, 0, True)
    assert (mean_only.mean_rating, mean_only.csat, mean_only.nps) == (4.2, None, None)
    assert (mean_only.region_name, mean_only.program) == ("EMEA", "Data literacy")
    nps_only = figure_from_reported(view(nps=Decimal("30")))
    assert (nps_only.n_rating, nps_only.n_recommend, nps_only.low_sample) == (0, 8, True)
    assert (nps_only.csat, nps_only.csat_low, nps_only.mean_rating) == (None, None, None)


def test_computed_satisfaction_keeps_its_counts_margin_and_low_sample_flag():
    """``figure_from_counts``: 20 ratings (16 satisfied) and 10 recommend answers (6
    promoters, 2 detractors). NPS = (6 − 2)/10 = +40.0; margin 1.96·√((0.6 + 0.2 − 0.4²)/10)
    = 1.96·√0.064 = 0.4958 → ±49.6 points (one decimal, not 50). Not a low sample (20 and 10
    are both ≥ 10); with 5 recommend answers it is, whatever the ratings."""
    counts = Counts(
        n_rating=20, rating_sum=80, satisfied=16, n_recommend=10, promoters=6, detractors=2
    )
    figure = figure_from_counts(counts, month=MARCH)
    assert (figure.csat, figure.nps, figure.nps_moe) == (80.0, 40.0, 49.6)
    assert figure.low_sample is False
    assert figure.counts == counts and figure.no_region is False
    few = Counts(n_rating=20, rating_sum=80, satisfied=16, n_recommend=5, promoters=3)
    assert figure_from_counts(few).low_sample is True


def test_interval_functions_refuse_an_empty_sample():
    """``n <= 0`` guards of ``wilson_interval`` and ``nps_margin``: no interval from n = 0
    (the mutants divide by zero or return a figure)."""
    with pytest.raises(ValueError, match="positive"):
        wilson_interval(0, 0)
    with pytest.raises(ValueError, match="positive"):
        nps_margin(0, 0, 0)


def test_the_dashboard_health_takes_csat_before_the_scaled_mean(app, world):
    """``MonthFigures.components``: with CSAT 80.0 and a mean of 4.3 both known for March, the
    satisfaction component is CSAT (80.0), not the mean scaled ((4.3 − 1)/4·100 = 82.5)."""
    p = world.partnership
    _responses(p, MARCH, [(5, None)] * 7 + [(4, None)] + [(2, None)] * 2)
    db.session.commit()
    march = dashboard.month_figures([p], MARCH, MARCH, TODAY)[p.id][0]
    assert (march.csat, march.mean_rating) == (80.0, 4.3)
    assert march.health.component(SAT).value == 80.0


def test_early_warning_from_three_confirmed_points_ignores_a_proposed_breach():
    """``early_warning``: confirmed 96, 93, 90 in January–March 2026 (target 90, at risk 85):
    slope −3 a month, so April 87 (at risk), May 84 (breached) → warning, breach in May. The
    minimum is 3 points (mutant: more than 3). In April only a *proposed* 80 (breached):
    judged on confirmed values it is missing, so the warning stands (mutant: no warning)."""
    jan = Month(2026, 1)
    series = SlaSeries(
        sla_id=41,
        code="LMS-UP",
        name="LMS uptime",
        unit=Unit.PERCENT,
        direction=Direction.HIGHER_IS_BETTER,
        weight=Decimal(1),
        targets=(TargetPoint(jan, Decimal(90), Decimal(85)),),
        measurements={
            jan: MeasurementPoint(Decimal(96)),
            FEBRUARY: MeasurementPoint(Decimal(93)),
            MARCH: MeasurementPoint(Decimal(90)),
            APRIL: MeasurementPoint(Decimal(80), confirmed=False),
        },
    )
    for as_of in (MARCH, APRIL):
        warning = early_warning(series, as_of)
        assert warning is not None, as_of
        assert (warning.sla_id, warning.code) == (41, "LMS-UP")
        assert warning.slope_per_month == pytest.approx(-3.0)
    warning = early_warning(series, MARCH)
    assert [(m, round(v, 6)) for m, v in warning.projected] == [
        (APRIL, 87.0),
        (Month(2026, 5), 84.0),
    ]
    assert warning.breach_month == Month(2026, 5)


def test_judging_a_float_and_an_equal_lower_is_better_threshold():
    """``judge`` takes a float as well as a Decimal (89.5 against 90 / 85: at risk); a
    lower-is-better SLA may have its at-risk threshold equal to its target (no at-risk band).
    """
    target = TargetPoint(MARCH, Decimal(90), Decimal(85))
    assert judge(89.5, target, Direction.HIGHER_IS_BETTER) is Status.AT_RISK
    assert threshold_on_right_side(Direction.LOWER_IS_BETTER, Decimal(5), Decimal(5))


def _created(partnership, created_at: dt.datetime, due_on, *, closed_on=None):
    status = ActionStatus.DONE if closed_on else ActionStatus.OPEN
    item = factories.create_action(partnership, due_on=due_on, status=status)
    item.created_at = created_at
    item.closed_on = closed_on
    db.session.flush()


def test_the_monthly_action_flow_at_its_edges(app, world):
    """``monthly_flow`` (the action plan chart), February–March 2026, at the edges:

    Global Learning: A created 1 Feb 00:00 UTC, due 20 Feb, done 28 Feb; F created 10 Feb,
    due 15 Feb, open; D created 1 Mar, due 31 Mar, open; B created 31 Mar 23:00, open.
    February: opened A, F = 2; closed A = 1; overdue on 28 Feb: F = 1 (A was closed that very
    day). March: opened D, B = 2; closed 0; overdue on 31 Mar: F = 1 (D is due that day, not
    overdue). Other Programme: G created 5 Feb, due 6 Feb, done 3 Mar → February (1, 0, 1),
    March (0, 1, 0) — never counted in Global Learning's.
    """
    p, o = world.partnership, world.other
    utc = dt.UTC
    _created(p, dt.datetime(2026, 2, 1, 0, 0, tzinfo=utc), d(2026, 2, 20), closed_on=d(2026, 2, 28))
    _created(p, dt.datetime(2026, 2, 10, 9, tzinfo=utc), d(2026, 2, 15))
    _created(p, dt.datetime(2026, 3, 1, 9, tzinfo=utc), d(2026, 3, 31))
    _created(p, dt.datetime(2026, 3, 31, 23, tzinfo=utc), d(2026, 4, 30))
    _created(o, dt.datetime(2026, 2, 5, 9, tzinfo=utc), d(2026, 2, 6), closed_on=d(2026, 3, 3))
    db.session.commit()

    flows = monthly_flow([p.id, o.id], FEBRUARY, MARCH, TODAY)
    as_tuples = {
        pid: [(f.opened, f.closed, f.overdue) for f in flow] for pid, flow in flows.items()
    }
    assert as_tuples == {p.id: [(2, 1, 1), (2, 0, 1)], o.id: [(1, 0, 1), (0, 1, 0)]}


def test_coverage_gaps_today(app, world):
    """The portfolio's coverage gaps are as of today (15 April 2026): a client sponsor who
    starts today covers, one who ended yesterday does not. Global Learning: EMEA (Erika),
    APAC's sponsor ended 14 April → gap APAC. Other Programme: APAC's sponsor starts today →
    no gap. Regions are listed in their set order (EMEA 1, APAC 2), not by name."""
    apac = next(r for r in world.partnership.regions if r.name == "APAC")
    factories.create_sponsor(world.partnership, apac, Side.CLIENT, "Ada Ended", end=d(2026, 4, 14))
    factories.create_sponsor(world.other, apac, Side.CLIENT, "Sam Starting", start=TODAY)
    db.session.commit()
    rows = {row.name: row for row in dashboard.portfolio(world.admin, TODAY)}
    assert rows["Global Learning"].coverage_gaps == ("APAC",)
    assert rows["Global Learning"].region_names == ("EMEA", "APAC")
    assert rows["Other Programme"].coverage_gaps == ()


def test_monthly_counts_count_each_answer_where_it_was_given(app, world):
    """``monthly_counts_many``: March answers (rating, recommend) = (5, –), (–, 6), (4, 7),
    (–, 9), (2, 10). Ratings n = 3, sum 11, satisfied (4–5) 2; recommend n = 4, promoters
    (9–10) 2, detractors (0–6) 1 — a 6 is a detractor, a 7 is not. So CSAT 2/3 = 66.7 %,
    NPS (2 − 1)/4 = +25.0, a low sample."""
    p = world.partnership
    _responses(p, MARCH, [(5, None), (None, 6), (4, 7), (None, 9), (2, 10)])
    db.session.commit()
    assert monthly_counts_many([p.id], MARCH, MARCH)[p.id] == {MARCH: Counts(3, 11, 2, 4, 2, 1)}
    march = dashboard.month_figures([p], MARCH, MARCH, TODAY)[p.id][0]
    assert (march.n_rating, march.csat, march.n_recommend, march.nps) == (3, 66.7, 4, 25.0)
    assert march.low_sample is True


def test_attainment_adds_up_the_met_weights():
    """Weights 3 and 1 met, 2 breached: attainment (3 + 1) ÷ (3 + 1 + 2) = 66.7 %."""

    def one(code, weight, value):
        return SlaSeries(
            sla_id=len(code),
            code=code,
            name=code,
            unit=Unit.PERCENT,
            direction=Direction.HIGHER_IS_BETTER,
            weight=Decimal(weight),
            targets=(TargetPoint(JANUARY, Decimal(90), Decimal(85)),),
            measurements={MARCH: MeasurementPoint(Decimal(value))},
        )

    march = attainment([one("A", 3, 95), one("BB", 1, 90), one("CCC", 2, 70)], MARCH)
    assert (march.month, march.met_weight, march.measured_weight) == (MARCH, 4, 6)
    assert march.percent == 66.7


def test_a_not_applicable_month_and_its_note_are_loaded(app, world):
    """``load_sla_series``: a confirmed month marked not applicable, with its note, is not
    applicable (neither met nor missing) on the dashboards."""
    sla = factories.create_sla(world.partnership, None, "PIN-NA")
    factories.add_measurement(sla, MARCH, None, confirmed_by=world.lead, note="No courses ran")
    db.session.commit()
    series = {s.code: s for s in load_sla_series(world.partnership.id, MARCH, MARCH)}
    point = series["PIN-NA"].measurements[MARCH]
    assert (point.not_applicable, point.note, point.confirmed) == (True, "No courses ran", True)
    figures = dashboard.month_figures([world.partnership], MARCH, MARCH, TODAY)
    assert figures[world.partnership.id][0].slas_missing == 1  # WLD-01 only


def test_action_figures_at_the_edges_of_a_month(app, world):
    """March 2026 (today 15 April), at the edges:

    a created 1 Mar 00:00, due 10 Apr, open; b created 1 Apr 00:00, due 15 Mar, open;
    c created 1 Apr 09:00, due 20 Apr; e created 31 Mar, due 20 Mar, open; f created 2 Mar,
    due 31 Mar, open; g created 5 Mar, due 20 Mar, done 31 Mar; h created 6 Mar, due 25 Mar,
    done 6 Mar.
    Due in March: b, e, f, g, h = 5; on time: h = 1 → 20.0 %. Opened in March: a, e, f, g, h
    = 5 (b and c in April). Closed: g, h = 2. Overdue on 31 March: e only (b did not exist
    yet, f is due that day, g was closed that day) = 1. Days to close: g 26, h 0 → median 13.
    """
    p = world.partnership
    utc = dt.UTC

    def at(day, hour=9):
        return dt.datetime(day.year, day.month, day.day, hour, tzinfo=utc)

    _created(p, at(d(2026, 3, 1), 0), d(2026, 4, 10))
    _created(p, at(d(2026, 4, 1), 0), d(2026, 3, 15))
    _created(p, at(d(2026, 4, 1)), d(2026, 4, 20))
    _created(p, at(d(2026, 3, 31)), d(2026, 3, 20))
    _created(p, at(d(2026, 3, 2)), d(2026, 3, 31))
    _created(p, at(d(2026, 3, 5)), d(2026, 3, 20), closed_on=d(2026, 3, 31))
    _created(p, at(d(2026, 3, 6)), d(2026, 3, 25), closed_on=d(2026, 3, 6))
    db.session.commit()
    march = action_figures([p.id], MARCH, MARCH, TODAY)[p.id]
    assert (march.due, march.closed_on_time, march.health) == (5, 1, 20.0)
    assert (march.opened, march.closed, march.overdue) == (5, 2, 1)
    assert march.median_days_to_close == 13


def test_coverage_history_on_the_day_a_sponsor_starts_and_without_regions(app, world):
    """A client sponsor of APAC from 31 March covers on 31 March (1.0), not on 30 March
    (0.5: EMEA only). A partnership without regions has no coverage on either day."""
    p = world.partnership
    apac = next(r for r in p.regions if r.name == "APAC")
    factories.create_sponsor(p, apac, Side.CLIENT, "Mia March", start=d(2026, 3, 31))
    empty = factories.create_partnership("No Regions", p.client, p.provider)
    db.session.commit()
    days = [d(2026, 3, 30), d(2026, 3, 31)]
    assert coverage_history([empty.id, p.id], days) == {
        empty.id: dict.fromkeys(days),
        p.id: {days[0]: 0.5, days[1]: 1.0},
    }
    march = dashboard.month_figures([empty], MARCH, MARCH, TODAY)[empty.id][0]
    assert (march.coverage, march.regions_in_scope, march.regions_covered) == (None, 0, 0)


def test_a_proposed_actual_is_not_counted_on_the_dashboards(app, world):
    """``build_world``'s SLA has only a *proposed* June 2025 actual (92, above target): not
    confirmed, so June has no attainment and the SLA is missing (PRODUCT.md §8)."""
    june = Month(2025, 6)
    figures = dashboard.month_figures([world.partnership], june, june, TODAY)
    month = figures[world.partnership.id][0]
    assert (month.sla_attainment, month.slas_missing, month.sla_measured_weight) == (None, 1, 0)


def test_one_answer_has_a_margin_and_a_mean_alone_is_a_satisfaction(app, world):
    """One recommend answer (a promoter): NPS +100, margin 0.0 (not refused). A month with only
    a reported mean of 4.2: satisfaction component (4.2 − 1)/4·100 = 80.0."""
    one = figure_from_counts(Counts(n_recommend=1, promoters=1))
    assert (one.nps, one.nps_moe) == (100.0, 0.0)
    p = world.partnership
    db.session.add(
        ReportedSatisfaction(partnership_id=p.id, month=MARCH, responses=40, mean_rating=4.2)
    )
    db.session.commit()
    march = dashboard.month_figures([p], MARCH, MARCH, TODAY)[p.id][0]
    assert march.health.component(SAT).value == pytest.approx(80.0)
