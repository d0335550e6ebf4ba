"""Every SLA figure — status, attainment and early warning — from one module (PRODUCT.md §3).

The functions here take plain values (``SlaSeries``), not ORM objects, so the web pages, the
meeting agenda and the frozen scorecard snapshots all judge a month the same way.
``load_sla_series`` builds those values from the database in a fixed number of queries.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker.extensions import db
from mls_tracker.formatting import rounded
from mls_tracker.models import Direction, MeasurementState, Sla, SlaMeasurement, Unit
from mls_tracker.periods import Month

# Early warning: fit the last LOOKBACK confirmed values and look HORIZON months ahead.
LOOKBACK_MONTHS = 6
HORIZON_MONTHS = 2
MIN_POINTS_FOR_TREND = 3


class Status(enum.StrEnum):
    MET = "met"
    AT_RISK = "at risk"
    BREACHED = "breached"
    MISSING = "missing"
    NOT_APPLICABLE = "not applicable"


@dataclass(frozen=True, slots=True)
class TargetPoint:
    """A target and at-risk threshold, in force from ``effective_from`` until the next one."""

    effective_from: Month
    target: Decimal
    at_risk_threshold: Decimal


@dataclass(frozen=True, slots=True)
class MeasurementPoint:
    value: Decimal | None
    not_applicable: bool = False
    confirmed: bool = True
    note: str | None = None


@dataclass(frozen=True)
class SlaSeries:
    """One SLA with its targets and measurements, as plain values."""

    sla_id: int
    code: str
    name: str
    unit: Unit
    direction: Direction
    weight: Decimal
    targets: tuple[TargetPoint, ...]
    measurements: dict[Month, MeasurementPoint] = field(default_factory=dict)

    def target_for(self, month: Month) -> TargetPoint | None:
        return target_in_force(self.targets, month)


def target_in_force(targets: Iterable[TargetPoint], month: Month) -> TargetPoint | None:
    """The latest target effective on or before ``month``; None before the first one."""
    in_force = None
    for point in sorted(targets, key=lambda t: t.effective_from):
        if point.effective_from <= month:
            in_force = point
    return in_force


def threshold_on_right_side(direction: Direction, target: Decimal, at_risk: Decimal) -> bool:
    """Higher-is-better: the at-risk threshold lies below the target; lower-is-better: above.
    Equal means no at-risk band, which is allowed."""
    if direction is Direction.HIGHER_IS_BETTER:
        return at_risk <= target
    return at_risk >= target


def judge(value: Decimal | float, target: TargetPoint, direction: Direction) -> Status:
    """Met / at risk / breached for one actual against the target in force (PRODUCT.md §3)."""
    actual = Decimal(str(value)) if not isinstance(value, Decimal) else value
    if direction is Direction.HIGHER_IS_BETTER:
        if actual >= target.target:
            return Status.MET
        if actual >= target.at_risk_threshold:
            return Status.AT_RISK
        return Status.BREACHED
    if actual <= target.target:
        return Status.MET
    if actual <= target.at_risk_threshold:
        return Status.AT_RISK
    return Status.BREACHED


def status_of(series: SlaSeries, month: Month, *, confirmed_only: bool = False) -> Status:
    """The status of one SLA in one month. No measurement (or, with ``confirmed_only``, only a
    proposed one) is *missing*, never met. A month marked not applicable, or before the SLA's
    first target, is *not applicable*: neither met nor missed."""
    target = series.target_for(month)
    point = series.measurements.get(month)
    if target is None:
        return Status.NOT_APPLICABLE
    if point is None or (confirmed_only and not point.confirmed):
        return Status.MISSING
    if point.not_applicable:
        return Status.NOT_APPLICABLE
    if point.value is None:
        return Status.MISSING
    return judge(point.value, target, series.direction)


@dataclass(frozen=True)
class Attainment:
    """SLA attainment for a month: met SLAs ÷ SLAs with a confirmed measurement, by weight."""

    month: Month
    met_weight: Decimal
    measured_weight: Decimal
    counts: dict[Status, int]
    proposed: int = 0  # of the missing: a proposed actual awaits confirmation

    @property
    def rate(self) -> float | None:
        """0–1, or None when no SLA had a confirmed measurement."""
        if self.measured_weight <= 0:
            return None
        return float(self.met_weight / self.measured_weight)

    @property
    def exact_percent(self) -> float | None:
        """0–100 unrounded: what the health score is computed from."""
        return None if self.rate is None else self.rate * 100

    @property
    def percent(self) -> float | None:
        """0–100 rounded half up to one decimal, for display."""
        return None if self.rate is None else _half_up(self.rate * 100, 1)

    @property
    def confirmed_missing(self) -> int:
        """Missing SLAs with no actual at all (not even a proposed one)."""
        return self.counts[Status.MISSING] - self.proposed


def _half_up(value: float, digits: int) -> float:
    return float(rounded(value, digits))


def attainment(series_list: Sequence[SlaSeries], month: Month) -> Attainment:
    met_weight = Decimal(0)
    measured_weight = Decimal(0)
    counts = dict.fromkeys(Status, 0)
    proposed = 0
    for series in series_list:
        status = status_of(series, month, confirmed_only=True)
        counts[status] += 1
        if status is Status.MISSING and _is_proposed(series, month):
            proposed += 1
        if status in (Status.MET, Status.AT_RISK, Status.BREACHED):
            measured_weight += series.weight
            if status is Status.MET:
                met_weight += series.weight
    return Attainment(month, met_weight, measured_weight, counts, proposed)


def headline_attainment(attainments: Sequence[Attainment], current: Month) -> Attainment | None:
    """The attainment a page leads with: the newest *complete* month (before ``current``, the
    month in progress) with confirmed actuals; else the newest complete month; None when
    every month shown is in progress. Never the month in progress, whose actuals are still
    being entered ("Dec 2026: 0 % · 12 missing" on 5 Dec is no headline)."""
    complete = [a for a in attainments if a.month < current]
    with_rate = [a for a in complete if a.rate is not None]
    if with_rate:
        return with_rate[-1]
    return complete[-1] if complete else None


def _is_proposed(series: SlaSeries, month: Month) -> bool:
    """An actual is entered for the month but not yet confirmed."""
    point = series.measurements.get(month)
    return point is not None and not point.confirmed


@dataclass(frozen=True)
class EarlyWarning:
    """An SLA whose least-squares trend reaches the breach side within the horizon."""

    sla_id: int
    code: str
    slope_per_month: float
    projected: tuple[tuple[Month, float], ...]  # (month, projected value) for the horizon
    breach_month: Month


def _least_squares(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """Slope and intercept of the ordinary least-squares line through the points."""
    n = len(xs)
    mean_x = sum(xs) / n
    mean_y = sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return 0.0, mean_y
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    return slope, mean_y - slope * mean_x


def _index(month: Month) -> int:
    return month.year * 12 + month.month - 1


def early_warning(series: SlaSeries, as_of: Month) -> EarlyWarning | None:
    """Flag "trending to breach": fit the last 6 confirmed, applicable values up to ``as_of``
    (at least 3) with least squares; if the line, extended 1 and 2 months past ``as_of``, would
    be judged *breached* against the target then in force, warn — unless ``as_of`` is itself
    already breached (then it is a breach, not a warning)."""
    points = [
        (month, point)
        for month, point in sorted(series.measurements.items())
        if month <= as_of
        and point.confirmed
        and not point.not_applicable
        and point.value is not None
        and series.target_for(month) is not None
    ][-LOOKBACK_MONTHS:]
    if len(points) < MIN_POINTS_FOR_TREND:
        return None
    if status_of(series, as_of, confirmed_only=True) is Status.BREACHED:
        return None
    xs = [float(_index(month)) for month, _ in points]
    ys = [float(point.value) for _, point in points]  # type: ignore[arg-type]
    slope, intercept = _least_squares(xs, ys)
    projected = []
    breach_month = None
    for step in range(1, HORIZON_MONTHS + 1):
        month = as_of.shift(step)
        value = slope * _index(month) + intercept
        projected.append((month, value))
        target = series.target_for(month)
        if (
            breach_month is None
            and target is not None
            and judge(Decimal(str(round(value, 6))), target, series.direction) is Status.BREACHED
        ):
            breach_month = month
    if breach_month is None:
        return None
    return EarlyWarning(series.sla_id, series.code, slope, tuple(projected), breach_month)


def load_sla_series(
    partnership_id: int, first: Month, last: Month, *, include_inactive: bool = False
) -> list[SlaSeries]:
    """Every SLA of a partnership with its targets and the measurements from ``first`` to
    ``last``, in two queries whatever the number of SLAs."""
    return load_sla_series_many([partnership_id], first, last, include_inactive=include_inactive)[
        partnership_id
    ]


def load_sla_series_many(
    partnership_ids: Sequence[int],
    first: Month,
    last: Month,
    *,
    include_inactive: bool = False,
) -> dict[int, list[SlaSeries]]:
    """The SLA series of several partnerships (every id is a key), in three queries
    whatever the number of partnerships and SLAs."""
    result: dict[int, list[SlaSeries]] = {pid: [] for pid in partnership_ids}
    if not partnership_ids:
        return result
    query = (
        sa.select(Sla)
        .options(so.selectinload(Sla.targets))
        .where(Sla.partnership_id.in_(partnership_ids))
        .order_by(Sla.partnership_id, Sla.code)
    )
    if not include_inactive:
        query = query.where(Sla.active.is_(True))
    slas = db.session.scalars(query).all()
    by_sla: dict[int, dict[Month, MeasurementPoint]] = {sla.id: {} for sla in slas}
    if slas:
        rows = db.session.execute(
            sa.select(
                SlaMeasurement.sla_id,
                SlaMeasurement.month,
                SlaMeasurement.value,
                SlaMeasurement.not_applicable,
                SlaMeasurement.state,
                SlaMeasurement.note,
            )
            .join(Sla, Sla.id == SlaMeasurement.sla_id)
            .where(
                Sla.partnership_id.in_(partnership_ids),
                SlaMeasurement.month >= first,
                SlaMeasurement.month <= last,
            )
        )
        for sla_id, month, value, not_applicable, state, note in rows:
            if sla_id in by_sla:
                by_sla[sla_id][month] = MeasurementPoint(
                    value=value,
                    not_applicable=not_applicable,
                    confirmed=state is MeasurementState.CONFIRMED,
                    note=note,
                )
    for sla in slas:
        result[sla.partnership_id].append(
            SlaSeries(
                sla_id=sla.id,
                code=sla.code,
                name=sla.name,
                unit=sla.unit,
                direction=sla.direction,
                weight=sla.weight,
                targets=tuple(
                    TargetPoint(t.effective_from, t.target, t.at_risk_threshold)
                    for t in sla.targets
                ),
                measurements=by_sla[sla.id],
            )
        )
    return result
