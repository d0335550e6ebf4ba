"""Plain data → plotly figures: the one home of every chart, for web pages and scorecards.

Every function takes plain values (the small frozen dataclasses below: months, numbers,
words; never a service's result type, so a page and a stored scorecard snapshot feed them the
same way) and returns a ``plotly.graph_objects.Figure`` styled by ``apply_theme``: the app's
font stack, the Okabe–Ito colour-blind-safe palette, and marks that stay distinct in grey
(symbols, dashes and fill lightness rather than hue alone). ``chart_json`` serialises a
figure for a ``<script type="application/json">`` data block that ``static/js/charts.js`` draws.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import plotly.graph_objects as go

from mls_tracker import formatting
from mls_tracker.periods import Month
from mls_tracker.services.health import AMBER_FROM, GREEN_FROM, rag

FONT_FAMILY = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", '
    '"Liberation Sans", Arial, sans-serif'
)
TEXT_COLOR = "#212529"
MUTED_COLOR = "#5a6470"
GRID_COLOR = "#e3e8ee"

# Okabe & Ito (2008): distinguishable with every common colour-vision deficiency, and of
# different lightness so that a grey print keeps them apart.
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}
COLORWAY = [PALETTE[k] for k in ("blue", "orange", "green", "vermillion", "sky", "purple")]
# Red / amber / green for statuses, always paired with a symbol and a word.
RAG = {
    "green": {"color": PALETTE["green"], "symbol": "circle", "label": "Green"},
    "amber": {"color": PALETTE["orange"], "symbol": "diamond", "label": "Amber"},
    "red": {"color": PALETTE["vermillion"], "symbol": "x", "label": "Red"},
}

SYMBOL_NORMAL = "circle"
SYMBOL_LOW_SAMPLE = "circle-open"  # hollow: "read with care", visible in grey too
SYMBOL_REPORTED = "diamond"
SYMBOL_REPORTED_LOW_SAMPLE = "diamond-open"
BAND_FILL = "rgba(0, 114, 178, 0.16)"
N_BAR_COLOR = "rgba(90, 100, 112, 0.22)"

TEMPLATE = go.layout.Template(
    layout=go.Layout(
        font={"family": FONT_FAMILY, "size": 13, "color": TEXT_COLOR},
        colorway=COLORWAY,
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        margin={"l": 56, "r": 56, "t": 40, "b": 48},
        hoverlabel={"font": {"family": FONT_FAMILY}},
        xaxis={"showgrid": False, "linecolor": "#adb5bd", "ticks": "outside", "automargin": True},
        yaxis={
            "gridcolor": GRID_COLOR,
            "zerolinecolor": "#adb5bd",
            "automargin": True,
            "title": {"standoff": 8},
        },
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.02,
            "x": 0,
            "font": {"size": 12},
        },
    )
)


TEMPLATE_JSON = TEMPLATE.to_plotly_json()


# --- The charts' inputs: plain values, converted by each caller ------------------------------


@dataclass(frozen=True, slots=True)
class SatisfactionPoint:
    """One month's survey figures: CSAT (0–100) with its 95% interval, NPS with its margin."""

    month: Month
    n_rating: int
    csat: float | None
    csat_low: float | None
    csat_high: float | None
    n_recommend: int
    nps: float | None
    nps_moe: float | None
    low_sample: bool = False
    reported: bool = False  # totals entered by hand rather than computed from responses

    @classmethod
    def of(cls, figures: Any, *, reported: bool) -> SatisfactionPoint:
        """From any month's figures with these attribute names (the satisfaction page's, the
        figures cache's, a snapshot's): the pages and the PDF read them alike."""
        names = [field.name for field in fields(cls) if field.name != "reported"]
        return cls(**{name: getattr(figures, name) for name in names}, reported=reported)


@dataclass(frozen=True, slots=True)
class AttainmentPoint:
    """One month's SLA attainment (met ÷ measured, by weight, 0–100) and status counts."""

    month: Month
    percent: float | None  # None: nothing measured
    met: int = 0
    at_risk: int = 0
    breached: int = 0
    missing: int = 0

    @property
    def measured(self) -> int:
        return self.met + self.at_risk + self.breached


