"""Satisfaction figures against hand-worked examples: mean, CSAT with its Wilson interval,
NPS with its margin of error, low sample, the noise band, reported vs computed totals,
grouping, month boundaries, isolation, query counts, and the reported-totals writes."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import AuditEntry, ReportedSatisfaction, SurveyResponse
from mls_tracker.periods import Month
from mls_tracker.services import satisfaction as service
from mls_tracker.services.errors import PermissionDenied, ValidationFailed

JAN, FEB, MAR, APR = Month(2026, 1), Month(2026, 2), Month(2026, 3), Month(2026, 4)
TODAY = dt.date(2026, 6, 15)
_keys = iter(range(1, 10**9))


def add_responses(
    partnership,
    month: Month,
    ratings=(),
    recommends=(),
    *,
    region=None,
    program=None,
    comment=None,
    day: int = 10,
) -> None:
    """One response per rating and per recommend answer, paired while both last. The month
    is that of the UTC submission time, as the importer stores it."""
    count = max(len(ratings), len(recommends))
    submitted = dt.datetime(month.year, month.month, day, 12, tzinfo=dt.UTC)
    for i in range(count):
        db.session.add(
            SurveyResponse(
                partnership_id=partnership.id,
                response_key=f"R{next(_keys)}",
                submitted_at=submitted,
                month=Month.of(submitted.astimezone(dt.UTC).date()),
                region_id=region.id if region else None,
                program=program,
                rating=ratings[i] if i < len(ratings) else None,
                recommend=recommends[i] if i < len(recommends) else None,
                comment=comment,
            )
        )
    db.session.flush()


def reported(partnership, month: Month, responses: int, **values) -> ReportedSatisfaction:
    row = ReportedSatisfaction(
        partnership_id=partnership.id, month=month, responses=responses, **values
    )
    db.session.add(row)
    db.session.flush()
    return row


def _region(world, name):
    return next(r for r in world.partnership.regions if r.name == name)


@contextlib.contextmanager
def counted_queries() -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


# ----------------------------------------------------------------------------- statistics


def test_wilson_interval_of_8_out_of_10():
    # p = 0.8, z² = 3.8416, z²/n = 0.38416, denominator 1.38416
    # centre = (0.8 + 0.19208) / 1.38416 = 0.71674
    # half = 1.96 · √(0.8·0.2/10 + 3.8416/400) / 1.38416 = 1.96 · √0.025604 / 1.38416 = 0.22658
    # → [0.49016, 0.94332] = [49.0%, 94.3%]
    low, high = service.wilson_interval(8, 10)
    assert round(low * 100, 1) == 49.0
    assert round(high * 100, 1) == 94.3


def test_wilson_interval_at_the_edges_stays_inside_0_and_100():
    # 0 of 10: centre = half = 0.19208/1.38416 → low 0, high z²/(n + z²) = 3.8416/13.8416
    low, high = service.wilson_interval(0, 10)
    assert low == 0.0
    assert round(high * 100, 1) == 27.8
    low, high = service.wilson_interval(10, 10)
    assert round(low * 100, 1) == 72.2 and high == 1.0


def test_nps_margin_of_error():
    # 5 promoters, 3 detractors of 10: var = 0.5 + 0.3 − 0.2² = 0.76
    # MoE = 1.96 · √(0.76/10) · 100 = 1.96 · 0.27568 · 100 = 54.03
    assert round(service.nps_margin(5, 3, 10), 1) == 54.0
    # All promoters: no variance at all.
    assert service.nps_margin(10, 0, 10) == 0.0


def test_reported_nps_margin_is_conservative():
    # NPS +20 from n 100, split unknown: var ≤ 1 − 0.2² = 0.96
    # MoE = 1.96 · √(0.96/100) · 100 = 19.20
    assert round(service.reported_nps_margin(20, 100), 1) == 19.2
    # It is never smaller than the margin of any split giving the same score.
    for promoters, detractors in [(20, 0), (40, 20), (60, 40)]:
        assert service.reported_nps_margin(20, 100) >= service.nps_margin(
            promoters, detractors, 100
        )


# ----------------------------------------------------------------------------- one month


def test_a_month_by_hand(app, world):
    # ratings 5 5 4 4 4 3 2 5 4 1: n 10, sum 37 → mean 3.70; seven of 4–5 → CSAT 70.0%
    # Wilson 7/10: centre (0.7 + 0.19208)/1.38416 = 0.64449,
    #   half 1.96·√(0.021 + 0.009604)/1.38416 = 0.24772 → [39.7%, 89.2%]
    # recommend 10 9 9 8 7 6 5 10 3 9: promoters 5, passives 2, detractors 3 → NPS +20.0,
    #   MoE 54.0 (see test_nps_margin_of_error); n = 10 → not a low sample
    add_responses(
        world.partnership,
        MAR,
        [5, 5, 4, 4, 4, 3, 2, 5, 4, 1],
        [10, 9, 9, 8, 7, 6, 5, 10, 3, 9],
    )
    (figure,) = service.monthly_figures(world.partnership.id, JAN, APR)
    assert figure.month == MAR
    assert figure.n_rating == 10 and figure.n_recommend == 10
    assert figure.mean_rating == 3.7
    assert (figure.csat, figure.csat_low, figure.csat_high) == (70.0, 39.7, 89.2)
    assert (figure.nps, figure.nps_moe) == (20.0, 54.0)
    assert figure.low_sample is False
    assert figure.source == service.COMPUTED


def test_nine_answers_are_a_low_sample(app, world):
    add_responses(world.partnership, MAR, [5] * 9)
    (figure,) = service.monthly_figures(world.partnership.id, MAR, MAR)
    assert figure.n_rating == 9 and figure.low_sample is True
    assert figure.csat == 100.0 and figure.nps is None and figure.n_recommend == 0


def test_ratings_and_recommend_answers_are_counted_apart(app, world):
    # 4 ratings (all 4–5) and 12 recommend answers (6 promoters, 6 detractors): NPS 0;
    # 4 ratings < 10, so the month is a low sample even though NPS has 12.
    add_responses(world.partnership, MAR, [4, 5, 5, 4], [10] * 6 + [0] * 6)
    (figure,) = service.monthly_figures(world.partnership.id, MAR, MAR)
    assert (figure.n_rating, figure.n_recommend) == (4, 12)
    assert figure.nps == 0.0 and figure.csat == 100.0
    assert figure.low_sample is True


def test_month_boundaries_are_utc(app, world):
    # 31 Mar 23:30 UTC is March even where it is already April locally (01:30 at UTC+2).
    late_march = dt.datetime(2026, 4, 1, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    early_april = dt.datetime(2026, 4, 1, 0, 10, tzinfo=dt.UTC)
    for key, submitted, rating in [("a", late_march, 5), ("b", early_april, 1)]:
        db.session.add(
            SurveyResponse(
                partnership_id=world.partnership.id,
                response_key=key,
                submitted_at=submitted,
                month=Month.of(submitted.astimezone(dt.UTC).date()),
                rating=rating,
            )
        )
    db.session.flush()
    figures = {f.month: f for f in service.monthly_figures(world.partnership.id, MAR, APR)}
    assert figures[MAR].csat == 100.0 and figures[APR].csat == 0.0


def test_partnerships_are_kept_apart(app, world):
    add_responses(world.partnership, MAR, [5] * 10)
    add_responses(world.other, MAR, [1] * 30)
    reported(world.other, FEB, 50, csat=Decimal(10))
    (figure,) = service.monthly_figures(world.partnership.id, JAN, APR)
    assert (figure.n_rating, figure.csat) == (10, 100.0)
    assert service.load_satisfaction(world.partnership.id, JAN, APR).reported == ()


# ----------------------------------------------------------------------------- grouping


def test_region_and_program_grouping(app, world):
    emea, apac = _region(world, "EMEA"), _region(world, "APAC")
    add_responses(world.partnership, FEB, [5, 5, 4, 2], region=emea, program="Leaders")
    add_responses(world.partnership, MAR, [3, 3], region=emea, program="Sales")
    add_responses(world.partnership, MAR, [5, 1, 1, 1], region=apac, program="Leaders")
    add_responses(world.partnership, MAR, [4], program="Leaders")  # no region
    report = service.load_satisfaction(world.partnership.id, JAN, APR)

    # March overall: 3 3 5 1 1 1 4 → n 7, sum 18, mean 2.57; 4–5: 2 → CSAT 28.6%
    march = report.month_figure(MAR)
    assert (march.n_rating, march.mean_rating, march.csat) == (7, 2.57, 28.6)

    by_region = {(f.month, f.region_name): f for f in report.by_month_region}
    assert by_region[(MAR, "APAC")].n_rating == 4 and by_region[(MAR, "APAC")].csat == 25.0
    assert by_region[(MAR, "EMEA")].csat == 0.0
    assert by_region[(MAR, service.NO_REGION_NAME)].no_region

    # Period totals: EMEA = Feb (5 5 4 2) + Mar (3 3) → n 6, CSAT 3/6 = 50%
    totals = {f.region_name: f for f in report.by_region}
    assert [f.region_name for f in report.by_region] == ["APAC", "EMEA", "No region"]
    assert (totals["EMEA"].n_rating, totals["EMEA"].csat) == (6, 50.0)
    assert all(f.month is None for f in report.by_region)

    # Leaders: 5 5 4 2 + 5 1 1 1 + 4 → n 9, 4–5: 5 → 55.6%, mean 28/9 = 3.11
    programs = {f.program: f for f in report.by_program}
    assert (programs["Leaders"].n_rating, programs["Leaders"].csat) == (9, 55.6)
    assert programs["Leaders"].mean_rating == 3.11
    assert {(f.month, f.program) for f in report.by_month_program} == {
        (FEB, "Leaders"),
        (MAR, "Sales"),
        (MAR, "Leaders"),
    }


# ----------------------------------------------------------------------------- reported


def test_reported_totals_stand_where_no_response_exists(app, world):
    # Feb has only a reported total: CSAT 80 of n 10 gets the Wilson interval of 8/10.
    row = reported(world.partnership, FEB, 10, mean_rating=Decimal("4.1"), csat=Decimal(80), nps=20)
    add_responses(world.partnership, MAR, [5] * 10)
    report = service.load_satisfaction(world.partnership.id, JAN, APR)
    feb, mar = report.by_month
    assert feb.source == service.REPORTED and feb.reported_id == row.id
    assert (feb.csat, feb.csat_low, feb.csat_high) == (80.0, 49.0, 94.3)
    assert feb.mean_rating == 4.1 and feb.n_rating == 10
    # NPS +20 from n 10: MoE 1.96 · √(0.96/10) · 100 = 60.7
    assert (feb.nps, feb.nps_moe, feb.n_recommend) == (20.0, 60.7, 10)
    assert mar.source == service.COMPUTED
    assert report.reported[0].superseded is False


def test_computed_figures_win_and_the_reported_row_is_flagged_superseded(app, world):
    add_responses(world.partnership, MAR, [5] * 10 + [1] * 10)
    reported(world.partnership, MAR, 500, csat=Decimal(95))
    report = service.load_satisfaction(world.partnership.id, MAR, MAR)
    (march,) = report.by_month
    # Never blended: n stays 20 and CSAT 50%, not (10 + 475) / 520.
    assert (march.source, march.n_rating, march.csat) == (service.COMPUTED, 20, 50.0)
    assert report.reported[0].superseded is True


def test_a_regional_reported_total_is_superseded_only_by_that_regions_responses(app, world):
    emea, apac = _region(world, "EMEA"), _region(world, "APAC")
    add_responses(world.partnership, MAR, [5] * 10, region=emea)
    reported(world.partnership, MAR, 40, region_id=apac.id, csat=Decimal(60))
    report = service.load_satisfaction(world.partnership.id, MAR, MAR)
    assert report.reported[0].superseded is False
    regional = {f.region_id: f for f in report.by_month_region}
    assert regional[apac.id].source == service.REPORTED and regional[apac.id].csat == 60.0
    assert regional[emea.id].source == service.COMPUTED
    # The overall month stays computed from responses only.
    assert report.month_figure(MAR).n_rating == 10


# ----------------------------------------------------------------------------- noise band


def test_noise_band_csat_outside(app, world):
    # Feb 90/100 (p 0.9), Mar 80/100 (p 0.8): SE² = 0.9·0.1/100 + 0.8·0.2/100 = 0.0025
    # threshold = 1.96 · 0.05 = 0.098; |Δ| = 0.10 > 0.098 → outside the band.
    add_responses(world.partnership, FEB, [5] * 90 + [2] * 10)
    add_responses(world.partnership, MAR, [5] * 80 + [2] * 20)
    (change,) = service.changes_outside_noise(world.partnership.id, MAR)
    assert change.measure == "csat" and change.region_id is None
    assert (change.previous, change.current) == (90.0, 80.0)
    assert (change.n_previous, change.n_current) == (100, 100)
    assert change.delta == -10.0 and change.threshold == 9.8
    assert change.direction == "fell"


def test_noise_band_csat_inside(app, world):
    # Feb 0.9, Mar 0.81: SE² = 0.0009 + 0.81·0.19/100 = 0.002439, threshold 1.96·0.04939
    # = 0.0968; |Δ| = 0.09 ≤ 0.0968 → inside the band, no change reported.
    add_responses(world.partnership, FEB, [5] * 90 + [2] * 10)
    add_responses(world.partnership, MAR, [5] * 81 + [2] * 19)
    assert service.changes_outside_noise(world.partnership.id, MAR) == []


def test_noise_band_needs_ten_answers_in_both_months(app, world):
    # 9/9 → 0/9 is a huge swing but a low sample: never outside the band.
    add_responses(world.partnership, FEB, [5] * 9)
    add_responses(world.partnership, MAR, [1] * 9)
    assert service.changes_outside_noise(world.partnership.id, MAR) == []


def test_noise_band_nps_and_regions(app, world):
    # EMEA NPS: Feb 20 promoters of 20 (NPS +100, SE 0), Mar 10 promoters + 10 detractors
    # (NPS 0, var = 1 − 0 = 1, SE = √(1/20) = 0.2236) → threshold 1.96·0.2236 = 0.438,
    # |Δ| = 1.0 → outside. The partnership as a whole moves the same way.
    emea = _region(world, "EMEA")
    add_responses(world.partnership, FEB, recommends=[10] * 20, region=emea)
    add_responses(world.partnership, MAR, recommends=[10] * 10 + [0] * 10, region=emea)
    changes = service.changes_outside_noise(world.partnership.id, MAR)
    assert [(c.measure, c.region_name) for c in changes] == [("nps", None), ("nps", "EMEA")]
    regional = changes[1]
    assert (regional.previous, regional.current, regional.threshold) == (100.0, 0.0, 43.8)


def test_noise_band_uses_reported_figures_where_they_stand(app, world):
    # Feb reported CSAT 95 of n 200, Mar computed 60/100: SE² = .95·.05/200 + .6·.4/100
    # = 0.0026375 → threshold 0.1007; |Δ| = 0.35 → outside.
    reported(world.partnership, FEB, 200, csat=Decimal(95))
    add_responses(world.partnership, MAR, [5] * 60 + [1] * 40)
    (change,) = service.changes_outside_noise(world.partnership.id, MAR)
    assert (change.previous, change.current, change.threshold) == (95.0, 60.0, 10.1)


# ----------------------------------------------------------------------------- queries


def test_query_count_does_not_grow_with_months_or_regions(app, world):
    emea, apac = _region(world, "EMEA"), _region(world, "APAC")
    pid = world.partnership.id
    add_responses(world.partnership, MAR, [5, 4], region=emea, program="A")
    reported(world.partnership, FEB, 20, csat=Decimal(70))
    db.session.commit()
    with counted_queries() as small:
        service.load_satisfaction(pid, MAR, MAR)
    for index in range(12):
        month = Month(2025, 1).shift(index)
        for region in (emea, apac, None):
            for program in ("A", "B", "C"):
                add_responses(
                    world.partnership, month, [5, 3, 1], [9, 7, 0], region=region, program=program
                )
        reported(world.partnership, month, 30, region_id=apac.id, nps=10)
    db.session.commit()
    with counted_queries() as large:
        report = service.load_satisfaction(pid, Month(2025, 1), MAR)
    assert len(report.by_month) >= 12
    assert len(small) == len(large) == 3


# ----------------------------------------------------------------------------- writes


def _values(**overrides):
    values = {
        "month": MAR,
        "region_id": None,
        "program": "",
        "responses": 120,
        "mean_rating": "4.3",
        "csat": "86",
        "nps": "31.5",
    }
    values.update(overrides)
    return values


def test_a_lead_adds_edits_and_deletes_reported_totals(app, world):
    row = service.add_reported(world.lead, world.partnership, TODAY, **_values())
    assert (row.responses, row.csat, row.nps, row.mean_rating) == (
        120,
        Decimal("86.00"),
        Decimal("31.5"),
        Decimal("4.30"),
    )
    assert row.entered_by_id == world.lead.id
    service.update_reported(world.lead, row, TODAY, **_values(csat="", responses=90))
    assert row.csat is None and row.responses == 90
    service.delete_reported(world.lead, row)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportedSatisfaction)) == 0
    actions = db.session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.object_type == "ReportedSatisfaction")
    ).all()
    assert len(actions) == 3


@pytest.mark.parametrize("who", ["provider", "sponsor", "viewer", "outsider"])
def test_only_leads_write_reported_totals(app, world, who):
    with pytest.raises(PermissionDenied):
        service.add_reported(world.user(who), world.partnership, TODAY, **_values())


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"month": None}, "month"),
        ({"month": Month(2026, 7)}, "month"),
        ({"responses": 0}, "responses"),
        ({"responses": None}, "responses"),
        ({"mean_rating": "5.5"}, "mean_rating"),
        ({"mean_rating": "0.9"}, "mean_rating"),
        ({"mean_rating": "good"}, "mean_rating"),
        ({"csat": "101"}, "csat"),
        ({"csat": "-1"}, "csat"),
        ({"nps": "-100.5"}, "nps"),
        ({"nps": "NaN"}, "nps"),
        ({"mean_rating": "", "csat": "", "nps": ""}, "mean_rating"),
        ({"program": "x" * 201}, "program"),
    ],
)
def test_reported_totals_are_validated(app, world, overrides, field):
    with pytest.raises(ValidationFailed) as error:
        service.add_reported(world.lead, world.partnership, TODAY, **_values(**overrides))
    assert error.value.field == field


def test_a_region_outside_the_scope_is_refused(app, world):
    with pytest.raises(ValidationFailed) as error:
        service.add_reported(world.lead, world.partnership, TODAY, **_values(region_id=10_000))
    assert error.value.field == "region_id"


def test_one_reported_total_per_cell(app, world):
    service.add_reported(world.lead, world.partnership, TODAY, **_values())
    with pytest.raises(ValidationFailed) as error:
        service.add_reported(world.lead, world.partnership, TODAY, **_values(csat="50"))
    assert error.value.field == "month"
    # Another program is another cell.
    service.add_reported(world.lead, world.partnership, TODAY, **_values(program="Sales"))
