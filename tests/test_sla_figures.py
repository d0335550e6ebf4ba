"""SLA status, attainment and early warning (PRODUCT.md §3), on plain values."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mls_tracker.models import Direction, Unit
from mls_tracker.periods import Month
from mls_tracker.services.sla_figures import (
    MeasurementPoint,
    SlaSeries,
    Status,
    TargetPoint,
    attainment,
    early_warning,
    judge,
    status_of,
    target_in_force,
    threshold_on_right_side,
)

HIGHER = Direction.HIGHER_IS_BETTER
LOWER = Direction.LOWER_IS_BETTER
D = Decimal
JAN_2025 = Month(2025, 1)


def series(
    direction=HIGHER,
    targets=((JAN_2025, 90, 85),),
    values=None,
    weight=1,
    sla_id=1,
    code="S-1",
) -> SlaSeries:
    points = {}
    for month, value in (values or {}).items():
        if isinstance(value, MeasurementPoint):
            points[month] = value
        else:
            points[month] = MeasurementPoint(value=None if value is None else D(str(value)))
    return SlaSeries(
        sla_id=sla_id,
        code=code,
        name=code,
        unit=Unit.PERCENT,
        direction=direction,
        weight=D(str(weight)),
        targets=tuple(TargetPoint(m, D(str(t)), D(str(r))) for m, t, r in targets),
        measurements=points,
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (95, Status.MET),
        (90, Status.MET),
        (89.99, Status.AT_RISK),
        (85, Status.AT_RISK),
        (84.9, Status.BREACHED),
        (0, Status.BREACHED),
    ],
)
def test_higher_is_better(value, expected):
    assert judge(D(str(value)), TargetPoint(Month(2025, 1), D(90), D(85)), HIGHER) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2, Status.MET),
        (4, Status.MET),
        (4.01, Status.AT_RISK),
        (6, Status.AT_RISK),
        (6.5, Status.BREACHED),
    ],
)
def test_lower_is_better_mirrors_it(value, expected):
    assert judge(D(str(value)), TargetPoint(Month(2025, 1), D(4), D(6)), LOWER) is expected


def test_threshold_side_depends_on_direction():
    assert threshold_on_right_side(HIGHER, D(90), D(85))
    assert not threshold_on_right_side(HIGHER, D(90), D(95))
    assert threshold_on_right_side(LOWER, D(4), D(6))
    assert not threshold_on_right_side(LOWER, D(4), D(3))
    assert threshold_on_right_side(HIGHER, D(90), D(90))  # no at-risk band


def test_targets_are_effective_dated_and_never_rejudge_earlier_months():
    s = series(
        targets=((Month(2025, 1), 90, 85), (Month(2025, 7), 95, 92)),
        values={Month(2025, 6): 91, Month(2025, 7): 91},
    )
    assert target_in_force(s.targets, Month(2024, 12)) is None
    assert target_in_force(s.targets, Month(2025, 6)).target == 90
    assert target_in_force(s.targets, Month(2026, 3)).target == 95
    assert status_of(s, Month(2025, 6)) is Status.MET  # judged against 90
    assert status_of(s, Month(2025, 7)) is Status.BREACHED  # judged against 95 / 92


def test_missing_not_applicable_and_before_the_first_target():
    s = series(
        values={
            Month(2025, 2): MeasurementPoint(value=None, not_applicable=True, note="No classes"),
            Month(2025, 3): MeasurementPoint(value=D(99), confirmed=False),
        }
    )
    assert status_of(s, Month(2025, 1)) is Status.MISSING
    assert status_of(s, Month(2025, 2)) is Status.NOT_APPLICABLE
    assert status_of(s, Month(2024, 12)) is Status.NOT_APPLICABLE  # no target yet
    assert status_of(s, Month(2025, 3)) is Status.MET
    assert status_of(s, Month(2025, 3), confirmed_only=True) is Status.MISSING


def test_attainment_is_weighted_and_counts_only_confirmed_measurements():
    month = Month(2025, 5)
    met_heavy = series(values={month: 95}, weight=3, sla_id=1)
    breached = series(values={month: 50}, weight=1, sla_id=2)
    at_risk = series(values={month: 87}, weight=1, sla_id=3)
    proposed = series(values={month: MeasurementPoint(value=D(99), confirmed=False)}, sla_id=4)
    missing = series(values={}, sla_id=5)
    not_applicable = series(
        values={month: MeasurementPoint(value=None, not_applicable=True)}, sla_id=6
    )
    result = attainment([met_heavy, breached, at_risk, proposed, missing, not_applicable], month)
    assert result.met_weight == 3
    assert result.measured_weight == 5
    assert result.rate == pytest.approx(0.6)
    assert result.percent == 60.0
    assert result.counts[Status.MISSING] == 2  # no measurement, and only a proposed one
    assert result.counts[Status.NOT_APPLICABLE] == 1
    assert result.counts[Status.MET] == 1
    assert result.counts[Status.AT_RISK] == 1
    assert result.counts[Status.BREACHED] == 1


def test_attainment_without_any_confirmed_measurement_is_unknown_not_zero():
    assert attainment([series(values={})], Month(2025, 5)).rate is None
    assert attainment([], Month(2025, 5)).percent is None


def _months(start: Month, values):
    return {start.shift(i): v for i, v in enumerate(values)}


def test_early_warning_higher_is_better_trending_down():
    # 98 → 88 over six months, −2/month: 86 (at risk) next month, 84 (breached) after.
    s = series(values=_months(Month(2025, 1), [98, 96, 94, 92, 90, 88]))
    warning = early_warning(s, Month(2025, 6))
    assert warning is not None
    assert warning.slope_per_month == pytest.approx(-2.0)
    assert warning.breach_month == Month(2025, 8)
    assert [round(v, 2) for _, v in warning.projected] == [86.0, 84.0]


def test_early_warning_lower_is_better_trending_up():
    s = series(
        direction=LOWER,
        targets=((Month(2025, 1), 4, 6),),
        values=_months(Month(2025, 1), [3.4, 3.8, 4.3, 4.7, 5.1, 5.5]),
    )
    warning = early_warning(s, Month(2025, 6))
    assert warning is not None and warning.breach_month == Month(2025, 8)


def test_no_warning_when_the_trend_stays_clear_or_is_flat():
    slow = series(values=_months(Month(2025, 1), [96, 95.8, 95.6, 95.4, 95.2, 95]))
    assert early_warning(slow, Month(2025, 6)) is None
    flat = series(values=_months(Month(2025, 1), [91, 91, 91, 91]))
    assert early_warning(flat, Month(2025, 4)) is None


def test_no_warning_for_an_sla_already_breached():
    s = series(values=_months(Month(2025, 1), [95, 93, 90, 88, 86, 80]))
    assert early_warning(s, Month(2025, 6)) is None


def test_early_warning_uses_only_confirmed_applicable_months_and_needs_three():
    values = _months(Month(2025, 1), [95, 94])
    values[Month(2025, 3)] = MeasurementPoint(value=D(60), confirmed=False)  # proposed
    values[Month(2025, 4)] = MeasurementPoint(value=None, not_applicable=True)
    s = series(values=values)
    assert early_warning(s, Month(2025, 4)) is None  # only two usable points
    values[Month(2025, 5)] = MeasurementPoint(value=D(93))
    # 95, 94, (gap), (gap), 93: a gentle fall, projected ~92.5 — no warning. Had the proposed
    # 60 counted, the line would plunge through the threshold.
    assert early_warning(series(values=values), Month(2025, 5)) is None
    values[Month(2025, 3)] = MeasurementPoint(value=D(60))  # now confirmed
    assert early_warning(series(values=values), Month(2025, 5)) is not None


def test_early_warning_uses_the_last_six_confirmed_months_only():
    # A long healthy history followed by a steep fall: only the last six count.
    values = _months(Month(2024, 1), [99] * 12 + [96, 94, 92, 90, 88, 86])
    warning = early_warning(
        series(targets=((Month(2024, 1), 90, 85),), values=values), Month(2025, 6)
    )
    assert warning is not None
    assert warning.slope_per_month == pytest.approx(-2.0)
    assert warning.breach_month == Month(2025, 7)


def test_early_warning_judges_future_months_against_the_target_then_in_force():
    # The target drops from next month, so the same trend no longer breaches.
    s = series(
        targets=((Month(2025, 1), 90, 85), (Month(2025, 7), 80, 75)),
        values=_months(Month(2025, 1), [98, 96, 94, 92, 90, 88]),
    )
    assert early_warning(s, Month(2025, 6)) is None
