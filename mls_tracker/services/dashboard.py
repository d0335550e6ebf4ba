"""The dashboards' figures: every partnership's plain figures per month, the portfolio
rows, and the "needs attention" list of a partnership.

A month's figures (SLA attainment and counts, satisfaction, action plan, coverage) are
computed here for many partnerships at once in a constant number of queries
(``compute_month_figures``) and read through the monthly figures cache
(``services/figures_cache.py``, which stores, commits and forgets them) by
``month_figures`` — never the health score, which is recomputed from the cached components
and the partnership's *current* weights on every read.

The displayed figures (``sla_attainment``, ``csat``, ``mean_rating``) are rounded half up as
the pages show them; the health score is computed from their exact values
(``*_exact``), never from the rounded ones (issue 15: 54.4985 is 54, not 55).

The portfolio reads one stored row per partnership (``partnership_portfolio_rows``, issue 18):
what it sorts on as plain columns, the trend months' figures as JSON text. A row is computed
from the monthly figures cache for the day it is read (``fill_portfolio_rows``, lazily, for
the listed partnerships whose row is missing or from another day), forgotten with the
partnership's monthly figures by any audited write of it, and stored by the same rules
(``figures_cache.store``). The page's filters, sort and window are SQL over those rows, so a
page costs the same few queries whatever the size of the portfolio.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from functools import cached_property, lru_cache
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import url_for

from mls_tracker.access import visible_partnerships
from mls_tracker.extensions import db
from mls_tracker.models import (
    Meeting,
    MeetingKind,
    MeetingState,
    Organisation,
    Partnership,
    PartnershipPortfolioRow,
    PartnershipStatus,
    Region,
    ReportedSatisfaction,
    Side,
    Sponsor,
    partnership_regions,
)
from mls_tracker.pagination import page_window
from mls_tracker.periods import Month, month_range
from mls_tracker.services import agenda, figures_cache
from mls_tracker.services import satisfaction as satisfaction_service
from mls_tracker.services.action_figures import action_counts_by_month
from mls_tracker.services.health import (
    DEFAULT_WEIGHTS,
    WEIGHT_COLUMNS,
    ComponentKey,
    HealthChange,
    HealthScore,
    compare,
    health_score,
    partnership_weights,
    satisfaction_component,
)
from mls_tracker.services.sla_figures import Status, attainment, load_sla_series_many
from mls_tracker.services.sponsors import coverage_history


def reviewed_month(today: dt.date) -> Month:
    """The month the dashboards review: the last complete month."""
    return Month.of(today).previous()


# ----------------------------------------------------------------------------- month figures


@dataclass(frozen=True)
class MonthFigures:
    """One partnership's figures for one month, as plain values (percentages 0–100)."""

    month: Month
    # SLA attainment (met ÷ measured, by weight) and the SLA statuses of the month
    sla_attainment: float | None = None  # rounded to 1 decimal, for display
    sla_attainment_exact: float | None = None  # unrounded, for the health score
    sla_met_weight: float = 0.0
    sla_measured_weight: float = 0.0
    slas_breached: int = 0
    slas_at_risk: int = 0
    slas_missing: int = 0
    slas_proposed: int = 0  # of the missing: a proposed actual awaits confirmation
    # learner satisfaction, computed from responses or reported by hand
    mean_rating: float | None = None  # rounded to 2 decimals, for display
    csat: float | None = None  # rounded to 1 decimal, for display
    mean_rating_exact: float | None = None  # unrounded, for the health score
    csat_exact: float | None = None  # unrounded (0–100), for the health score
    csat_low: float | None = None
    csat_high: float | None = None
    n_rating: int = 0
    nps: float | None = None
    nps_moe: float | None = None
    n_recommend: int = 0
    satisfaction_source: str | None = None  # "computed" | "reported" | None
    low_sample: bool = False
    # action plan (overdue as of the month's last day, or today for the current month)
    action_health: float | None = None
    actions_due: int = 0
    actions_on_time: int = 0
    actions_opened: int = 0
    actions_closed: int = 0
    actions_overdue: int = 0
    # sponsor coverage on the month's last day (or today)
    coverage: float | None = None
    regions_in_scope: int = 0
    regions_covered: int = 0
    # the partnership's weights as read now (never cached); see ``health``
    weights: dict[ComponentKey, Any] | None = field(default=None, compare=False, repr=False)

    def components(self) -> dict[ComponentKey, float | None]:
        """The four components, unrounded (the exact values; the rounded ones only for a
        figure without them)."""
        sla = self.sla_attainment_exact
        csat = self.csat_exact
        mean = self.mean_rating_exact
        return {
            ComponentKey.SLA: self.sla_attainment if sla is None else sla,
            ComponentKey.SATISFACTION: satisfaction_component(
                self.csat if csat is None else csat, self.mean_rating if mean is None else mean
            ),
            ComponentKey.ACTIONS: self.action_health,
            ComponentKey.COVERAGE: self.coverage,
        }

    @cached_property
    def health(self) -> HealthScore:
        """The health score from the components and the partnership's current weights,
        computed when first read (a page reads it for the months it shows)."""
        components = self.components()
        weights = self.weights or DEFAULT_WEIGHTS
        return _health(
            tuple(components[key] for key in ComponentKey),
            tuple(weights.get(key, 0) for key in ComponentKey),
        )


