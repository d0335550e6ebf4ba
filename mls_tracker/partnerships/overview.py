"""The partnership overview's plain data: the reviewed month's four tiles and health score,
the charts' inputs and their CSV rows. Every loader runs a fixed number of queries.

The whole page's data (``overview_page``) is remembered per process by the partnership's data
version (``services/data_version.py``: its newest audit entry, which every write that empties
its figures cache adds) and the day: a revisit with nothing written computes nothing again,
and any write of the partnership, in any worker, is seen by the next view.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from mls_tracker import charts, formatting
from mls_tracker.models import Partnership
from mls_tracker.periods import Month, month_range
from mls_tracker.services import dashboard, data_version, service_credits, sla_figures
from mls_tracker.services.action_figures import MonthFlow, monthly_flow
from mls_tracker.services.health import ComponentKey, HealthChange, HealthScore, compare
from mls_tracker.services.partnerships import Setup, setup_steps
from mls_tracker.services.satisfaction import REPORTED
from mls_tracker.services.sponsors import CoverageRow, coverage_matrix

TREND_MONTHS = 12
HEATMAP_MONTHS = 6
ATTAINMENT_TARGET = 80.0  # the green band: where the score wants SLA attainment to be


@dataclass(frozen=True, slots=True)
class Tile:
    key: str  # ComponentKey value
    label: str
    value: float | None  # 0–100
    unit: str  # "%" or "" for a scaled mean rating
    detail: str  # what the value is made of
    change: formatting.Change  # since the month before, in points
    previous_label: str
    endpoint: str  # the tab that deals with it
    low_sample: bool = False


@dataclass(frozen=True)
class Overview:
    month: Month  # the reviewed month
    first: Month  # the trends' first month
    tiles: tuple[Tile, ...]
    health: HealthScore | None
    health_change: formatting.Change  # like for like (``health_compared``)
    figures: tuple[dashboard.MonthFigures, ...]
    attention: tuple[dashboard.AttentionItem, ...]
    health_compared: HealthChange | None = None  # the scores on the parts both months have
    credits: service_credits.Credits | None = None  # the 12 months up to ``month``


def period(today: dt.date) -> tuple[Month, Month]:
    last = dashboard.reviewed_month(today)
    return last.shift(-(TREND_MONTHS - 1)), last


def _tiles(current: dashboard.MonthFigures, previous: dashboard.MonthFigures | None):
    prior = previous or dashboard.MonthFigures(month=current.month.previous())
    previous_label = current.month.previous().label
    sat_now = current.components()[ComponentKey.SATISFACTION]
    sat_before = prior.components()[ComponentKey.SATISFACTION]
    measured = current.sla_measured_weight > 0
    if current.csat is not None:
        sat_detail = f"CSAT · n {current.n_rating}"
        if current.nps is not None:
            sat_detail += f" · NPS {formatting.signed(current.nps, 0)} (n {current.n_recommend})"
    elif current.mean_rating is not None:
        mean = formatting.rounded(current.mean_rating, 2)
        sat_detail = f"Mean rating {mean} of 5, scaled · n {current.n_rating}"
    else:
        sat_detail = "No ratings this month"
    if current.satisfaction_source == "reported":
        sat_detail += " · reported totals"
    return (
        Tile(
            ComponentKey.SLA.value,
            ComponentKey.SLA.label,
            current.sla_attainment,
            "%",
            _sla_detail(current) if measured or current.slas_missing else "No SLA measured",
            formatting.change(current.sla_attainment, prior.sla_attainment),
            previous_label,
            "slas.index",
        ),
        Tile(
            ComponentKey.SATISFACTION.value,
            ComponentKey.SATISFACTION.label,
            sat_now,
            "%" if current.csat is not None else "",
            sat_detail,
            formatting.change(sat_now, sat_before),
            previous_label,
            "satisfaction.index",
            low_sample=current.low_sample,
        ),
        Tile(
            ComponentKey.ACTIONS.value,
            ComponentKey.ACTIONS.label,
            current.action_health,
            "%",
            (
                f"{current.actions_on_time} of {current.actions_due} due closed on time · "
                f"{current.actions_overdue} overdue"
                if current.actions_due
                else f"Nothing due · {current.actions_overdue} overdue"
            ),
            formatting.change(current.action_health, prior.action_health),
            previous_label,
            "actions.index",
        ),
        Tile(
            ComponentKey.COVERAGE.value,
            ComponentKey.COVERAGE.label,
            current.coverage,
            "%",
            (
                f"{current.regions_covered} of {current.regions_in_scope} regions "
                "have a client sponsor"
                if current.regions_in_scope
                else "No regions in scope"
            ),
            formatting.change(current.coverage, prior.coverage),
            previous_label,
            "sponsors.index",
        ),
    )


def _sla_detail(current: dashboard.MonthFigures) -> str:
    """ "1 breached · 0 at risk · 2 missing · 13 proposed, not yet confirmed": an SLA whose
    actual is proposed is not missing, it waits for a lead's confirmation."""
    proposed = current.slas_proposed
    missing = current.slas_missing - proposed
    parts = [f"{current.slas_breached} breached", f"{current.slas_at_risk} at risk"]
    if missing or not proposed:
        parts.append(f"{missing} missing")
    if proposed:
        parts.append(f"{proposed} proposed, not yet confirmed")
    return " · ".join(parts)


