"""Learner satisfaction figures (PRODUCT.md §3) by month, region and program; comments; and
totals reported by hand.

Figures, as implemented here:

- **n** is counted per measure: ``n_rating`` answers on the 1–5 scale, ``n_recommend`` answers
  on the 0–10 scale. **Mean rating** = mean of the 1–5 ratings. **CSAT** = % of the 1–5
  ratings that are 4 or 5, with a 95% **Wilson** score interval. **NPS** = % of 0–10 answers
  that are 9–10 minus % that are 0–6, with its 95% margin of error
  ``1.96·√((p₉₋₁₀ + p₀₋₆ − (p₉₋₁₀ − p₀₋₆)²) / n)·100`` points.
- **Low sample**: a figure is marked low sample when a measure it reports has n < 10.
- Everything is computed from the monthly sums of the responses (``satisfaction_months``,
  kept equal to the responses by ``services/satisfaction_months``), never from the responses
  one by one: one query adds them up by month, region, program, month × region and month ×
  program, so a call makes a constant number of queries whatever the number of responses,
  and the figures' work in Python does not grow with it either.
- Percentages are rounded to 1 decimal, the mean to 2, as floats; the noise-band rule uses
  the unrounded counts.

Noise band (one rule for every month-over-month change):

    A change of CSAT (or NPS) from the previous month to this month is **outside the noise
    band** when both months have n ≥ 10 for that measure and
    |Δ| > 1.96 · √(SE_prev² + SE_this²)   (an unpooled two-sample z-test at 95%),
    where for CSAT SE = √(p(1 − p) / n) with p the share of 4–5 ratings, and for NPS
    SE = √((p_promoters + p_detractors − (p_promoters − p_detractors)²) / n).
    It is judged for the partnership as a whole and for each region, on the figure shown
    for that cell (computed, or reported when no response exists — see below).

Reported vs computed (totals entered by hand, ``ReportedSatisfaction``):

    A reported total belongs to one cell: a month, optionally a region, optionally a
    program. Reported and computed figures are never added together. When the same cell
    also has imported responses, the computed figure wins and the reported row is still
    listed, flagged *superseded*; otherwise the reported figure stands for that cell,
    marked *reported*. Whole-period totals by region and by program add up responses only.
    A reported CSAT gets a Wilson interval from its n; a reported NPS has no known
    promoter/detractor split, so its margin uses the largest variance compatible with the
    score, 1 − NPS² (NPS as a fraction): 1.96·√((1 − NPS²) / n)·100 — conservative.
    A reported mean has no interval.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cached_property

import sqlalchemy as sa

from mls_tracker import access
from mls_tracker.access import Action
from mls_tracker.audit import acting_as
from mls_tracker.extensions import db
from mls_tracker.formatting import rounded
from mls_tracker.models import (
    Partnership,
    Region,
    ReportedSatisfaction,
    SurveyResponse,
    User,
    partnership_regions,
)
from mls_tracker.models.satisfaction import SatisfactionMonth
from mls_tracker.pagination import PageWindow, page_window
from mls_tracker.periods import Month
from mls_tracker.services.errors import ValidationFailed

Z = 1.96
LOW_SAMPLE_N = 10
COMPUTED = "computed"
REPORTED = "reported"
COMMENTS_PER_PAGE = 25
MANAGE_MESSAGE = "Only the partnership's leads enter reported totals."
PROGRAM_MAX = 200


# ----------------------------------------------------------------------------- statistics


def wilson_interval(successes: float, n: int, z: float = Z) -> tuple[float, float]:
    """The Wilson score interval of a proportion, as fractions 0–1."""
    if n <= 0:
        raise ValueError("n must be positive")
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(max(p * (1 - p) / n + z2 / (4 * n * n), 0.0)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def nps_variance(p_promoters: float, p_detractors: float) -> float:
    """The variance of one answer scored +1 (promoter), 0 (passive), −1 (detractor)."""
    return max(p_promoters + p_detractors - (p_promoters - p_detractors) ** 2, 0.0)


def nps_margin(promoters: float, detractors: float, n: int, z: float = Z) -> float:
    """The margin of error of an NPS, in points."""
    if n <= 0:
        raise ValueError("n must be positive")
    return z * math.sqrt(nps_variance(promoters / n, detractors / n) / n) * 100


def reported_nps_margin(nps: float, n: int, z: float = Z) -> float:
    """A conservative margin for an NPS reported without its split: variance ≤ 1 − NPS²."""
    score = nps / 100
    return z * math.sqrt(max(1 - score * score, 0.0) / n) * 100


# ----------------------------------------------------------------------------- figures


@dataclass(frozen=True, slots=True)
class Counts:
    """Additive sums of one group of responses."""

    n_rating: int = 0
    rating_sum: int = 0
    satisfied: int = 0  # ratings of 4 or 5
    n_recommend: int = 0
    promoters: int = 0  # 9–10
    detractors: int = 0  # 0–6

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.n_rating + other.n_rating,
            self.rating_sum + other.rating_sum,
            self.satisfied + other.satisfied,
            self.n_recommend + other.n_recommend,
            self.promoters + other.promoters,
            self.detractors + other.detractors,
        )

    @property
    def csat_se(self) -> float | None:
        if not self.n_rating:
            return None
        p = self.satisfied / self.n_rating
        return math.sqrt(p * (1 - p) / self.n_rating)

    @property
    def nps_se(self) -> float | None:
        if not self.n_recommend:
            return None
        n = self.n_recommend
        return math.sqrt(nps_variance(self.promoters / n, self.detractors / n) / n)


@dataclass(frozen=True, slots=True)
class SatisfactionFigure:
    """One cell's figures. ``month`` is None for a whole-period total; ``region_id`` and
    ``program`` are None for "all" (``region_name`` "No region" marks responses without one
    in a by-region breakdown, where ``no_region`` is true). Percentages are 0–100."""

    month: Month | None
    region_id: int | None
    region_name: str | None
    program: str | None
    n_rating: int
    mean_rating: float | None
    csat: float | None
    csat_low: float | None
    csat_high: float | None
    n_recommend: int
    nps: float | None
    nps_moe: float | None
    low_sample: bool
    source: str  # COMPUTED | REPORTED
    counts: Counts | None = None  # the sums behind a computed figure
    reported_id: int | None = None
    no_region: bool = False

    @property
    def n(self) -> int:
        return max(self.n_rating, self.n_recommend)

    @property
    def is_reported(self) -> bool:
        return self.source == REPORTED

    @property
    def csat_se(self) -> float | None:
        """Standard error of CSAT as a fraction (for the noise band)."""
        if self.counts is not None:
            return self.counts.csat_se
        if self.csat is None or not self.n_rating:
            return None
        p = self.csat / 100
        return math.sqrt(p * (1 - p) / self.n_rating)

    @property
    def nps_se(self) -> float | None:
        """Standard error of NPS as a fraction (for the noise band)."""
        if self.counts is not None:
            return self.counts.nps_se
        if self.nps is None or not self.n_recommend:
            return None
        score = self.nps / 100
        return math.sqrt(max(1 - score * score, 0.0) / self.n_recommend)

    @property
    def csat_exact(self) -> float | None:
        if self.counts is not None and self.counts.n_rating:
            return self.counts.satisfied / self.counts.n_rating
        return None if self.csat is None else self.csat / 100

    @property
    def nps_exact(self) -> float | None:
        c = self.counts
        if c is not None and c.n_recommend:
            return (c.promoters - c.detractors) / c.n_recommend
        return None if self.nps is None else self.nps / 100


def _pct(fraction: float) -> float:
    """A percentage rounded half up to one decimal (never banker's rounding)."""
    return float(rounded(fraction * 100, 1))


def _low(n_rating: int, n_recommend: int) -> bool:
    ns = [n for n in (n_rating, n_recommend) if n]
    return any(n < LOW_SAMPLE_N for n in ns)


def figure_from_counts(
    counts: Counts,
    *,
    month: Month | None = None,
    region_id: int | None = None,
    region_name: str | None = None,
    program: str | None = None,
    no_region: bool = False,
) -> SatisfactionFigure:
    csat = csat_low = csat_high = mean = None
    if counts.n_rating:
        mean = float(rounded(counts.rating_sum / counts.n_rating, 2))  # 4.125 → 4.13
        csat = _pct(counts.satisfied / counts.n_rating)
        low, high = wilson_interval(counts.satisfied, counts.n_rating)
        csat_low, csat_high = _pct(low), _pct(high)
    nps = nps_moe = None
    if counts.n_recommend:
        n = counts.n_recommend
        nps = _pct((counts.promoters - counts.detractors) / n)
        nps_moe = round(nps_margin(counts.promoters, counts.detractors, n), 1)
    return SatisfactionFigure(
        month=month,
        region_id=region_id,
        region_name=region_name,
        program=program,
        n_rating=counts.n_rating,
        mean_rating=mean,
        csat=csat,
        csat_low=csat_low,
        csat_high=csat_high,
        n_recommend=counts.n_recommend,
        nps=nps,
        nps_moe=nps_moe,
        low_sample=_low(counts.n_rating, counts.n_recommend),
        source=COMPUTED,
        counts=counts,
        no_region=no_region,
    )


@dataclass(frozen=True, slots=True)
class ReportedView:
    """A reported total as plain values; ``superseded`` when responses exist for its cell."""

    id: int
    month: Month
    region_id: int | None
    region_name: str | None
    program: str | None
    responses: int
    mean_rating: Decimal | None
    csat: Decimal | None
    nps: Decimal | None
    superseded: bool
    entered_by_name: str | None
    created_at: dt.datetime | None


def figure_from_reported(view: ReportedView) -> SatisfactionFigure:
    n = view.responses
    has_rating = view.mean_rating is not None or view.csat is not None
    csat = csat_low = csat_high = None
    if view.csat is not None:
        csat = float(view.csat)
        low, high = wilson_interval(csat / 100 * n, n)
        csat_low, csat_high = _pct(low), _pct(high)
    nps = nps_moe = None
    if view.nps is not None:
        nps = float(view.nps)
        nps_moe = round(reported_nps_margin(nps, n), 1)
    n_rating = n if has_rating else 0
    n_recommend = n if view.nps is not None else 0
    return SatisfactionFigure(
        month=view.month,
        region_id=view.region_id,
        region_name=view.region_name,
        program=view.program,
        n_rating=n_rating,
        mean_rating=None if view.mean_rating is None else float(view.mean_rating),
        csat=csat,
        csat_low=csat_low,
        csat_high=csat_high,
        n_recommend=n_recommend,
        nps=nps,
        nps_moe=nps_moe,
        low_sample=_low(n_rating, n_recommend),
        source=REPORTED,
        reported_id=view.id,
    )


NO_REGION_NAME = "No region"


def _region_sort_key(names: dict[int, str]):
    return lambda region_id: (region_id is None, names.get(region_id, "") if region_id else "")


def _region_label(names: dict[int, str], region_id: int | None) -> str:
    return names.get(region_id, "Unknown region") if region_id else NO_REGION_NAME


@dataclass(frozen=True)
class SatisfactionReport:
    """Every figure of a partnership for ``first``–``last``, as plain values.

    The figures per month × region and month × program (``by_month_region``,
    ``by_month_program``) are built from their sums when first read: the satisfaction page
    shows neither table, so it does not pay for them."""

    partnership_id: int
    first: Month
    last: Month
    by_month: tuple[SatisfactionFigure, ...]  # one per month with data, oldest first
    by_region: tuple[SatisfactionFigure, ...]  # whole-period totals, responses only
    by_program: tuple[SatisfactionFigure, ...]
    reported: tuple[ReportedView, ...]  # newest month first
    region_names: dict[int, str] = field(default_factory=dict)
    # The sums per month × region and month × program, and the reported totals that stand
    # for such a cell (no response in it): what the two breakdowns are built from.
    month_region_counts: dict[tuple[Month, int | None], Counts] = field(
        default_factory=dict, repr=False
    )
    month_program_counts: dict[tuple[Month, str | None], Counts] = field(
        default_factory=dict, repr=False
    )
    standing: tuple[ReportedView, ...] = field(default=(), repr=False)

    @property
    def latest(self) -> SatisfactionFigure | None:
        return self.by_month[-1] if self.by_month else None

    def month_figure(self, month: Month) -> SatisfactionFigure | None:
        return next((f for f in self.by_month if f.month == month), None)

    def _region_figure(self, key: tuple[Month, int | None]) -> SatisfactionFigure:
        reported = self._reported_cells[0].get(key)
        if reported is not None:
            return reported
        return figure_from_counts(
            self.month_region_counts[key],
            month=key[0],
            region_id=key[1],
            region_name=_region_label(self.region_names, key[1]),
            no_region=key[1] is None,
        )

    @cached_property
    def _reported_cells(
        self,
    ) -> tuple[
        dict[tuple[Month, int | None], SatisfactionFigure],
        dict[tuple[Month, str | None], SatisfactionFigure],
    ]:
        """The reported figures standing for a month × region and a month × program cell."""
        regions = {
            (v.month, v.region_id): figure_from_reported(v)
            for v in self.standing
            if v.program is None and v.region_id is not None
        }
        programs = {
            (v.month, v.program): figure_from_reported(v)
            for v in self.standing
            if v.region_id is None and v.program is not None
        }
        return regions, programs

    def _region_keys(self) -> list[tuple[Month, int | None]]:
        order = _region_sort_key(self.region_names)
        keys = set(self.month_region_counts) | set(self._reported_cells[0])
        return sorted(keys, key=lambda k: (k[0], order(k[1])))

    def region_figures(self, month: Month) -> list[SatisfactionFigure]:
        """The figures of ``month`` by region (responses without a region last)."""
        return [self._region_figure(k) for k in self._region_keys() if k[0] == month]

    @cached_property
    def by_month_region(self) -> tuple[SatisfactionFigure, ...]:
        return tuple(self._region_figure(key) for key in self._region_keys())

    @cached_property
    def by_month_program(self) -> tuple[SatisfactionFigure, ...]:
        reported = self._reported_cells[1]
        keys = set(self.month_program_counts) | set(reported)
        return tuple(
            reported[key]
            if key in reported
            else figure_from_counts(self.month_program_counts[key], month=key[0], program=key[1])
            for key in sorted(keys, key=lambda k: (k[0], k[1] is None, k[1] or ""))
        )

    @property
    def is_empty(self) -> bool:
        return not self.by_month and not self.reported


def _sums() -> tuple[sa.ColumnElement[int], ...]:
    """The sums behind ``Counts``, over the rows of ``satisfaction_months`` grouped."""
    m = SatisfactionMonth
    columns = (m.n_rating, m.rating_sum, m.satisfied, m.n_recommend, m.promoters, m.detractors)
    return tuple(sa.func.sum(column) for column in columns)


# The breakdowns one query returns, each row tagged with its own.
_BY_MONTH, _BY_REGION, _BY_PROGRAM, _BY_MONTH_REGION, _BY_MONTH_PROGRAM = range(5)


def _breakdown_counts(partnership_id: int, first: Month, last: Month) -> list[tuple]:
    """Counts and sums by month, region, program, month × region and month × program: one
    query (five ``GROUP BY`` over the monthly sums, joined with ``UNION ALL``), so that no
    response and no sum is added up in Python. Rows: (breakdown, month, region, program,
    *counts); a column the breakdown does not group by is NULL."""
    m = SatisfactionMonth
    where = (m.partnership_id == partnership_id, m.month >= first, m.month <= last, m.counted())
    nothing = sa.null()
    groupings = (
        (_BY_MONTH, (m.month, nothing, nothing), (m.month,)),
        (_BY_REGION, (nothing, m.region_id, nothing), (m.region_id,)),
        (_BY_PROGRAM, (nothing, nothing, m.program), (m.program,)),
        (_BY_MONTH_REGION, (m.month, m.region_id, nothing), (m.month, m.region_id)),
        (_BY_MONTH_PROGRAM, (m.month, nothing, m.program), (m.month, m.program)),
    )
    query = sa.union_all(
        *(
            sa.select(sa.literal(tag, sa.Integer), *columns, *_sums())
            .where(*where)
            .group_by(*group_by)
            for tag, columns, group_by in groupings
        )
    )
    # (The union's columns are typed by its first SELECT's: months come back as months.)
    return [
        (tag, month, region_id, program, Counts(*(int(v) for v in values)))
        for tag, month, region_id, program, *values in db.session.execute(query)
    ]


def monthly_counts_many(
    partnership_ids: Sequence[int], first: Month, last: Month
) -> dict[int, dict[Month, Counts]]:
    """Counts and sums per partnership × month (every id is a key), in one ``GROUP BY`` over
    the monthly sums whatever the number of partnerships."""
    result: dict[int, dict[Month, Counts]] = {pid: {} for pid in partnership_ids}
    if not partnership_ids:
        return result
    m = SatisfactionMonth
    query = (
        sa.select(m.partnership_id, m.month, *_sums())
        .where(
            m.partnership_id.in_(partnership_ids), m.month >= first, m.month <= last, m.counted()
        )
        .group_by(m.partnership_id, m.month)
    )
    for partnership_id, month, *values in db.session.execute(query):
        result[partnership_id][month] = Counts(*(int(v) for v in values))
    return result


def _superseded() -> sa.Exists:
    """Whether responses that count exist in a reported total's cell: its month, and its
    region and program when it names them."""
    m, r = SatisfactionMonth, ReportedSatisfaction
    return sa.exists().where(
        m.partnership_id == r.partnership_id,
        m.month == r.month,
        m.counted(),
        sa.or_(r.region_id.is_(None), m.region_id == r.region_id),
        sa.or_(r.program.is_(None), m.program == r.program),
    )


def _reported_query() -> sa.Select:
    """Reported totals with their region's name, who entered them and whether superseded."""
    return (
        sa.select(ReportedSatisfaction, Region.name, User.display_name, _superseded())
        .outerjoin(Region, Region.id == ReportedSatisfaction.region_id)
        .outerjoin(User, User.id == ReportedSatisfaction.entered_by_id)
    )


def _reported_views(partnership_id: int, first: Month, last: Month) -> list[ReportedView]:
    r = ReportedSatisfaction
    query = (
        _reported_query()
        .where(r.partnership_id == partnership_id, r.month >= first, r.month <= last)
        .order_by(r.month.desc(), r.region_id, r.program, r.id)
    )
    return [_view_of(*row) for row in db.session.execute(query)]


def load_satisfaction(partnership_id: int, first: Month, last: Month) -> SatisfactionReport:
    """Every figure from ``first`` to ``last`` in three queries, whatever the data size."""
    rows = _breakdown_counts(partnership_id, first, last)
    reported = _reported_views(partnership_id, first, last)
    region_ids = {row[2] for row in rows if row[2] is not None}
    region_names: dict[int, str] = {}
    if region_ids:
        names = db.session.execute(
            sa.select(Region.id, Region.name).where(Region.id.in_(region_ids))
        )
        region_names = {region_id: name for region_id, name in names}
    for view in reported:
        if view.region_id is not None and view.region_name:
            region_names.setdefault(view.region_id, view.region_name)

    breakdowns: tuple[dict, ...] = ({}, {}, {}, {}, {})
    for tag, month, region_id, program, counts in rows:
        key = {
            _BY_MONTH: month,
            _BY_REGION: region_id,
            _BY_PROGRAM: program,
            _BY_MONTH_REGION: (month, region_id),
            _BY_MONTH_PROGRAM: (month, program),
        }[tag]
        breakdowns[tag][key] = counts
    month_counts, region_total, program_total, month_region, month_program = breakdowns

    # Reported rows stand for their cell only where no response exists (never blended).
    standing = tuple(view for view in reported if not view.superseded)
    by_month = {
        month: figure_from_counts(counts, month=month) for month, counts in month_counts.items()
    }
    for view in standing:
        if view.program is None and view.region_id is None:
            by_month[view.month] = figure_from_reported(view)

    region_order = _region_sort_key(region_names)
    return SatisfactionReport(
        partnership_id=partnership_id,
        first=first,
        last=last,
        by_month=tuple(by_month[m] for m in sorted(by_month)),
        by_region=tuple(
            figure_from_counts(
                region_total[rid],
                region_id=rid,
                region_name=_region_label(region_names, rid),
                no_region=rid is None,
            )
            for rid in sorted(region_total, key=region_order)
        ),
        by_program=tuple(
            figure_from_counts(program_total[p], program=p)
            for p in sorted(program_total, key=lambda p: (p is None, (p or "").lower()))
        ),
        reported=tuple(reported),
        region_names=region_names,
        month_region_counts=month_region,
        month_program_counts=month_program,
        standing=standing,
    )


def monthly_figures(partnership_id: int, first: Month, last: Month) -> list[SatisfactionFigure]:
    """The partnership's figure for each month with data (computed, or reported)."""
    return list(load_satisfaction(partnership_id, first, last).by_month)


def latest_month_with_data(partnership_id: int) -> Month | None:
    """The newest month holding a response or a reported total (two small queries)."""
    months = [
        db.session.scalar(
            sa.select(sa.func.max(SatisfactionMonth.month)).where(
                SatisfactionMonth.partnership_id == partnership_id, SatisfactionMonth.counted()
            )
        ),
        db.session.scalar(
            sa.select(sa.func.max(ReportedSatisfaction.month)).where(
                ReportedSatisfaction.partnership_id == partnership_id
            )
        ),
    ]
    found = [Month.of(m) if isinstance(m, dt.date) else m for m in months if m is not None]
    return max(found) if found else None


# ----------------------------------------------------------------------------- noise band


@dataclass(frozen=True, slots=True)
class NoiseChange:
    """A month-over-month change outside the noise band. Values are in % (CSAT) or points
    (NPS), as shown; ``threshold`` is the band's half-width in the same unit."""

    measure: str  # "csat" | "nps"
    month: Month
    region_id: int | None  # None: the partnership as a whole
    region_name: str | None
    previous: float
    current: float
    n_previous: int
    n_current: int
    delta: float
    threshold: float

    @property
    def direction(self) -> str:
        return "rose" if self.delta > 0 else "fell"


def change_outside_noise(
    measure: str, previous: SatisfactionFigure, current: SatisfactionFigure
) -> NoiseChange | None:
    """Apply the noise-band rule (module docstring) to one measure of two figures."""
    if measure == "csat":
        n_prev, n_cur = previous.n_rating, current.n_rating
        p_prev, p_cur = previous.csat_exact, current.csat_exact
        se_prev, se_cur = previous.csat_se, current.csat_se
        shown_prev, shown_cur = previous.csat, current.csat
    elif measure == "nps":
        n_prev, n_cur = previous.n_recommend, current.n_recommend
        p_prev, p_cur = previous.nps_exact, current.nps_exact
        se_prev, se_cur = previous.nps_se, current.nps_se
        shown_prev, shown_cur = previous.nps, current.nps
    else:
        raise ValueError(f"unknown measure {measure!r}")
    if p_prev is None or p_cur is None or se_prev is None or se_cur is None:
        return None
    if n_prev < LOW_SAMPLE_N or n_cur < LOW_SAMPLE_N:
        return None
    delta = p_cur - p_prev
    threshold = Z * math.sqrt(se_prev**2 + se_cur**2)
    if abs(delta) <= threshold:
        return None
    return NoiseChange(
        measure=measure,
        month=current.month,  # type: ignore[arg-type]
        region_id=current.region_id,
        region_name=current.region_name if current.region_id is not None else None,
        previous=shown_prev,  # type: ignore[arg-type]
        current=shown_cur,  # type: ignore[arg-type]
        n_previous=n_prev,
        n_current=n_cur,
        delta=round(delta * 100, 1),
        threshold=round(threshold * 100, 1),
    )


def noise_changes(report: SatisfactionReport, month: Month) -> list[NoiseChange]:
    """Changes outside the noise band from the month before ``month`` to ``month``: the
    partnership as a whole first, then each region (responses without a region are left out)."""
    previous_month = month.previous()
    pairs: list[tuple[SatisfactionFigure | None, SatisfactionFigure | None]] = [
        (report.month_figure(previous_month), report.month_figure(month))
    ]
    earlier = {f.region_id: f for f in report.region_figures(previous_month)}
    pairs += [
        (earlier.get(f.region_id), f)
        for f in report.region_figures(month)
        if f.region_id is not None
    ]
    changes = []
    for previous, current in pairs:
        if previous is None or current is None:
            continue
        for measure in ("csat", "nps"):
            change = change_outside_noise(measure, previous, current)
            if change is not None:
                changes.append(change)
    return changes


def changes_outside_noise(partnership_id: int, month: Month) -> list[NoiseChange]:
    """The noise-band rule applied to ``month`` against the month before (three queries)."""
    return noise_changes(load_satisfaction(partnership_id, month.previous(), month), month)


# ----------------------------------------------------------------------------- comments


@dataclass(frozen=True, slots=True)
class Comment:
    id: int
    submitted_at: dt.datetime
    month: Month
    region_name: str | None
    program: str | None
    rating: int | None
    recommend: int | None
    text: str


@dataclass(frozen=True, slots=True)
class CommentPage:
    comments: tuple[Comment, ...]
    window: PageWindow

    @property
    def total(self) -> int:
        return self.window.total

    @property
    def page(self) -> int:
        return self.window.number

    @property
    def pages(self) -> int:
        return self.window.pages

    @property
    def has_previous(self) -> bool:
        return self.window.has_previous

    @property
    def has_next(self) -> bool:
        return self.window.has_next


def _comment_query(
    partnership_id: int,
    *,
    q: str | None,
    region_id: int | None,
    program: str | None,
    rating: int | None,
    first: Month | None,
    last: Month | None,
) -> sa.Select:
    r = SurveyResponse
    query = sa.select(r.id).where(
        r.partnership_id == partnership_id, r.comment.is_not(None), r.comment != "", r.counted()
    )
    if q:
        query = query.where(r.comment.icontains(q.strip(), autoescape=True))
    if region_id is not None:
        query = query.where(r.region_id == region_id)
    if program:
        query = query.where(r.program == program)
    if rating is not None:
        query = query.where(r.rating == rating)
    if first is not None:
        query = query.where(r.month >= first)
    if last is not None:
        query = query.where(r.month <= last)
    return query


def list_comments(
    partnership_id: int,
    *,
    q: str | None = None,
    region_id: int | None = None,
    program: str | None = None,
    rating: int | None = None,
    first: Month | None = None,
    last: Month | None = None,
    page: int | str | None = 1,
    per_page: int | None = COMMENTS_PER_PAGE,
) -> CommentPage:
    """Comments, newest first, filtered; one page (``per_page`` None: all) in two queries.
    ``page`` (a number or the query string's text) is clamped to 1..the last page."""
    filtered = _comment_query(
        partnership_id,
        q=q,
        region_id=region_id,
        program=program,
        rating=rating,
        first=first,
        last=last,
    )
    r = SurveyResponse
    total = db.session.scalar(sa.select(sa.func.count()).select_from(filtered.subquery())) or 0
    # "All" is one page as long as everything, so that the window needs no special case.
    window = page_window(total, page, per_page or max(total, 1))
    query = (
        sa.select(
            r.id, r.submitted_at, r.month, Region.name, r.program, r.rating, r.recommend, r.comment
        )
        .outerjoin(Region, Region.id == r.region_id)
        .where(r.id.in_(filtered))
        .order_by(r.submitted_at.desc(), r.id.desc())
    )
    if per_page:
        query = query.limit(per_page).offset(window.offset)
    comments = tuple(Comment(*row) for row in db.session.execute(query))
    return CommentPage(comments, window)


def programs_of(partnership_id: int) -> list[str]:
    """The programs named in the partnership's responses and reported totals, sorted."""
    responses = sa.select(SatisfactionMonth.program).where(
        SatisfactionMonth.partnership_id == partnership_id, SatisfactionMonth.program.is_not(None)
    )
    reported = sa.select(ReportedSatisfaction.program).where(
        ReportedSatisfaction.partnership_id == partnership_id,
        ReportedSatisfaction.program.is_not(None),
    )
    names = db.session.scalars(sa.union(responses, reported)).all()
    return sorted(names, key=str.lower)


# ----------------------------------------------------------------------------- CSV rows

FIGURE_COLUMNS = (
    "n (ratings)",
    "Mean rating",
    "CSAT %",
    "CSAT 95% low",
    "CSAT 95% high",
    "n (recommend)",
    "NPS",
    "NPS margin ±",
    "Low sample",
    "Source",
)


def _figure_cells(figure: SatisfactionFigure) -> list:
    return [
        figure.n_rating,
        figure.mean_rating,
        figure.csat,
        figure.csat_low,
        figure.csat_high,
        figure.n_recommend,
        figure.nps,
        figure.nps_moe,
        "yes" if figure.low_sample else "no",
        figure.source,
    ]


def month_rows(figures: Iterable[SatisfactionFigure]) -> Iterable[Sequence]:
    for figure in figures:
        yield [str(figure.month), *_figure_cells(figure)]


def region_rows(figures: Iterable[SatisfactionFigure]) -> Iterable[Sequence]:
    for figure in figures:
        yield [figure.region_name or NO_REGION_NAME, *_figure_cells(figure)]


def program_rows(figures: Iterable[SatisfactionFigure]) -> Iterable[Sequence]:
    for figure in figures:
        yield [figure.program or "No program", *_figure_cells(figure)]


COMMENT_COLUMNS = (
    "Submitted at (UTC)",
    "Month",
    "Region",
    "Program",
    "Rating",
    "Recommend",
    "Comment",
)


def comment_rows(comments: Iterable[Comment]) -> Iterable[Sequence]:
    for c in comments:
        yield [
            c.submitted_at.isoformat(),
            str(c.month),
            c.region_name or "",
            c.program or "",
            c.rating,
            c.recommend,
            c.text,
        ]


# ----------------------------------------------------------------------------- reported writes


def _decimal(value, field_name: str, label: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as error:
        raise ValidationFailed(f"Enter the {label} as a number.", field=field_name) from error
    if not number.is_finite():
        raise ValidationFailed(f"Enter the {label} as a number.", field=field_name)
    return number


def _clean_reported(
    partnership_id: int,
    today: dt.date,
    *,
    month: Month | None,
    region_id: int | None,
    program: str | None,
    responses: int | None,
    mean_rating,
    csat,
    nps,
    current_id: int | None = None,
    current_region_id: int | None = None,
) -> dict:
    if month is None:
        raise ValidationFailed("Enter the month the totals are for (YYYY-MM).", field="month")
    if month > Month.of(today):
        raise ValidationFailed(
            "A reported total cannot be for a month in the future.", field="month"
        )
    if responses is None or responses < 1:
        raise ValidationFailed("Enter the number of responses: 1 or more.", field="responses")
    mean = _decimal(mean_rating, "mean_rating", "mean rating")
    csat_value = _decimal(csat, "csat", "CSAT")
    nps_value = _decimal(nps, "nps", "NPS")
    if mean is not None and not Decimal(1) <= mean <= Decimal(5):
        raise ValidationFailed("The mean rating is between 1 and 5.", field="mean_rating")
    if csat_value is not None and not Decimal(0) <= csat_value <= Decimal(100):
        raise ValidationFailed("CSAT is a percentage between 0 and 100.", field="csat")
    if nps_value is not None and not Decimal(-100) <= nps_value <= Decimal(100):
        raise ValidationFailed("NPS is between −100 and +100.", field="nps")
    if mean is None and csat_value is None and nps_value is None:
        raise ValidationFailed(
            "Enter at least one figure: the mean rating, CSAT or NPS.", field="mean_rating"
        )
    program = (program or "").strip() or None
    if program and len(program) > PROGRAM_MAX:
        raise ValidationFailed(
            f"Keep the program name to {PROGRAM_MAX} characters.", field="program"
        )
    if region_id:
        in_scope = db.session.scalar(
            sa.select(partnership_regions.c.region_id).where(
                partnership_regions.c.partnership_id == partnership_id,
                partnership_regions.c.region_id == region_id,
            )
        )
        if not in_scope and region_id != current_region_id:
            raise ValidationFailed(
                "Choose one of the partnership's regions in scope, or all regions.",
                field="region_id",
            )
    duplicate = sa.select(ReportedSatisfaction.id).where(
        ReportedSatisfaction.partnership_id == partnership_id,
        ReportedSatisfaction.month == month,
        ReportedSatisfaction.region_id.is_(None)
        if not region_id
        else ReportedSatisfaction.region_id == region_id,
        ReportedSatisfaction.program.is_(None)
        if program is None
        else ReportedSatisfaction.program == program,
    )
    if current_id is not None:
        duplicate = duplicate.where(ReportedSatisfaction.id != current_id)
    if db.session.scalar(duplicate) is not None:
        raise ValidationFailed(
            "There is already a reported total for this month, region and program: "
            "edit that one instead.",
            field="month",
        )
    return {
        "month": month,
        "region_id": region_id or None,
        "program": program,
        "responses": responses,
        "mean_rating": None if mean is None else mean.quantize(Decimal("0.01")),
        "csat": None if csat_value is None else csat_value.quantize(Decimal("0.01")),
        "nps": None if nps_value is None else nps_value.quantize(Decimal("0.1")),
    }


def add_reported(
    actor: User, partnership: Partnership, today: dt.date, **values
) -> ReportedSatisfaction:
    """Enter totals reported without individual responses (leads)."""
    access.require(actor, Action.MANAGE, partnership.id, message=MANAGE_MESSAGE)
    clean = _clean_reported(partnership.id, today, **values)
    with acting_as(actor.id):
        reported = ReportedSatisfaction(
            partnership_id=partnership.id, entered_by_id=actor.id, **clean
        )
        db.session.add(reported)
        db.session.commit()
    return reported


def update_reported(
    actor: User, reported: ReportedSatisfaction, today: dt.date, **values
) -> ReportedSatisfaction:
    """Correct a reported total (leads). The model has no version column, so the last save
    wins; the audit log keeps every earlier value."""
    access.require(actor, Action.MANAGE, reported.partnership_id, message=MANAGE_MESSAGE)
    clean = _clean_reported(
        reported.partnership_id,
        today,
        **values,
        current_id=reported.id,
        current_region_id=reported.region_id,
    )
    with acting_as(actor.id):
        for key, value in clean.items():
            setattr(reported, key, value)
        db.session.commit()
    return reported


def delete_reported(actor: User, reported: ReportedSatisfaction) -> None:
    """Delete a reported total (leads)."""
    access.require(actor, Action.MANAGE, reported.partnership_id, message=MANAGE_MESSAGE)
    with acting_as(actor.id):
        db.session.delete(reported)
        db.session.commit()


def reported_view(reported: ReportedSatisfaction) -> ReportedView:
    """One reported total as plain values (for the edit and delete pages)."""
    row = db.session.execute(_reported_query().where(ReportedSatisfaction.id == reported.id)).one()
    return _view_of(*row)


def _view_of(
    reported: ReportedSatisfaction,
    region_name: str | None,
    entered_by: str | None,
    superseded: bool,
) -> ReportedView:
    return ReportedView(
        id=reported.id,
        month=reported.month,
        region_id=reported.region_id,
        region_name=region_name,
        program=reported.program,
        responses=reported.responses,
        mean_rating=reported.mean_rating,
        csat=reported.csat,
        nps=reported.nps,
        superseded=superseded,
        entered_by_name=entered_by,
        created_at=reported.created_at,
    )