@dataclass(frozen=True, slots=True)
class FlowPoint:
    """The action plan in one month: items opened, closed, and overdue at its end."""

    month: Month
    opened: int
    closed: int
    overdue: int


@dataclass(frozen=True, slots=True)
class CoverageRow:
    """A region and the names of its active client and provider sponsors."""

    region: str
    is_home: bool
    client: tuple[str, ...]
    provider: tuple[str, ...]


def apply_theme(figure: go.Figure, *, height: int = 320) -> go.Figure:
    """The app's chart theme, for a figure built elsewhere; this module's charts get it
    through ``_figure``."""
    figure.update_layout(template=TEMPLATE, height=height, hovermode="x unified")
    return figure


def _figure(
    data: list[dict], layout: dict, *, height: int = 320, hovermode: str = "x unified"
) -> go.Figure:
    """A themed figure from plain trace and layout dictionaries.

    plotly's per-property validation costs ~30 ms a chart (most of a page's time), so the
    figure is assembled unvalidated; tests/test_charts.py validates every chart instead."""
    full_layout = {"template": TEMPLATE_JSON, "height": height, "hovermode": hovermode}
    full_layout.update(layout)
    return go.Figure({"data": data, "layout": full_layout}, _validate=False)


def chart_json(figure: go.Figure) -> str:
    """The figure as JSON safe to place inside a ``<script type="application/json">`` block:
    ``<``, ``>`` and ``&`` are escaped so user text cannot close the element."""
    try:
        # plotly's public plain form of the figure, written compactly; the overview keeps the
        # result per input (partnerships/overview.py), so this runs once per new data.
        text = json.dumps(figure.to_plotly_json(), separators=(",", ":"))
    except TypeError:  # a value only plotly's encoder knows (numpy, dates …)
        text = figure.to_json()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _x(figures: Sequence[SatisfactionPoint]) -> list[str]:
    return [f.month.first_day.isoformat() for f in figures]


def _symbol(figure: SatisfactionPoint) -> str:
    if figure.reported:
        return SYMBOL_REPORTED_LOW_SAMPLE if figure.low_sample else SYMBOL_REPORTED
    return SYMBOL_LOW_SAMPLE if figure.low_sample else SYMBOL_NORMAL


def _note(figure: SatisfactionPoint) -> str:
    notes = []
    if figure.low_sample:
        notes.append("low sample")
    if figure.reported:
        notes.append("reported")
    return f" · {', '.join(notes)}" if notes else ""


def _count_axis(top: int, title: str) -> dict:
    """A second y axis for counts, drawn as faint bars in the lower third of the plot."""
    return {
        "overlaying": "y",
        "side": "right",
        "range": [0, (top or 1) * 3],
        "showgrid": False,
        "zeroline": False,
        "title": {"text": title, "standoff": 4, "font": {"color": MUTED_COLOR}},
        "tickfont": {"color": MUTED_COLOR, "size": 11},
        "tickmode": "auto",
        "nticks": 3,
    }


def _count_bars(x: list[str], counts: list[int], name: str) -> dict:
    return {
        "type": "bar",
        "x": x,
        "y": counts,
        "name": name,
        "yaxis": "y2",
        "marker": {"color": N_BAR_COLOR, "line": {"width": 0}},
        "hoverinfo": "skip",
        "showlegend": True,
    }


def _month_axis() -> dict:
    return {"type": "date", "tickformat": "%b<br>%Y", "nticks": 8}


