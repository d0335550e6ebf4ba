"""The scorecard's print template: ``ScorecardData`` → one HTML document (PDF or preview).

A pure function of its arguments, so an issued scorecard renders the same years later: its own
Jinja environment on ``reports/`` (autoescape on, ``StrictUndefined``, no Flask globals), no
clock, no database. In print, assets are ``mls-report:`` URLs (served from ``reports/`` by the
PDF renderer's URL fetcher) and charts are the SVGs the caller exported, embedded as ``data:``
images; in the browser preview, charts are drawn by plotly.js from the same figures, and the
page needs no inline script or ``style`` attribute (the Content-Security-Policy forbids them).
Small inline SVGs drawn here (SLA sparklines) carry only numbers and fixed class names.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from mls_tracker import formatting
from mls_tracker.formatting import Badge, badge
from mls_tracker.formatting import percent as percent  # the PDF tests read figures with it
from mls_tracker.scorecards.chart_text import chart_text
from mls_tracker.scorecards.charts import scorecard_figures
from mls_tracker.scorecards.snapshot import (
    LAYOUT_VERSION,
    ActionRow,
    ScorecardData,
    ScorecardMeta,
    SlaRow,
    SlaTrendPoint,
    SponsorFacts,
)

REPORTS_DIR = Path(__file__).resolve().parents[2] / "reports"
SCHEME = "mls-report:"
# What the preview asks ``asset_url`` for besides files under reports/ (see
# ``assets.report_asset_url``): plotly.js, its stylesheet and the page script that draws charts.
PREVIEW_SCRIPTS = ("plotly.min.js", "plotly.css", "charts.js")
# The print stylesheets of each layout (``ScorecardData.layout``), applied by the PDF renderer
# (``pdf.html_to_pdf(html, stylesheets=print_stylesheets(data.layout))``, parsed once per
# process) rather than linked from the HTML. Layout 2 (issue 18) adds ``print-2.css``, rules
# that are quicker to lay out; the browser preview links ``scorecard.css`` alone.
LAYOUT_STYLESHEETS = {1: ("scorecard.css",), 2: ("scorecard.css", "print-2.css")}
PRINT_STYLESHEETS = LAYOUT_STYLESHEETS[LAYOUT_VERSION]  # a scorecard built now


def print_stylesheets(layout: int) -> tuple[str, ...]:
    """The print stylesheets of a layout."""
    return LAYOUT_STYLESHEETS[layout]


CHART_TITLES = {
    "health_trend": "Health score, last 12 months",
    "sla_attainment": "SLA attainment, last 12 months",
    "satisfaction_trend": "Learner satisfaction (CSAT) by month",
    "nps_trend": "Net Promoter Score by month",
    "action_flow": "Action items opened, closed and overdue by month",
    "delivery_spend": "Invoiced spend and cost per learner, last 12 months",
}


UNIT_SUFFIX = {"%": "%", "hours": " h", "days": " d", "count": "", "score": "", "currency": ""}


def measure(value: float | None, unit: str) -> str:
    """An SLA value in its unit: ``96.8%``, ``2.7 h``, ``16.2 d``, ``4.3``."""
    if value is None:
        return formatting.EMPTY
    if unit == "currency":
        return f"{formatting.rounded(value, 2):,.2f}".replace("-", formatting.MINUS)
    digits = 2 if unit == "score" and abs(value) < 10 else 1
    return f"{formatting.number(value, digits)}{UNIT_SUFFIX.get(unit, '')}"


def gap(row: SlaRow) -> str:
    """How far an SLA's actual is from its target, signed, in its unit and in words:
    ``−3.2 pts below target``, ``+2 h above target`` (``pts``: percentage points)."""
    if row.gap is None:
        return formatting.EMPTY
    size = abs(row.gap)
    amount = f"{formatting.number(size)} pts" if row.unit == "%" else measure(size, row.unit)
    if formatting.rounded(size, 2) == 0:
        return f"{amount} — on target"
    sign = "+" if row.gap > 0 else formatting.MINUS
    return f"{sign}{amount} {'above' if row.gap > 0 else 'below'} target"


def day(value: dt.date | None) -> str:
    return formatting.EMPTY if value is None else f"{value.day} {value:%b %Y}"


def long_day(value: dt.date | None) -> str:
    return formatting.EMPTY if value is None else f"{value.day} {value:%B %Y}"


def paragraphs(text: str) -> list[list[str]]:
    """The user's paragraphs (blank-line separated), each a list of its lines; escaped later."""
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
    return [
        [line.strip() for line in block.split("\n") if line.strip()]
        for block in blocks
        if block.strip()
    ]