@lru_cache(maxsize=16384)
def _health(values: tuple, weights: tuple) -> HealthScore:
    """``health_score`` remembered by its inputs: the portfolio asks for the same few
    thousand (cached components × current weights) on every request, and a HealthScore is
    immutable."""
    return health_score(
        dict(zip(ComponentKey, values, strict=True)), dict(zip(ComponentKey, weights, strict=True))
    )


_CACHED = tuple(f.name for f in fields(MonthFigures) if f.name not in ("month", "weights"))


def _to_data(figures: MonthFigures) -> dict[str, Any]:
    return {name: getattr(figures, name) for name in _CACHED}


def _from_data(month: Month, data: dict[str, Any], weights: dict) -> MonthFigures:
    return MonthFigures(
        month, **{name: data[name] for name in _CACHED if name in data}, weights=weights
    )


def warm_figures(today: dt.date, months: int) -> int:
    """Fill the figures cache of every partnership for this month and ``months`` before it,
    and the portfolio rows (``flask figures warm``, nightly), so the first visitor of the day
    does not wait; how many partnerships."""
    partnerships = db.session.scalars(sa.select(Partnership).order_by(Partnership.id)).all()
    current = Month.of(today)
    month_figures(partnerships, current.shift(-months), current, today)
    fill_portfolio_rows([p.id for p in partnerships], today)
    return len(partnerships)


def month_figures(
    partnerships: Sequence[Partnership], first: Month, last: Month, today: dt.date
) -> dict[int, list[MonthFigures]]:
    """Every partnership's figures for each month ``first``…``last`` (oldest first; every id
    is a key), through the figures cache; ``partnerships`` need only ``id`` and the weight
    columns (the weights are read now, never cached)."""
    months = month_range(first, last)
    weights = {p.id: partnership_weights(p) for p in partnerships}
    found = figures_cache.cached_figures(list(weights), first, last, today, _month_data)
    return {
        pid: [_build(month, found[(pid, month)], weights[pid]) for month in months]
        for pid in sorted(weights)
    }


def _month_data(
    partnership_ids: Sequence[int], first: Month, last: Month, today: dt.date
) -> dict[int, dict[Month, dict[str, Any]]]:
    """What the cache stores: ``compute_month_figures`` as plain values."""
    computed = compute_month_figures(partnership_ids, first, last, today)
    return {
        pid: {month: _to_data(figures) for month, figures in by_month.items()}
        for pid, by_month in computed.items()
    }


_CACHED_SET = frozenset(_CACHED)


def _build(month: Month, data: dict[str, Any], weights: dict) -> MonthFigures:
    """A MonthFigures from a cached row. The portfolio builds thousands: when the row has
    exactly the current fields, fill the instance's dict directly (a frozen dataclass's
    ``__init__`` sets 29 fields one ``object.__setattr__`` at a time, 20 µs a row)."""
    if data.keys() != _CACHED_SET:  # written by an older version: known fields only
        return _from_data(month, data, weights)
    figures = object.__new__(MonthFigures)
    figures.__dict__.update(data, month=month, weights=weights)
    return figures