def load_overview(partnership: Partnership, today: dt.date) -> Overview:
    first, last = period(today)
    figures = dashboard.month_figures([partnership], first, last, today)[partnership.id]
    current = figures[-1]
    previous = figures[-2] if len(figures) > 1 else None
    health = current.health
    compared = compare(health, previous.health if previous else None)
    return Overview(
        month=last,
        first=first,
        tiles=_tiles(current, previous),
        health=health,
        health_change=formatting.change(compared.now, compared.before),
        figures=tuple(figures),
        attention=tuple(dashboard.needs_attention(partnership.id, today)),
        health_compared=compared,
        credits=service_credits.credits_for(partnership.id, last.shift(-11), last),
    )


# ----------------------------------------------------------------------------- the charts


@dataclass(frozen=True, slots=True)
class ChartSpec:
    key: str
    title: str
    caption: str
    build: Callable[[Any], Any]  # data → figure
    load: Callable[[Partnership, dt.date, Overview | None], Any]  # → data, or None if empty
    header: tuple[str, ...]
    rows: Callable[[Any], list[Sequence[Any]]]


def _pct(value: float | None) -> str:
    """One decimal, rounded half up (CSV)."""
    return "" if value is None else f"{formatting.rounded(value, 1)}"


def _health_figures(partnership, today, overview):
    return list(overview.figures if overview else _figures(partnership, today))


def _health_chart(figures):
    return charts.health_trend(
        [charts.HealthPoint(f.month, f.health.score if f.health else None) for f in figures]
    )


def _health_rows(figures):
    rows = []
    for f in figures:
        health = f.health
        values = [health.component(key).value if health else None for key in ComponentKey]
        rows.append(
            (
                str(f.month),
                _pct(health.score if health else None),
                health.rag.label if health and health.rag else formatting.NOT_ENOUGH_DATA,
                *(_pct(v) for v in values),
                "; ".join(c.label for c in health.left_out) if health else "",
            )
        )
    return rows


def _figures(partnership, today):
    first, last = period(today)
    return dashboard.month_figures([partnership], first, last, today)[partnership.id]


def _sla(partnership, today, overview):
    """Attainment by month and the status grid of the last months, from one load."""
    first, last = period(today)
    series = sla_figures.load_sla_series(partnership.id, first, last)
    if not series:
        return None
    months = month_range(first, last)
    return SlaData(
        attainment=[sla_figures.attainment(series, month) for month in months],
        rows=[
            charts.SlaStatusRow(
                s.code,
                s.name,
                tuple(
                    (m, sla_figures.status_of(s, m, confirmed_only=True))
                    for m in months[-HEATMAP_MONTHS:]
                ),
            )
            for s in series
        ],
    )


@dataclass(frozen=True)
class SlaData:
    attainment: list[sla_figures.Attainment]
    rows: list[charts.SlaStatusRow]


def _attainment_points(data):
    status = sla_figures.Status
    return [
        charts.AttainmentPoint(
            p.month,
            p.percent,
            p.counts[status.MET],
            p.counts[status.AT_RISK],
            p.counts[status.BREACHED],
            p.counts[status.MISSING],
        )
        for p in data.attainment
    ]