def engagement(sponsor: SponsorFacts) -> Badge | None:
    """A sponsor who attended fewer than half of the last 3 months' meetings is flagged."""
    if sponsor.held == 0:
        return None
    if sponsor.attended * 2 < sponsor.held:
        return badge(formatting.BAD, "Low engagement")
    if sponsor.attended < sponsor.held:
        return badge(formatting.WARN, "Partial")
    return badge(formatting.GOOD, "Engaged")


# --- SLA sparklines ---------------------------------------------------------------------------

SPARK_W, SPARK_H, SPARK_PAD = 84.0, 22.0, 3.5
_MARK = {"met": "good", "at risk": "warn", "breached": "bad"}


def sparkline(trend: Sequence[SlaTrendPoint], target: float | None, unit: str = "") -> Markup:
    """Six months as a tiny SVG: the line of actuals, the target dashed, each month's mark
    coloured and shaped by its status (circle met, diamond at risk, cross breached). Its
    ``<title>`` (the tagged PDF's alternative text) says the same in words."""
    if not trend or all(p.actual is None for p in trend):
        return Markup('<span class="spark-none">no data</span>')
    said = "; ".join(
        f"{p.month.label} {measure(p.actual, unit) if p.actual is not None else 'none'}"
        f"{'' if p.actual is None else ' ' + p.status}"
        for p in trend
    )
    values = [p.actual for p in trend if p.actual is not None]
    if target is not None:
        values.append(target)
    low, high = min(values), max(values)
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    step = (SPARK_W - 2 * SPARK_PAD) / max(len(trend) - 1, 1)

    def y(value: float) -> float:
        return SPARK_PAD + (high - value) / (high - low) * (SPARK_H - 2 * SPARK_PAD)

    parts = [
        f'<svg class="spark" xmlns="http://www.w3.org/2000/svg" width="{SPARK_W:g}" '
        f'height="{SPARK_H:g}" viewBox="0 0 {SPARK_W:g} {SPARK_H:g}" role="img">',
        f"<title>{escape('Last ' + str(len(trend)) + ' months: ' + said)}</title>",
    ]
    if target is not None:
        ty = y(target)
        parts.append(
            f'<line class="spark-target" x1="0" x2="{SPARK_W:g}" y1="{ty:.1f}" y2="{ty:.1f}" '
            'stroke="#5a6470" stroke-width="0.6" stroke-dasharray="2 1.5"/>'
        )
    segment: list[str] = []
    segments = []
    for index, point in enumerate(trend):
        if point.actual is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{SPARK_PAD + index * step:.1f},{y(point.actual):.1f}")
    if segment:
        segments.append(segment)
    for points in segments:
        parts.append(
            f'<polyline points="{" ".join(points)}" fill="none" stroke="#5a6470" stroke-width="1"/>'
        )
    for index, point in enumerate(trend):
        if point.actual is None:
            continue
        cx, cy = SPARK_PAD + index * step, y(point.actual)
        parts.append(_mark(_MARK.get(point.status, "none"), cx, cy, last=index == len(trend) - 1))
    parts.append("</svg>")
    # Safe: built here from numbers, fixed colours and class names only — no user text
    # (the title, months and figures, is escaped all the same).
    return Markup("".join(parts))  # noqa: S704


COLORS = {"good": "#009E73", "warn": "#E69F00", "bad": "#D55E00", "none": "#8a939c"}


def _mark(kind: str, cx: float, cy: float, *, last: bool) -> str:
    r = 2.6 if last else 1.9
    color = COLORS[kind]
    if kind == "warn":
        return (
            f'<path d="M{cx:.1f} {cy - r - 0.4:.1f}L{cx + r + 0.4:.1f} {cy:.1f}L{cx:.1f} '
            f'{cy + r + 0.4:.1f}L{cx - r - 0.4:.1f} {cy:.1f}Z" fill="{color}"/>'
        )
    if kind == "bad":
        return (
            f'<path d="M{cx - r:.1f} {cy - r:.1f}L{cx + r:.1f} {cy + r:.1f}M{cx - r:.1f} '
            f'{cy + r:.1f}L{cx + r:.1f} {cy - r:.1f}" stroke="{color}" stroke-width="1.5"/>'
        )
    fill = color if kind == "good" else "#ffffff"
    return (
        f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="{fill}" stroke="{color}" '
        'stroke-width="0.8"/>'
    )