def _trend(
    figures: Sequence[SatisfactionPoint],
    *,
    name: str,
    values: list[float | None],
    lows: list[float | None],
    highs: list[float | None],
    ns: list[int],
    band_name: str,
    hover: list[str],
    y_title: str,
    y_range: list[float],
) -> go.Figure:
    x = _x(figures)
    data = [
        _count_bars(x, ns, "n (responses)"),
        {
            "type": "scatter",
            "x": x,
            "y": highs,
            "mode": "lines",
            "line": {"width": 0},
            "hoverinfo": "skip",
            "showlegend": False,
            "name": f"{band_name} (upper)",
        },
        {
            "type": "scatter",
            "x": x,
            "y": lows,
            "mode": "lines",
            "line": {"width": 0},
            "fill": "tonexty",
            "fillcolor": BAND_FILL,
            "hoverinfo": "skip",
            "name": band_name,
        },
        {
            "type": "scatter",
            "x": x,
            "y": values,
            "mode": "lines+markers",
            "name": name,
            "line": {"color": PALETTE["blue"], "width": 2.5},
            "marker": {
                "symbol": [_symbol(f) for f in figures],
                "size": [11 if f.low_sample or f.reported else 8 for f in figures],
                "color": PALETTE["blue"],
                "line": {"width": 2, "color": PALETTE["blue"]},
            },
            "customdata": [[n] for n in ns],
            "hovertext": hover,
            "hovertemplate": "%{hovertext}<extra></extra>",
            "connectgaps": False,
        },
    ]
    layout = {
        "yaxis": {"title": {"text": y_title}, "range": y_range},
        "yaxis2": _count_axis(max(ns, default=0), "n"),
        "xaxis": _month_axis(),
        "bargap": 0.45,
    }
    return _figure(data, layout)


def satisfaction_trend(figures: Sequence[SatisfactionPoint]) -> go.Figure:
    """CSAT by month with its 95% Wilson band, n as faint bars; low-sample months hollow,
    reported months as diamonds. Months without a CSAT are gaps."""
    hover = [
        (
            f"CSAT {f.csat:g}% [{f.csat_low:g}–{f.csat_high:g}] · n {f.n_rating}{_note(f)}"
            if f.csat is not None
            else f"No CSAT · n {f.n_rating}"
        )
        for f in figures
    ]
    return _trend(
        figures,
        name="CSAT %",
        values=[f.csat for f in figures],
        lows=[f.csat_low for f in figures],
        highs=[f.csat_high for f in figures],
        ns=[f.n_rating for f in figures],
        band_name="95% interval",
        hover=hover,
        y_title="CSAT %",
        y_range=[0, 100],
    )


def nps_trend(figures: Sequence[SatisfactionPoint]) -> go.Figure:
    """NPS by month with its 95% margin of error as a band, n as faint bars."""
    lows = [
        None if f.nps is None or f.nps_moe is None else round(max(-100.0, f.nps - f.nps_moe), 1)
        for f in figures
    ]
    highs = [
        None if f.nps is None or f.nps_moe is None else round(min(100.0, f.nps + f.nps_moe), 1)
        for f in figures
    ]
    hover = [
        (
            f"NPS {f.nps:+g} ± {f.nps_moe:g} · n {f.n_recommend}{_note(f)}"
            if f.nps is not None
            else f"No NPS · n {f.n_recommend}"
        )
        for f in figures
    ]
    present = [v for v in lows + highs if v is not None]
    low = min([-20.0, *present])
    high = max([60.0, *present])
    padding = 5
    return _trend(
        figures,
        name="NPS",
        values=[f.nps for f in figures],
        lows=lows,
        highs=highs,
        ns=[f.n_recommend for f in figures],
        band_name="95% margin of error",
        hover=hover,
        y_title="NPS",
        y_range=[max(-100.0, low - padding), min(100.0, high + padding)],
    )


# ----------------------------------------------------------------------------------------------
# Statuses, RAG bands and the partnership overview's charts.
# ----------------------------------------------------------------------------------------------

# The SLA statuses ("met" … as ``sla_figures.Status`` values): colour, and formatting's symbol
# and word. Met / at risk / breached are light, middle and dark so that a grey print keeps them
# apart, and each cell carries its symbol as text too.
_STATUS_COLORS = {
    "met": "#99DDC8",
    "at risk": PALETTE["orange"],
    "breached": "#A84A00",
    "missing": "#F1F3F6",
    "not applicable": "#D3D9E0",
}
STATUS_STYLE = {
    status: {
        "color": color,
        "symbol": formatting.sla_badge(status).symbol,
        "label": formatting.sla_badge(status).word,
    }
    for status, color in _STATUS_COLORS.items()
}
STATUS_ORDER = list(STATUS_STYLE)
# Background bands of the health score: pale tints, light enough for the line to read on top.
RAG_BAND_FILL = {
    "green": "rgba(0, 158, 115, 0.12)",
    "amber": "rgba(230, 159, 0, 0.16)",
    "red": "rgba(213, 94, 0, 0.12)",
}
COVERED_COLOR = "#99DDC8"
GAP_COLOR = "#A84A00"
NOBODY_COLOR = "#E3E8EE"