def _reported_totals(
    partnership_ids: Sequence[int], first: Month, last: Month
) -> dict[tuple[int, Month], satisfaction_service.ReportedView]:
    """Whole-partnership totals reported by hand (no region, no program), by month."""
    r = ReportedSatisfaction
    rows = db.session.scalars(
        sa.select(r)
        .where(
            r.partnership_id.in_(partnership_ids),
            r.month >= first,
            r.month <= last,
            r.region_id.is_(None),
            r.program.is_(None),
        )
        .order_by(r.id)
    )
    return {
        (row.partnership_id, row.month): satisfaction_service.ReportedView(
            id=row.id,
            month=row.month,
            region_id=None,
            region_name=None,
            program=None,
            responses=row.responses,
            mean_rating=row.mean_rating,
            csat=row.csat,
            nps=row.nps,
            superseded=False,
            entered_by_name=None,
            created_at=row.created_at,
        )
        for row in rows
    }


def _regions_in_scope(partnership_ids: Sequence[int]) -> dict[int, int]:
    pr = partnership_regions.c
    return dict(
        db.session.execute(
            sa.select(pr.partnership_id, sa.func.count())
            .where(pr.partnership_id.in_(partnership_ids))
            .group_by(pr.partnership_id)
        ).all()
    )


def _mean_exact(sat: satisfaction_service.SatisfactionFigure | None) -> float | None:
    """The unrounded mean rating: from the counts, or as reported."""
    if sat is None or sat.mean_rating is None:
        return None
    counts = sat.counts
    if counts is not None and counts.n_rating:
        return counts.rating_sum / counts.n_rating
    return sat.mean_rating


def _csat_exact(sat: satisfaction_service.SatisfactionFigure | None) -> float | None:
    """The unrounded CSAT in %: from the counts, or as reported."""
    if sat is None or sat.csat is None:
        return None
    exact = sat.csat_exact
    return None if exact is None else exact * 100


def compute_month_figures(
    partnership_ids: Sequence[int], first: Month, last: Month, today: dt.date
) -> dict[int, dict[Month, MonthFigures]]:
    """The figures without the cache (and without health), from the single-purpose figure
    functions, for many partnerships: a constant number of queries per month range."""
    months = month_range(first, last)
    series = load_sla_series_many(partnership_ids, first, last)
    counts = satisfaction_service.monthly_counts_many(partnership_ids, first, last)
    reported = _reported_totals(partnership_ids, first, last)
    actions = action_counts_by_month(partnership_ids, months, today)
    days = {month: min(month.last_day, today) for month in months}
    coverage = coverage_history(partnership_ids, sorted(set(days.values())))
    in_scope = _regions_in_scope(partnership_ids)

    result: dict[int, dict[Month, MonthFigures]] = {}
    for pid in partnership_ids:
        result[pid] = {}
        for month in months:
            sla = attainment(series[pid], month)
            # as load_satisfaction: responses win; else a whole-partnership reported total
            month_counts = counts[pid].get(month)
            if month_counts is not None:
                sat = satisfaction_service.figure_from_counts(month_counts, month=month)
            elif (pid, month) in reported:
                sat = satisfaction_service.figure_from_reported(reported[(pid, month)])
            else:
                sat = None
            act = actions[month][pid]
            cov = coverage[pid][days[month]]
            regions = in_scope.get(pid, 0)
            result[pid][month] = MonthFigures(
                month=month,
                sla_attainment=sla.percent,
                sla_attainment_exact=None if sla.rate is None else sla.rate * 100,
                sla_met_weight=float(sla.met_weight),
                sla_measured_weight=float(sla.measured_weight),
                slas_breached=sla.counts[Status.BREACHED],
                slas_at_risk=sla.counts[Status.AT_RISK],
                slas_missing=sla.counts[Status.MISSING],
                slas_proposed=sla.proposed,
                mean_rating=sat.mean_rating if sat else None,
                csat=sat.csat if sat else None,
                mean_rating_exact=_mean_exact(sat),
                csat_exact=_csat_exact(sat),
                csat_low=sat.csat_low if sat else None,
                csat_high=sat.csat_high if sat else None,
                n_rating=sat.n_rating if sat else 0,
                nps=sat.nps if sat else None,
                nps_moe=sat.nps_moe if sat else None,
                n_recommend=sat.n_recommend if sat else 0,
                satisfaction_source=sat.source if sat else None,
                low_sample=sat.low_sample if sat else False,
                action_health=act.health,
                actions_due=act.due,
                actions_on_time=act.closed_on_time,
                actions_opened=act.opened,
                actions_closed=act.closed,
                actions_overdue=act.overdue,
                coverage=None if cov is None else cov * 100,
                regions_in_scope=regions,
                regions_covered=round(cov * regions) if cov is not None else 0,
            )
    return result


