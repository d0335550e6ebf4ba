"""Plain data → plotly figures: the one home of every chart, for web pages and scorecards.

Every function takes plain values (the services' frozen dataclasses) and returns a
``plotly.graph_objects.Figure`` styled by ``apply_theme``: the app's font stack, the
Okabe–Ito colour-blind-safe palette, and marks that stay distinct in grey (symbols, dashes
and fill lightness rather than hue alone). ``chart_json`` serialises a figure for a
``<script type="application/json">`` data block that ``static/js/charts.js`` draws.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from mls_tracker.services.satisfaction import SatisfactionFigure

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


def apply_theme(figure: go.Figure, *, height: int = 320) -> go.Figure:
    """The app's chart theme; every chart function ends with it."""
    figure.update_layout(template=TEMPLATE, height=height, hovermode="x unified")
    return figure


def chart_json(figure: go.Figure) -> str:
    """The figure as JSON safe to place inside a ``<script type="application/json">`` block:
    ``<``, ``>`` and ``&`` are escaped so user text cannot close the element."""
    return figure.to_json().replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _x(figures: Sequence[SatisfactionFigure]) -> list[str]:
    return [f.month.first_day.isoformat() for f in figures]  # type: ignore[union-attr]


def _symbol(figure: SatisfactionFigure) -> str:
    if figure.is_reported:
        return SYMBOL_REPORTED_LOW_SAMPLE if figure.low_sample else SYMBOL_REPORTED
    return SYMBOL_LOW_SAMPLE if figure.low_sample else SYMBOL_NORMAL


def _note(figure: SatisfactionFigure) -> str:
    notes = []
    if figure.low_sample:
        notes.append("low sample")
    if figure.is_reported:
        notes.append("reported")
    return f" · {', '.join(notes)}" if notes else ""


def _trend(
    figures: Sequence[SatisfactionFigure],
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
    figure = go.Figure()
    # The n of each month as faint bars on a second axis, kept in the lower part of the plot.
    top_n = max(ns, default=0) or 1
    figure.add_trace(
        go.Bar(
            x=x,
            y=ns,
            name="n (responses)",
            yaxis="y2",
            marker={"color": N_BAR_COLOR, "line": {"width": 0}},
            hoverinfo="skip",
            showlegend=True,
        )
    )
    figure.add_trace(
        go.Scatter(
            x=x,
            y=highs,
            mode="lines",
            line={"width": 0},
            hoverinfo="skip",
            showlegend=False,
            name=f"{band_name} (upper)",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=x,
            y=lows,
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor=BAND_FILL,
            hoverinfo="skip",
            name=band_name,
        )
    )
    figure.add_trace(
        go.Scatter(
            x=x,
            y=values,
            mode="lines+markers",
            name=name,
            line={"color": PALETTE["blue"], "width": 2.5},
            marker={
                "symbol": [_symbol(f) for f in figures],
                "size": [11 if f.low_sample or f.is_reported else 8 for f in figures],
                "color": PALETTE["blue"],
                "line": {"width": 2, "color": PALETTE["blue"]},
            },
            customdata=[[n] for n in ns],
            hovertext=hover,
            hovertemplate="%{hovertext}<extra></extra>",
            connectgaps=False,
        )
    )
    figure.update_layout(
        yaxis={"title": {"text": y_title}, "range": y_range},
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "range": [0, top_n * 3],
            "showgrid": False,
            "zeroline": False,
            "title": {"text": "n", "standoff": 4, "font": {"color": MUTED_COLOR}},
            "tickfont": {"color": MUTED_COLOR, "size": 11},
            "tickmode": "auto",
            "nticks": 3,
        },
        xaxis={"type": "date", "tickformat": "%b<br>%Y", "nticks": 8},
        bargap=0.45,
    )
    return apply_theme(figure)


def satisfaction_trend(figures: Sequence[SatisfactionFigure]) -> go.Figure:
    """CSAT by month with its 95% Wilson band, n as faint bars; low-sample months hollow,
    reported months as diamonds. Months without a CSAT are gaps."""
    figures = [f for f in figures if f.month is not None]
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


def nps_trend(figures: Sequence[SatisfactionFigure]) -> go.Figure:
    """NPS by month with its 95% margin of error as a band, n as faint bars."""
    figures = [f for f in figures if f.month is not None]
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