def _month_x(month: Month) -> str:
    return month.first_day.isoformat()


def _discrete_scale(colors: Sequence[str]) -> list[list[float | str]]:
    """A colour scale of equal steps for z = 0, 1, … len(colors) − 1: a cell's colour is its
    category's, never a blend."""
    scale: list[list[float | str]] = []
    steps = len(colors)
    for index, color in enumerate(colors):
        scale.append([index / steps, color])
        scale.append([(index + 1) / steps, color])
    return scale


def sla_attainment_trend(
    points: Sequence[AttainmentPoint], *, target: float | None = None
) -> go.Figure:
    """SLA attainment % by month (met ÷ measured, by weight) with the number of SLAs measured
    as faint bars and, in the hover, met / at risk / breached / missing; months with nothing
    measured are gaps. ``target`` draws a dashed reference line (e.g. the green band's 80 %)."""
    x = [_month_x(p.month) for p in points]
    measured = [p.measured for p in points]
    hover = []
    for point, n in zip(points, measured, strict=True):
        detail = (
            f"{point.met} met · {point.at_risk} at risk · "
            f"{point.breached} breached · {point.missing} missing"
        )
        head = f"{point.percent:g}% attained" if point.percent is not None else "Nothing measured"
        hover.append(f"{point.month.label}: {head} · {n} SLAs measured<br>{detail}")
    data = [
        _count_bars(x, measured, "SLAs measured"),
        {
            "type": "scatter",
            "x": x,
            "y": [p.percent for p in points],
            "mode": "lines+markers",
            "name": "Attainment %",
            "line": {"color": PALETTE["blue"], "width": 2.5},
            "marker": {"size": 8, "color": PALETTE["blue"]},
            "customdata": [[n] for n in measured],
            "hovertext": hover,
            "hovertemplate": "%{hovertext}<extra></extra>",
            "connectgaps": False,
        },
    ]
    if target is not None and x:
        data.append(
            {
                "type": "scatter",
                "x": [x[0], x[-1]],
                "y": [target, target],
                "mode": "lines",
                "name": f"Target {target:g}%",
                "line": {"color": MUTED_COLOR, "width": 1.5, "dash": "dash"},
                "hoverinfo": "skip",
            }
        )
    layout = {
        "yaxis": {"title": {"text": "Attainment %"}, "range": [0, 105]},
        "yaxis2": _count_axis(max(measured, default=0), "SLAs"),
        "xaxis": _month_axis(),
        "bargap": 0.45,
    }
    return _figure(data, layout)


@dataclass(frozen=True, slots=True)
class SlaStatusRow:
    """One SLA's row of the status heat map: its code, name and status per month ("met",
    "at risk", "breached", "missing", "not applicable", or the ``Status`` of that value)."""

    code: str
    name: str
    cells: tuple[tuple[Month, str], ...]