# ----------------------------------------------------------------------------- needs attention


@dataclass(frozen=True, slots=True)
class AttentionItem:
    section: str
    title: str
    detail: str | None
    url: str


def _attention_url(partnership_id: int, source_key: str) -> str:
    kind, _, rest = source_key.partition(":")
    object_id = rest if rest.isdigit() else None
    objects = {
        "sla": ("slas.show", "sla_id"),
        "action": ("actions.show", "action_id"),
        "expectation": ("expectations.show", "expectation_id"),
        "change": ("changes.show", "change_id"),
        "win": ("wins.show", "win_id"),
    }
    if kind in objects and object_id is not None:
        endpoint, argument = objects[kind]
        return url_for(endpoint, partnership_id=partnership_id, **{argument: int(object_id)})
    if kind in ("gap", "sponsor"):
        return url_for("sponsors.index", partnership_id=partnership_id)
    if kind == "satisfaction":
        return url_for("satisfaction.index", partnership_id=partnership_id)
    return url_for("partnerships.show", partnership_id=partnership_id)


def needs_attention(partnership_id: int, today: dt.date) -> list[AttentionItem]:
    """Exactly what the agenda generator would put on a meeting held today reviewing the last
    complete month, each linked to the page where it can be dealt with."""
    meeting = Meeting(  # transient: never added to the session
        partnership_id=partnership_id,
        held_on=today,
        reviewed_month=reviewed_month(today),
        kind=MeetingKind.MONTHLY,
    )
    return [
        AttentionItem(
            entry.section,
            entry.title,
            entry.detail,
            _attention_url(partnership_id, entry.source_key),
        )
        for entry in agenda.generate_agenda(partnership_id, meeting, today)
    ]


# ----------------------------------------------------------------------------- portfolio

TREND_MONTHS = 6
PER_PAGE = 25  # rows on one page; the CSV export has them all

# Each sort puts what needs attention first; rows without the figure go last.
# The portfolio row's column each sort orders on, and whether descending.
SORTS: dict[str, tuple[str, bool]] = {
    "health": ("health_score", False),
    "name": ("sort_name", False),
    "sla": ("sla_attainment", False),
    "csat": ("csat", False),
    "nps": ("nps", False),
    "overdue": ("overdue_actions", True),
    "gaps": ("gap_count", True),
    "meeting": ("next_meeting_on", False),
}
DEFAULT_SORT = "health"


@dataclass(frozen=True)
class PortfolioRow:
    """One partnership on the portfolio page, as plain values."""

    id: int
    name: str
    client_name: str
    provider_id: int
    provider_name: str
    status: str
    region_ids: tuple[int, ...]
    region_names: tuple[str, ...]
    month: Month  # the reviewed month
    figures: tuple[MonthFigures, ...] = field(repr=False)  # up to the reviewed month
    overdue_actions: int  # now
    coverage_gaps: tuple[str, ...]  # regions in scope without an active client sponsor, now
    next_meeting_id: int | None
    next_meeting_on: dt.date | None
    archived: bool = False  # closed: read-only, listed only when asked for

    @property
    def current(self) -> MonthFigures:
        return self.figures[-1]

    @property
    def health(self) -> HealthScore:
        return self.current.health

    @property
    def health_score(self) -> float | None:
        return self.current.health.score

    @property
    def trend(self) -> tuple[tuple[Month, float | None], ...]:
        """The health score of the last TREND_MONTHS months, oldest first."""
        return tuple((f.month, f.health.score) for f in self.figures[-TREND_MONTHS:])

    @property
    def health_compared(self) -> HealthChange:
        """The reviewed month against the month before, on the parts both have."""
        if len(self.figures) < 2:
            return compare(None, None)
        return compare(self.figures[-1].health, self.figures[-2].health)

    @property
    def health_change(self) -> float | None:
        """Since the month before the reviewed month, like for like."""
        return self.health_compared.delta

    @property
    def sla_attainment(self) -> float | None:
        return self.current.sla_attainment

    @property
    def slas_missing(self) -> int:
        return self.current.slas_missing

    @property
    def csat(self) -> float | None:
        return self.current.csat

    @property
    def n_rating(self) -> int:
        return self.current.n_rating

    @property
    def nps(self) -> float | None:
        return self.current.nps

    @property
    def n_recommend(self) -> int:
        return self.current.n_recommend

    @property
    def low_sample(self) -> bool:
        return self.current.low_sample

    @property
    def gap_count(self) -> int:
        return len(self.coverage_gaps)

    @property
    def left_out(self) -> tuple[str, ...]:
        return tuple(c.label for c in self.health.left_out)


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class PortfolioPage:
    rows: tuple[PortfolioRow, ...]  # filtered, sorted, this page's
    total: int  # partnerships the user may see, before filters
    matching: int  # after the filters
    number: int  # this page, from 1
    pages: int
    month: Month
    providers: tuple[Option, ...]
    regions: tuple[Option, ...]
    statuses: tuple[Option, ...]
    sort: str
    archived_shown: bool = False  # archived partnerships were asked for and are listed
    archived_count: int = 0  # archived partnerships the user may see (listed or not)


