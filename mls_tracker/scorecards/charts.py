"""The scorecard's charts: the web pages' plotly figures, rebuilt from a snapshot alone.

``scorecard_figures(data)`` hands the plain values of a ``ScorecardData`` to ``charts.py`` (the
functions the web pages use, which take plain values too) and returns each figure as a plain dict,
sized for an A4 page with 18 mm margins (≈ 174 mm of content: 680 px wide). It is a pure
function of ``data`` — no database, no clock — so an issued scorecard's charts can be drawn
again years later. A chart with nothing to draw is left out (the template says so instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mls_tracker import charts
from mls_tracker.scorecards.snapshot import ScorecardData

# The overview page draws SLA attainment against the health score's green band.
ATTAINMENT_TARGET = 80.0
FULL_WIDTH = 680  # px at 96 dpi ≈ 180 mm; the print CSS scales the image to the column
CHART_HEIGHT = 220
TREND_HEIGHT = 240
# A printed chart needs no hover labels; a smaller type suits a ~70%-scaled page.
PRINT_FONT_SIZE = 11
PRINT_MARGIN = {"l": 52, "r": 48, "t": 36, "b": 40}


@dataclass(frozen=True, slots=True)
class ScorecardChart:
    name: str  # "health_trend", "sla_attainment", "satisfaction_trend", "nps_trend", …
    title: str
    figure: dict[str, Any]  # a plain plotly figure: {"data": [...], "layout": {...}}
    width: int  # px
    height: int  # px


def _plain(figure: Any, width: int, height: int) -> dict[str, Any]:
    """The figure as a plain dict (plotly's own copy: nothing shared with the figure), sized
    and lettered for print."""
    plain = figure.to_plotly_json()
    layout = plain["layout"]
    layout.update(width=width, height=height, hovermode=False)
    layout["margin"] = {**PRINT_MARGIN, **layout.get("margin", {})}
    layout["font"] = {**layout.get("font", {}), "size": PRINT_FONT_SIZE}
    return {"data": plain["data"], "layout": layout}


def _chart(name: str, title: str, figure: Any, height: int) -> ScorecardChart:
    return ScorecardChart(name, title, _plain(figure, FULL_WIDTH, height), FULL_WIDTH, height)


def scorecard_figures(data: ScorecardData) -> list[ScorecardChart]:
    """The scorecard's charts in the order of its pages; those without data left out."""
    result = []
    if any(point.score is not None for point in data.health_series):
        points = [charts.HealthPoint(p.month, p.score) for p in data.health_series]
        result.append(
            _chart("health_trend", "Health score", charts.health_trend(points), TREND_HEIGHT)
        )
    if data.slas.rows and any(p.percent is not None for p in data.slas.series):
        points = [
            charts.AttainmentPoint(p.month, p.percent, p.met, p.at_risk, p.breached, p.missing)
            for p in data.slas.series
        ]
        figure = charts.sla_attainment_trend(points, target=ATTAINMENT_TARGET)
        result.append(_chart("sla_attainment", "SLA attainment", figure, CHART_HEIGHT))
    months = [
        charts.SatisfactionPoint.of(f, reported=f.source == "reported")
        for f in data.satisfaction.by_month
        if f.month is not None
    ]
    if any(f.csat is not None for f in months):
        result.append(
            _chart(
                "satisfaction_trend",
                "CSAT by month",
                charts.satisfaction_trend(months),
                CHART_HEIGHT,
            )
        )
    if any(f.nps is not None for f in months):
        result.append(_chart("nps_trend", "NPS by month", charts.nps_trend(months), CHART_HEIGHT))
    flows = [charts.FlowPoint(p.month, p.opened, p.closed, p.overdue) for p in data.actions.flow]
    if any(f.opened or f.closed or f.overdue for f in flows):
        result.append(
            _chart("action_flow", "Action plan flow", charts.action_flow(flows), CHART_HEIGHT)
        )
    if data.delivery is not None and data.delivery.series:
        points = [
            charts.DeliveryPoint(
                month=p.month,
                learners_trained=p.learners_trained,
                training_hours=p.training_hours,
                sessions_delivered=p.sessions_delivered,
                spend=None if p.spend is None else float(p.spend),
                cost_per_learner=None if p.cost_per_learner is None else float(p.cost_per_learner),
                confirmed=p.confirmed,
            )
            for p in data.delivery.series
        ]
        figure = charts.delivery_spend(points, data.delivery.currency)
        result.append(_chart("delivery_spend", "Spend and cost per learner", figure, CHART_HEIGHT))
    return result