def sla_status_heatmap(rows: Sequence[SlaStatusRow]) -> go.Figure:
    """SLA × month grid: each cell coloured by its status and showing its symbol
    (● met, ◆ at risk, ✖ breached, ○ missing, – not applicable); SLA codes on the y axis, first
    SLA on top; a legend of the five statuses with their symbols and words."""
    months = sorted({month for row in rows for month, _ in row.cells})
    z: list[list[int | None]] = []
    text: list[list[str]] = []
    hover: list[list[str]] = []
    for row in rows:
        by_month = dict(row.cells)
        z_row: list[int | None] = []
        text_row: list[str] = []
        hover_row: list[str] = []
        for month in months:
            status = by_month.get(month)
            if status is None:
                z_row.append(None)
                text_row.append("")
                hover_row.append("")
                continue
            style = STATUS_STYLE[status]
            z_row.append(STATUS_ORDER.index(status))
            text_row.append(style["symbol"])
            hover_row.append(f"{row.code} {row.name} · {month.label}: {style['label']}")
        z.append(z_row)
        text.append(text_row)
        hover.append(hover_row)
    data: list[dict] = [
        {
            "type": "heatmap",
            "x": [month.label for month in months],
            "y": [row.code for row in rows],
            "z": z,
            "text": text,
            "texttemplate": "%{text}",
            "textfont": {"size": 13},
            "customdata": hover,
            "hovertemplate": "%{customdata}<extra></extra>",
            "colorscale": _discrete_scale([STATUS_STYLE[s]["color"] for s in STATUS_ORDER]),
            "zmin": -0.5,
            "zmax": len(STATUS_ORDER) - 0.5,
            "showscale": False,
            "xgap": 2,
            "ygap": 2,
            "name": "Status",
        }
    ]
    # The legend: a square of each status's colour with its symbol and word.
    for status in STATUS_ORDER:
        style = STATUS_STYLE[status]
        data.append(
            {
                "type": "scatter",
                "x": [None],
                "y": [None],
                "mode": "markers",
                "name": f"{style['symbol']} {style['label']}",
                "marker": {
                    "symbol": "square",
                    "size": 12,
                    "color": style["color"],
                    "line": {"width": 1, "color": "#adb5bd"},
                },
                "hoverinfo": "skip",
            }
        )
    layout = {
        "xaxis": {"type": "category", "showgrid": False, "ticks": "", "automargin": True},
        "yaxis": {"type": "category", "autorange": "reversed", "showgrid": False},
    }
    return _figure(data, layout, height=max(240, 110 + 26 * len(rows)), hovermode="closest")


def action_flow(flows: Sequence[FlowPoint]) -> go.Figure:
    """Per month: action items opened and closed (bars, dark and light) and overdue
    at the month's end (a dotted line with crosses)."""
    x = [_month_x(flow.month) for flow in flows]
    data = [
        {
            "type": "bar",
            "x": x,
            "y": [flow.opened for flow in flows],
            "name": "Opened",
            "marker": {"color": PALETTE["blue"]},
        },
        {
            "type": "bar",
            "x": x,
            "y": [flow.closed for flow in flows],
            "name": "Closed",
            # Light beside "opened"'s dark blue: apart in lightness, not only in hue.
            "marker": {"color": PALETTE["sky"], "line": {"width": 1, "color": PALETTE["blue"]}},
        },
        {
            "type": "scatter",
            "x": x,
            "y": [flow.overdue for flow in flows],
            "name": "Overdue at month end",
            "mode": "lines+markers",
            "line": {"color": PALETTE["vermillion"], "width": 2.5, "dash": "dot"},
            "marker": {"symbol": "x", "size": 9, "color": PALETTE["vermillion"]},
        },
    ]
    layout = {
        "barmode": "group",
        "bargap": 0.3,
        "yaxis": {"title": {"text": "Action items"}, "rangemode": "tozero"},
        "xaxis": _month_axis(),
    }
    return _figure(data, layout)


COVERED = str(formatting.badge(formatting.GOOD, "Covered"))
GAP = str(formatting.badge(formatting.BAD, "Gap"))


def sponsor_coverage(rows: Sequence[CoverageRow]) -> go.Figure:
    """Region × side: covered (● Covered), **gap** (no client sponsor: ✖ and the word in the
    cell) or nobody (provider side, which coverage does not count); the sponsors' names in
    the hover."""
    z: list[list[int]] = []
    text: list[list[str]] = []
    names: list[list[str]] = []
    for row in rows:
        client = (2, COVERED) if row.client else (0, GAP)
        provider = (2, COVERED) if row.provider else (1, "None")
        z.append([client[0], provider[0]])
        text.append([client[1], provider[1]])
        names.append(
            [", ".join(row.client) or "no client sponsor", ", ".join(row.provider) or "nobody"]
        )
    data = [
        {
            "type": "heatmap",
            "x": ["Client", "Provider"],
            "y": [f"{row.region} (home)" if row.is_home else row.region for row in rows],
            "z": z,
            "text": text,
            "texttemplate": "%{text}",
            "textfont": {"size": 12},
            "customdata": names,
            "hovertemplate": "%{y} · %{x}: %{text} — %{customdata}<extra></extra>",
            "colorscale": _discrete_scale([GAP_COLOR, NOBODY_COLOR, COVERED_COLOR]),
            "zmin": -0.5,
            "zmax": 2.5,
            "showscale": False,
            "xgap": 3,
            "ygap": 3,
            "name": "Coverage",
        }
    ]
    layout = {
        "xaxis": {"type": "category", "side": "top", "showgrid": False, "ticks": ""},
        "yaxis": {"type": "category", "autorange": "reversed", "showgrid": False},
        "margin": {"t": 32, "b": 16},
    }
    return _figure(data, layout, height=max(180, 60 + 48 * len(rows)), hovermode="closest")