def _attainment_rows(data):
    rows = []
    for p in data.attainment:
        c = p.counts
        rows.append(
            (
                str(p.month),
                _pct(p.percent),
                c[sla_figures.Status.MET]
                + c[sla_figures.Status.AT_RISK]
                + c[sla_figures.Status.BREACHED],
                c[sla_figures.Status.MET],
                c[sla_figures.Status.AT_RISK],
                c[sla_figures.Status.BREACHED],
                c[sla_figures.Status.MISSING],
            )
        )
    return rows


def _heatmap_rows(data):
    rows = data.rows
    return [
        (row.code, row.name, str(month), str(status)) for row in rows for month, status in row.cells
    ]


def _satisfaction(partnership, today, overview):
    """The months with survey figures, from the cached monthly figures (the same numbers as
    the satisfaction page's, without reading the responses again)."""
    figures = overview.figures if overview else _figures(partnership, today)
    return [f for f in figures if f.satisfaction_source is not None] or None


def _satisfaction_points(figures: Sequence[dashboard.MonthFigures]):
    return [
        charts.SatisfactionPoint.of(f, reported=f.satisfaction_source == REPORTED) for f in figures
    ]


def _csat_rows(figures):
    return [
        (
            str(f.month),
            f.n_rating,
            _pct(f.csat),
            _pct(f.csat_low),
            _pct(f.csat_high),
            "" if f.mean_rating is None else f"{formatting.rounded(f.mean_rating, 2)}",
            "yes" if f.low_sample else "",
            f.satisfaction_source,
        )
        for f in figures
    ]


def _nps_rows(figures):
    return [
        (
            str(f.month),
            f.n_recommend,
            _pct(f.nps),
            _pct(f.nps_moe),
            "yes" if f.low_sample else "",
            f.satisfaction_source,
        )
        for f in figures
    ]


def _flow(partnership, today, overview):
    first, last = period(today)
    return monthly_flow([partnership.id], first, last, today)[partnership.id]


def _flow_points(flows: Sequence[MonthFlow]):
    return [charts.FlowPoint(f.month, f.opened, f.closed, f.overdue) for f in flows]


def _flow_rows(flows):
    return [(str(f.month), f.opened, f.closed, f.overdue) for f in flows]


def _coverage(partnership, today, overview):
    rows = coverage_matrix(partnership.id, today).rows
    return list(rows) or None


def _coverage_chart_rows(rows: Sequence[CoverageRow]):
    return [
        charts.CoverageRow(
            row.region_name,
            row.is_home,
            tuple(view.name for view in row.client),
            tuple(view.name for view in row.provider),
        )
        for row in rows
    ]


def _coverage_rows(rows):
    return [
        (
            row.region_name,
            "yes" if row.is_home else "",
            "; ".join(v.name for v in row.client),
            "; ".join(v.name for v in row.provider),
            "gap" if row.is_gap else "covered",
        )
        for row in rows
    ]


CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec(
        "health",
        "Health score",
        f"by month, over its bands: {formatting.RAG_BANDS}",
        _health_chart,
        _health_figures,
        (
            "month",
            "health score",
            "rag",
            *(f"{key.label.lower()} %" for key in ComponentKey),
            "left out",
        ),
        _health_rows,
    ),
    ChartSpec(
        "sla-attainment",
        "SLA attainment",
        "met ÷ measured, by weight; bars show how many SLAs were measured",
        lambda data: charts.sla_attainment_trend(
            _attainment_points(data), target=ATTAINMENT_TARGET
        ),
        _sla,
        ("month", "attainment %", "measured", "met", "at risk", "breached", "missing"),
        _attainment_rows,
    ),
    ChartSpec(
        "sla-status",
        "SLA status by month",
        "confirmed measurements: "
        + " · ".join(
            str(formatting.sla_badge(s)).lower() for s in ("met", "at risk", "breached", "missing")
        ),
        lambda data: charts.sla_status_heatmap(data.rows),
        _sla,
        ("sla", "name", "month", "status"),
        _heatmap_rows,
    ),
    ChartSpec(
        "csat",
        "CSAT by month",
        "with its 95% interval; bars show n",
        lambda figures: charts.satisfaction_trend(_satisfaction_points(figures)),
        _satisfaction,
        ("month", "n", "csat %", "low %", "high %", "mean rating", "low sample", "source"),
        _csat_rows,
    ),
    ChartSpec(
        "nps",
        "NPS by month",
        "with its 95% margin of error; bars show n",
        lambda figures: charts.nps_trend(_satisfaction_points(figures)),
        _satisfaction,
        ("month", "n", "nps", "margin", "low sample", "source"),
        _nps_rows,
    ),
    ChartSpec(
        "actions",
        "Action plan flow",
        "items opened and closed per month, and overdue at each month's end",
        lambda flows: charts.action_flow(_flow_points(flows)),
        _flow,
        ("month", "opened", "closed", "overdue at month end"),
        _flow_rows,
    ),
    ChartSpec(
        "coverage",
        "Sponsor coverage",
        "a region without a client sponsor is a gap",
        lambda rows: charts.sponsor_coverage(_coverage_chart_rows(rows)),
        _coverage,
        ("region", "home", "client sponsors", "provider sponsors", "coverage"),
        _coverage_rows,
    ),
)
CHARTS_BY_KEY = {spec.key: spec for spec in CHARTS}