# The row a fresh portfolio row has: computed today, by this version of the rows. Bump the
# version when what a row holds changes meaning (``figures_cache.CACHE_VERSION`` too).
PORTFOLIO_VERSION = 1
_ROW = PartnershipPortfolioRow


def _gap_ids(ids: Sequence[int], today: dt.date) -> dict[int, list[int]]:
    """The regions in scope of each partnership without an active client sponsor today (the
    coverage gaps), in the regions' order."""
    pr = partnership_regions.c
    sponsored = sa.exists().where(
        Sponsor.partnership_id == pr.partnership_id,
        Sponsor.region_id == pr.region_id,
        Sponsor.side == Side.CLIENT,
        Sponsor.start_date <= today,
        sa.or_(Sponsor.end_date.is_(None), Sponsor.end_date >= today),
    )
    gaps: dict[int, list[int]] = {pid: [] for pid in ids}
    for pid, region_id in db.session.execute(
        sa.select(pr.partnership_id, pr.region_id)
        .join(Region, Region.id == pr.region_id)
        .where(pr.partnership_id.in_(ids), ~sponsored)
        .order_by(Region.position, Region.name, Region.id)
    ):
        gaps[pid].append(region_id)
    return gaps


def _next_meetings(ids: Sequence[int], today: dt.date) -> dict[int, tuple[int, dt.date]]:
    upcoming: dict[int, tuple[int, dt.date]] = {}
    for meeting_id, pid, held_on in db.session.execute(
        sa.select(Meeting.id, Meeting.partnership_id, Meeting.held_on)
        .where(
            Meeting.partnership_id.in_(ids),
            Meeting.state == MeetingState.PLANNED,
            Meeting.held_on >= today,
        )
        .order_by(Meeting.held_on.desc(), Meeting.id.desc())
    ):
        upcoming[pid] = (meeting_id, held_on)  # the earliest comes last and stays
    return upcoming


def fill_portfolio_rows(partnership_ids: Sequence[int], today: dt.date) -> dict[int, dict]:
    """Compute the portfolio rows of these partnerships as of ``today`` (from the monthly
    figures cache, which fills what it misses) and store them, in a constant number of
    queries; the rows that could not be stored (another transaction holds them), by id."""
    ids = sorted(set(partnership_ids))
    if not ids:
        return {}
    partnerships = db.session.execute(
        sa.select(Partnership.id, Partnership.name, *_WEIGHTS)
        .where(Partnership.id.in_(ids))
        .order_by(Partnership.id)
    ).all()
    month = reviewed_month(today)
    figures = month_figures(partnerships, month.shift(1 - TREND_MONTHS), month.next(), today)
    gaps = _gap_ids(ids, today)
    meetings = _next_meetings(ids, today)
    rows = []
    for p in partnerships:
        *trend, now = figures[p.id]
        reviewed = trend[-1]
        meeting = meetings.get(p.id)
        rows.append(
            {
                "partnership_id": p.id,
                "computed_on": today,
                "version": PORTFOLIO_VERSION,
                "sort_name": p.name.lower(),
                "health_score": reviewed.health.score,
                "sla_attainment": reviewed.sla_attainment,
                "csat": reviewed.csat,
                "nps": reviewed.nps,
                "overdue_actions": now.actions_overdue,
                "gap_count": len(gaps[p.id]),
                "next_meeting_on": meeting[1] if meeting else None,
                "next_meeting_id": meeting[0] if meeting else None,
                "data": json.dumps(
                    {"months": [_to_data(f) for f in trend], "gaps": gaps[p.id]},
                    separators=(",", ":"),
                ),
            }
        )
    if figures_cache.store(_ROW, rows, ("partnership_id",)):
        return {}
    return {row["partnership_id"]: row for row in rows}