@dataclass(frozen=True, slots=True)
class HealthPoint:
    month: Month
    score: float | None  # 0–100; None when no component had data


HEALTH_BANDS = (  # labelled in the one wording of the bands (formatting.RAG_BAND_WORDS)
    ("red", 0.0, AMBER_FROM, formatting.RAG_BAND_WORDS["red"]),
    ("amber", AMBER_FROM, GREEN_FROM, formatting.RAG_BAND_WORDS["amber"]),
    ("green", GREEN_FROM, 100.0, formatting.RAG_BAND_WORDS["green"]),
)


def health_trend(points: Sequence[HealthPoint]) -> go.Figure:
    """The health score by month over its RAG bands (shaded and labelled: green ≥ 80, amber
    ≥ 60, red below); each point's marker is its RAG's symbol and colour; months with no score
    are gaps."""
    x = [_month_x(p.month) for p in points]
    y = [None if p.score is None else round(p.score, 1) for p in points]
    rags = [rag(p.score) for p in points]
    hover = [
        f"{p.month.label}: {v:g} · {r.label}"
        if v is not None and r
        else f"{p.month.label}: no score"
        for p, v, r in zip(points, y, rags, strict=True)
    ]
    data = [
        {
            "type": "scatter",
            "x": x,
            "y": y,
            "mode": "lines+markers",
            "name": "Health score",
            "line": {"color": TEXT_COLOR, "width": 2.5},
            "marker": {
                "size": 10,
                "symbol": [RAG[r.value]["symbol"] if r else SYMBOL_NORMAL for r in rags],
                "color": [RAG[r.value]["color"] if r else MUTED_COLOR for r in rags],
                "line": {"width": 1.5, "color": TEXT_COLOR},
            },
            "hovertext": hover,
            "hovertemplate": "%{hovertext}<extra></extra>",
            "connectgaps": False,
        }
    ]
    shapes: list[dict] = []
    annotations: list[dict] = []
    for key, low, high, label in HEALTH_BANDS:
        shapes.append(
            {
                "type": "rect",
                "xref": "paper",
                "yref": "y",
                "x0": 0,
                "x1": 1,
                "y0": low,
                "y1": high,
                "fillcolor": RAG_BAND_FILL[key],
                "line": {"width": 0},
                "layer": "below",
                "name": label,
            }
        )
        annotations.append(
            {
                "xref": "paper",
                "yref": "y",
                "x": 1.01,
                "y": (low + high) / 2,
                "xanchor": "left",
                "yanchor": "middle",
                "text": label,
                "showarrow": False,
                "font": {"size": 11, "color": MUTED_COLOR},
            }
        )
    for edge in (AMBER_FROM, GREEN_FROM):
        shapes.append(
            {
                "type": "line",
                "xref": "paper",
                "yref": "y",
                "x0": 0,
                "x1": 1,
                "y0": edge,
                "y1": edge,
                "line": {"width": 1, "dash": "dot", "color": "#adb5bd"},
                "layer": "below",
            }
        )
    layout = {
        "yaxis": {"title": {"text": "Health score"}, "range": [0, 100], "showgrid": False},
        "xaxis": _month_axis(),
        "showlegend": False,
        "margin": {"r": 84},
        "shapes": shapes,
        "annotations": annotations,
    }
    return _figure(data, layout)


@dataclass(frozen=True, slots=True)
class DeliveryPoint:
    """One month of delivery: volumes, the invoiced amount and whether a lead confirmed it."""

    month: Month
    learners_trained: int
    training_hours: float
    sessions_delivered: int
    spend: float | None
    cost_per_learner: float | None
    confirmed: bool