@dataclass(frozen=True, slots=True)
class ChartView:
    key: str
    title: str
    caption: str
    json: str | None  # None: no data yet


# Building a figure and its JSON is pure: the same data gives the same JSON. The page keeps the
# JSON of recent inputs (keyed by a digest of their repr, which holds every value drawn), so a
# revisit with unchanged data skips plotly altogether; new data is a new key.
_JSON_CACHE = data_version.Memo(1024)


def _chart_json(spec: ChartSpec, data: Any) -> str:
    key = (spec.key, hashlib.sha256(repr(data).encode()).hexdigest())
    text = _JSON_CACHE.get(key)
    if text is None:
        text = charts.chart_json(spec.build(data))
        _JSON_CACHE.put(key, text)
    return text


def chart_views(partnership: Partnership, today: dt.date, overview: Overview) -> list[ChartView]:
    """Every chart of the overview as JSON for the page; data shared by two charts (SLAs,
    satisfaction) is loaded once."""
    loaded: dict[Callable, Any] = {}
    views = []
    for spec in CHARTS:
        if spec.load not in loaded:
            loaded[spec.load] = spec.load(partnership, today, overview)
        data = loaded[spec.load]
        views.append(
            ChartView(spec.key, spec.title, spec.caption, _chart_json(spec, data) if data else None)
        )
    return views


def chart_rows(spec: ChartSpec, partnership: Partnership, today: dt.date) -> list[Sequence[Any]]:
    data = spec.load(partnership, today, None)
    return spec.rows(data) if data else []


# ----------------------------------------------------------------------------- the page


@dataclass(frozen=True)
class OverviewPage:
    """Everything the overview shows that is the same for every viewer, and its content as
    rendered for those who may manage the partnership and for those who may not."""

    overview: Overview
    charts: tuple[ChartView, ...]  # none while the partnership is fresh (``setup.fresh``)
    setup: Setup
    client_name: str
    provider_name: str
    _rendered: dict[bool, Markup] = field(default_factory=dict, compare=False, repr=False)

    @property
    def with_charts(self) -> bool:
        return any(view.json for view in self.charts)

    def content(self, may_manage: bool, render: Callable[[], str]) -> Markup:
        """``render()`` (the content for a viewer who may manage or may not) the first time,
        the same markup after."""
        markup = self._rendered.get(may_manage)
        if markup is None:
            markup = self._rendered.setdefault(may_manage, Markup(render()))  # noqa: S704
        return markup


def _build_page(partnership: Partnership, today: dt.date) -> OverviewPage:
    data = load_overview(partnership, today)
    setup = setup_steps(partnership.id, today)
    views = () if setup.fresh else tuple(chart_views(partnership, today, data))
    return OverviewPage(data, views, setup, partnership.client.name, partnership.provider.name)


def overview_page(partnership: Partnership, today: dt.date) -> OverviewPage:
    """The overview's data, computed once per partnership, day and data version (one query
    to read the version when nothing was written since)."""
    return data_version.remembered(
        "overview", partnership.id, today, lambda: _build_page(partnership, today)
    )