_WEIGHTS = tuple(getattr(Partnership, column) for column in WEIGHT_COLUMNS.values())


@lru_cache(maxsize=4096)
def _row_figures(
    data: str, weights: tuple, reviewed: Month
) -> tuple[tuple[MonthFigures, ...], tuple[int, ...]]:
    """A portfolio row's figures (the trend months, oldest first) and coverage gaps, from its
    stored ``data`` and the partnership's current weights. Remembered by those inputs: the
    same few hundred rows are read on every request, and what is returned is immutable
    (each MonthFigures keeps its health score once computed)."""
    decoded = json.loads(data)
    weights_of = dict(zip(ComponentKey, weights, strict=True))
    months = decoded["months"]
    first = reviewed.shift(1 - len(months))
    figures = tuple(
        _build(first.shift(i), month_data, weights_of) for i, month_data in enumerate(months)
    )
    return figures, tuple(decoded["gaps"])


def _binary(expression: sa.ColumnElement, dialect: str) -> sa.ColumnElement:
    """Text compared by code point on every database, as Python compares strings."""
    return sa.collate(expression, "C") if dialect == "postgresql" else expression


def _sort_value(name: str, unstored: dict[int, dict]) -> sa.ColumnElement:
    """A row column, or for the rows computed but left unstored, their computed value."""
    column = getattr(_ROW, name)
    if not unstored:
        return column
    return sa.case(
        *(
            (Partnership.id == pid, sa.literal(row[name], column.type))
            for pid, row in unstored.items()
        ),
        else_=column,
    )


def _order(sort: str, unstored: dict[int, dict], dialect: str) -> list[sa.ColumnElement]:
    """Rows with the figure first, what needs attention first; ties and rows without the
    figure by name (lower case), then as listed (name, id)."""
    name, descending = SORTS[sort]
    by_name = _binary(_sort_value("sort_name", unstored), dialect)
    tail = [by_name, Partnership.name, Partnership.id]
    if name == "sort_name":
        return tail
    value = _sort_value(name, unstored)
    return [value.is_(None), value.desc() if descending else value.asc(), *tail]


def _count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


@dataclass(frozen=True, slots=True)
class _Viewer:
    """Who ``visible_partnerships`` is asked about, the user's id bound at execution: the
    statements below are built once per shape and reused for every user."""

    is_admin: bool
    id: Any = sa.bindparam("viewer_id")


@dataclass(frozen=True, slots=True)
class _Shape:
    """What a portfolio page's statements depend on, besides the values bound to them."""

    is_admin: bool
    archived: bool  # archived partnerships listed too
    provider: bool  # filtered by provider
    region: bool  # filtered by region
    status: str | None  # None, "valid" or "unknown" (no partnership has it)
    sort: str
    dialect: str


@dataclass(frozen=True)
class _Statements:
    counts: sa.Select  # listed, archived, matching, listed without a fresh row
    stale: sa.Select  # the ids of the listed partnerships without a fresh row
    page: sa.Select  # the rows of the page (bound: offset, limit)
    options: sa.CompoundSelect  # (kind, id, label) of the filter choices
    listed: sa.ColumnElement[bool]
    chosen: sa.ColumnElement[bool]


def _visible_select(viewer: _Viewer, *columns) -> sa.Select:
    """A select of ``columns`` from the partnerships the viewer may see."""
    return visible_partnerships(viewer).with_only_columns(*columns).select_from(Partnership)


_FRESH_ROW = sa.and_(
    _ROW.partnership_id == Partnership.id,
    _ROW.computed_on == sa.bindparam("today", type_=sa.Date),
    _ROW.version == PORTFOLIO_VERSION,
)