# --- Charts ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChartView:
    name: str
    title: str
    image: str | None  # a data: URI of the SVG (print)
    figure_json: str | None  # the plotly figure for charts.js (preview)
    # Addition (issue 19): the chart in one sentence drawn from its data — the image's alt
    # text in the tagged PDF, the drawing's aria-label in the preview.
    alt: str = ""

    @property
    def shown(self) -> bool:
        return bool(self.image or self.figure_json)


def _svg_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _figure_json(figure: Mapping[str, Any]) -> str:
    """Safe inside ``<script type="application/json">``, like ``charts.chart_json``."""
    text = json.dumps(figure, separators=(",", ":"), default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _preview_figures(data: ScorecardData) -> dict[str, str]:
    """Chart name → figure JSON, from the same figures as print."""
    figures = {}
    for chart in scorecard_figures(data):
        figure = chart.figure
        layout = dict(figure.get("layout") or {})
        layout.setdefault("height", chart.height)
        # The print size's fixed width would overflow a narrow window; plotly fills the box.
        layout.pop("width", None)
        figures[chart.name] = _figure_json({**figure, "layout": layout})
    return figures


def _charts(data: ScorecardData, charts: Mapping[str, str], preview: bool) -> dict[str, ChartView]:
    views = {}
    figures = _preview_figures(data) if preview else {}
    for name, default_title in CHART_TITLES.items():
        if preview:
            image, figure = None, figures.get(name)
        else:
            svg = charts.get(name)
            image, figure = (_svg_uri(svg) if svg else None), None
        alt = chart_text(name, default_title, data) if image or figure else ""
        views[name] = ChartView(name, default_title, image, figure, alt)
    return views


# --- Rendering -------------------------------------------------------------------------------


def _split_actions(data: ScorecardData) -> tuple[list[ActionRow], list[ActionRow], list[ActionRow]]:
    """Overdue, due before the next review, and the rest of the open items: each once."""
    overdue = [row for row in data.actions.open_items if row.overdue]
    due_next = [row for row in data.actions.due_next if not row.overdue]
    seen = set(overdue) | set(due_next)
    others = [row for row in data.actions.open_items if row not in seen]
    return overdue, due_next, others


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(REPORTS_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        keep_trailing_newline=False,
    )
    formatting.register(env)
    env.filters.update(
        measure=measure,
        day=day,
        long_day=long_day,
        paragraphs=paragraphs,
        sparkline=sparkline,
        gap=gap,
    )
    env.globals.update(engagement=engagement, sections=sections)
    return env


def sections(data: ScorecardData) -> dict[str, tuple[int, str]]:
    """The numbered sections of a scorecard, in order: anchor → (number, title). Service
    credits and delivery are there only when the snapshot has them (issue 19), so a scorecard
    without them keeps its numbers."""
    titles = [("summary", "Executive summary"), ("service-levels", "Service levels")]
    if data.credits is not None:
        titles.append(("service-credits", "Service credits"))
    if data.delivery is not None:
        titles.append(("delivery", "Delivery and spend"))
    titles += [
        ("satisfaction", "Learner satisfaction"),
        ("action-plan", "Action plan"),
        ("governance", "Sponsorship & governance"),
    ]
    return {anchor: (number, title) for number, (anchor, title) in enumerate(titles, start=1)}


def _print_url(name: str) -> str:
    return SCHEME + name


def render_scorecard_html(
    data: ScorecardData,
    meta: ScorecardMeta,
    charts: Mapping[str, str],
    *,
    preview: bool = False,
    asset_url: Callable[[str], str] | None = None,
) -> str:
    """The scorecard as one HTML document: for WeasyPrint (``preview=False``; ``charts`` maps
    chart names to SVG text; laid out with
    ``stylesheets=print_stylesheets(data.layout)``) or for the browser (``preview=True``;
    charts drawn by plotly.js, assets at ``asset_url(name)``)."""
    if preview and asset_url is None:
        raise ValueError("a preview needs asset_url to link its stylesheet and scripts")
    url = asset_url if preview and asset_url is not None else _print_url
    guard_ids: tuple[str, ...] = ()
    if preview:
        from mls_tracker.assets import plotly_style_guard_ids

        guard_ids = plotly_style_guard_ids()
    overdue, due_next, other_open = _split_actions(data)
    template = environment().get_template("scorecard.html")
    return template.render(
        data=data,
        meta=meta,
        preview=preview,
        asset_url=url,
        charts=_charts(data, charts, preview),
        guard_ids=guard_ids,
        overdue=overdue,
        due_next=due_next,
        other_open=other_open,
    )