def _delivery_month_axis(months: int) -> dict:
    """A tick every month, or every other one past eight (plotly's automatic ticks repeat a
    month on a short series, and slant crowded ones)."""
    step = "M1" if months <= 8 else "M2"
    return {**_month_axis(), "dtick": step, "tick0": "2000-01-01", "tickangle": 0}


def _proposed_note(point: DeliveryPoint) -> str:
    return "" if point.confirmed else " · proposed"


def _delivery_figure(
    points: Sequence[DeliveryPoint],
    bar: tuple[str, str, list[float | int | None], list[str]],
    line: tuple[str, dict, dict, list[float | None], list[str]],
    titles: tuple[str, str],
) -> go.Figure:
    """Bars by month (proposed months hollow) and a line on a right-hand axis: the shape of
    both delivery charts. ``bar``: name, colour, values, hover texts; ``line``: name, line
    and marker styles, values, hover texts; ``titles``: the left and right axes'."""
    x = [_month_x(p.month) for p in points]
    bar_name, color, bar_values, bar_hover = bar
    line_name, line_style, marker, line_values, line_hover = line
    data = [
        {
            "type": "bar",
            "x": x,
            "y": bar_values,
            "name": bar_name,
            "marker": {
                "color": [color if p.confirmed else "rgba(0,0,0,0)" for p in points],
                "line": {"width": 1.5, "color": color},
            },
            "hovertext": bar_hover,
            "hovertemplate": "%{hovertext}<extra></extra>",
        },
        {
            "type": "scatter",
            "x": x,
            "y": line_values,
            "name": line_name,
            "yaxis": "y2",
            "mode": "lines+markers",
            "line": line_style,
            "marker": marker,
            "connectgaps": False,
            "hovertext": line_hover,
            "hovertemplate": "%{hovertext}<extra></extra>",
        },
    ]
    axis = {"rangemode": "tozero"}
    layout = {
        "xaxis": _delivery_month_axis(len(points)),
        "yaxis": {"title": {"text": titles[0]}, **axis},
        "yaxis2": {
            "title": {"text": titles[1]},
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
            **axis,
        },
        "bargap": 0.3,
    }
    return _figure(data, layout)


def delivery_volumes(points: Sequence[DeliveryPoint]) -> go.Figure:
    """Learners trained (bars; proposed months hollow) and training hours (line, right axis)
    by month."""
    return _delivery_figure(
        points,
        (
            "Learners trained",
            PALETTE["blue"],
            [p.learners_trained for p in points],
            [
                f"{p.month.label}: {p.learners_trained:,} learners{_proposed_note(p)}"
                for p in points
            ],
        ),
        (
            "Training hours",
            {"color": PALETTE["orange"], "width": 2, "dash": "dash"},
            {"symbol": "diamond", "size": 7},
            [p.training_hours for p in points],
            [
                f"{p.month.label}: {formatting.number(p.training_hours)} hours{_proposed_note(p)}"
                for p in points
            ],
        ),
        ("Learners", "Hours"),
    )


def delivery_spend(points: Sequence[DeliveryPoint], currency: str) -> go.Figure:
    """Invoiced spend (bars; proposed months hollow) and cost per learner (line, right axis)
    by month, in the partnership's currency."""
    return _delivery_figure(
        points,
        (
            f"Spend ({currency})",
            PALETTE["green"],
            [p.spend for p in points],
            [
                f"{p.month.label}: {currency} {formatting.number(p.spend, 0)}{_proposed_note(p)}"
                if p.spend is not None
                else f"{p.month.label}: not invoiced"
                for p in points
            ],
        ),
        (
            f"Cost per learner ({currency})",
            {"color": TEXT_COLOR, "width": 2},
            {"symbol": "circle", "size": 7},
            [p.cost_per_learner for p in points],
            [
                f"{p.month.label}: {currency} {formatting.number(p.cost_per_learner, 2)} "
                f"per learner{_proposed_note(p)}"
                for p in points
            ],
        ),
        (f"Spend ({currency})", "Per learner"),
    )