def _page_select(viewer: _Viewer, chosen: sa.ColumnElement[bool], order: list) -> sa.Select:
    client = so.aliased(Organisation)
    provider = so.aliased(Organisation)
    return (
        _visible_select(
            viewer,
            Partnership.id,
            Partnership.name,
            Partnership.status,
            Partnership.provider_id,
            *_WEIGHTS,
            Partnership.archived_at,
            client.name.label("client_name"),
            provider.name.label("provider_name"),
            _ROW.overdue_actions,
            _ROW.next_meeting_id,
            _ROW.next_meeting_on,
            _ROW.data,
        )
        .outerjoin(_ROW, _FRESH_ROW)
        .join(client, client.id == Partnership.client_id)
        .join(provider, provider.id == Partnership.provider_id)
        .where(chosen)
        .order_by(*order)
        .offset(sa.bindparam("offset"))
        .limit(sa.bindparam("limit"))
    )


@lru_cache(maxsize=512)
def _statements(shape: _Shape) -> _Statements:
    """The statements of a page of this shape, built once (building them is most of the cost
    of running them)."""
    viewer = _Viewer(shape.is_admin)
    listed = sa.true() if shape.archived else Partnership.archived_at.is_(None)
    conditions: list[sa.ColumnElement[bool]] = [listed]
    pr = partnership_regions.c
    if shape.provider:
        conditions.append(Partnership.provider_id == sa.bindparam("provider_id"))
    if shape.region:
        conditions.append(
            sa.exists().where(
                pr.partnership_id == Partnership.id, pr.region_id == sa.bindparam("region_id")
            )
        )
    if shape.status == "valid":
        conditions.append(
            Partnership.status == sa.bindparam("status", type_=Partnership.__table__.c.status.type)
        )
    elif shape.status == "unknown":
        conditions.append(sa.false())  # no partnership has that status
    chosen = sa.and_(*conditions)
    counts = _visible_select(
        viewer,
        _count(listed),
        _count(Partnership.archived_at.is_not(None)),
        _count(chosen),
        _count(listed & _ROW.partnership_id.is_(None)),
    ).outerjoin(_ROW, _FRESH_ROW)
    stale = (
        _visible_select(viewer, Partnership.id)
        .outerjoin(_ROW, _FRESH_ROW)
        .where(listed, _ROW.partnership_id.is_(None))
    )
    provider = so.aliased(Organisation)
    options = sa.union(
        _visible_select(viewer, sa.literal("provider"), provider.id, provider.name)
        .join(provider, provider.id == Partnership.provider_id)
        .where(listed)
        .distinct(),
        _visible_select(viewer, sa.literal("region"), Region.id, Region.name)
        .join(partnership_regions, pr.partnership_id == Partnership.id)
        .join(Region, Region.id == pr.region_id)
        .where(listed)
        .distinct(),
        _visible_select(
            viewer,
            sa.literal("status"),
            sa.cast(sa.null(), sa.Integer),
            sa.cast(Partnership.status, sa.String),
        )
        .where(listed)
        .distinct(),
    )
    page = _page_select(viewer, chosen, _order(shape.sort, {}, shape.dialect))
    return _Statements(counts, stale, page, options, listed, chosen)


_SHOWN_REGIONS = (
    sa.select(partnership_regions.c.partnership_id, Region.id, Region.name)
    .join(Region, Region.id == partnership_regions.c.region_id)
    .where(partnership_regions.c.partnership_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(Region.position, Region.name, Region.id)
)


def _shown_regions(ids: Sequence[int]) -> dict[int, list[tuple[int, str]]]:
    """The regions in scope of each partnership, in the regions' order."""
    regions: dict[int, list[tuple[int, str]]] = {pid: [] for pid in ids}
    if ids:
        for pid, region_id, name in db.session.execute(_SHOWN_REGIONS, {"ids": list(ids)}):
            regions[pid].append((region_id, name))
    return regions


def _status_shape(status: str | None) -> str | None:
    if not status:
        return None
    return "valid" if status in PartnershipStatus._value2member_map_ else "unknown"


def portfolio_page(
    user,
    today: dt.date,
    *,
    provider_id: int | None = None,
    region_id: int | None = None,
    status: str | None = None,
    sort: str = DEFAULT_SORT,
    page: object = 1,
    per_page: int | None = PER_PAGE,
    with_trend: bool = True,
    archived: bool = False,
) -> PortfolioPage:
    """Every partnership the user may see with its figures for the reviewed month, filtered,
    sorted and cut into pages of ``per_page`` (None: one page; ``page`` as asked, clamped by
    ``page_window``), plus the filter choices — in a constant number of queries, warm or
    cold. Archived partnerships are left out unless ``archived`` asks for them too.

    Each partnership's row (its figures, what it sorts on) is read from the portfolio rows
    (``partnership_portfolio_rows``), filled here for the listed partnerships whose row is
    missing or was computed another day; the filters, the sort and the page are SQL."""
    sort = sort if sort in SORTS else DEFAULT_SORT
    dialect = db.session.get_bind().dialect.name
    shape = _Shape(
        bool(user.is_admin),
        archived,
        provider_id is not None,
        region_id is not None,
        _status_shape(status),
        sort,
        dialect,
    )
    statements = _statements(shape)
    params = {
        "viewer_id": user.id,
        "today": today,
        "provider_id": provider_id,
        "region_id": region_id,
        "status": PartnershipStatus(status) if shape.status == "valid" else None,
    }
    total, archived_count, matching, stale = db.session.execute(statements.counts, params).one()
    unstored: dict[int, dict] = {}
    if stale:
        stale_ids = db.session.scalars(statements.stale, params).all()
        unstored = fill_portfolio_rows(stale_ids, today)
    window = page_window(matching, page, per_page or max(matching, 1))
    query = statements.page
    if unstored:  # computed, but another transaction held their stored rows: sort on them
        query = _page_select(
            _Viewer(shape.is_admin), statements.chosen, _order(sort, unstored, dialect)
        )
    found = db.session.execute(
        query, {**params, "offset": window.offset, "limit": window.per_page}
    ).all()
    regions = _shown_regions([p.id for p in found])
    month = reviewed_month(today)
    shown = []
    for p in found:
        row = p._mapping if p.data is not None else {**p._asdict(), **unstored[p.id]}
        figures, gap_ids = _row_figures(
            row["data"], tuple(getattr(p, c) for c in WEIGHT_COLUMNS.values()), month
        )
        names = dict(regions[p.id])
        shown.append(
            PortfolioRow(
                id=p.id,
                name=p.name,
                client_name=p.client_name,
                provider_id=p.provider_id,
                provider_name=p.provider_name,
                status=str(p.status),
                region_ids=tuple(r for r, _ in regions[p.id]),
                region_names=tuple(n for _, n in regions[p.id]),
                month=month,
                figures=figures if with_trend else figures[-2:],
                overdue_actions=row["overdue_actions"],
                coverage_gaps=tuple(names[r] for r in gap_ids if r in names),
                next_meeting_id=row["next_meeting_id"],
                next_meeting_on=row["next_meeting_on"],
                archived=p.archived_at is not None,
            )
        )
    options: dict[str, list[tuple]] = {"provider": [], "region": [], "status": []}
    for kind, option_id, label in db.session.execute(statements.options, params):
        options[kind].append((option_id, label))
    return PortfolioPage(
        rows=tuple(shown),
        total=total,
        matching=matching,
        number=window.number,
        pages=window.pages,
        month=month,
        providers=tuple(Option(str(i), n) for i, n in sorted(options["provider"], key=_label)),
        regions=tuple(Option(str(i), n) for i, n in sorted(options["region"], key=_label)),
        statuses=tuple(Option(s, s.capitalize()) for _, s in sorted(options["status"])),
        sort=sort,
        archived_shown=archived,
        archived_count=archived_count,
    )


def _label(option: tuple) -> str:
    return option[1]


def portfolio(
    user,
    today: dt.date,
    *,
    provider_id: int | None = None,
    region_id: int | None = None,
    status: str | None = None,
    sort: str = DEFAULT_SORT,
) -> list[PortfolioRow]:
    """The portfolio rows (see ``portfolio_page``)."""
    page = portfolio_page(
        user,
        today,
        provider_id=provider_id,
        region_id=region_id,
        status=status,
        sort=sort,
        per_page=None,
    )
    return list(page.rows)
