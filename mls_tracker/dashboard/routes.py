"""The portfolio page and its CSV export (read-only for every role)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from flask import Blueprint, render_template, request
from flask_login import current_user
from flask_security import auth_required
from markupsafe import Markup, escape

from mls_tracker import formatting
from mls_tracker.exports import csv_response
from mls_tracker.formhelp import to_int
from mls_tracker.periods import Month, utc_today
from mls_tracker.services import dashboard as service
from mls_tracker.services import data_version
from mls_tracker.services.sponsor_reading import sponsor_inbox

bp = Blueprint("dashboard", __name__)

SPARK_WIDTH, SPARK_HEIGHT, SPARK_PAD = 96, 30, 3


SPARK_FLOOR = 30  # scores below are drawn on the floor: the line shows the bands it crosses


def _y(score: float) -> float:
    inner = SPARK_HEIGHT - 2 * SPARK_PAD
    share = (max(score, SPARK_FLOOR) - SPARK_FLOOR) / (100 - SPARK_FLOOR)
    return round(SPARK_PAD + inner * (1 - share), 1)


def sparkline(trend: Sequence[tuple[Month, float | None]]) -> Markup:
    """The health trend as a tiny inline SVG (attributes only: the CSP forbids ``style``):
    dashed lines at the amber (60) and green (80) bands, the scores as a line broken where a
    month has none, and a larger dot on the last month. Built here rather than in a Jinja
    macro because the portfolio draws one per row."""
    w, h = SPARK_WIDTH, SPARK_HEIGHT
    step = (w - 2 * SPARK_PAD) / max(len(trend) - 1, 1)
    segments: list[list[str]] = [[]]
    dots = []
    for i, (_, score) in enumerate(trend):
        if score is None:
            if segments[-1]:
                segments.append([])
            continue
        x, y = round(SPARK_PAD + i * step, 1), _y(score)
        segments[-1].append(f"{x},{y}")
        dots.append((x, y, i == len(trend) - 1))
    label = "Health score, last {} months: {}".format(
        len(trend),
        ", ".join(
            f"{month.label} {'no score' if score is None else round(score)}"
            for month, score in trend
        ),
    )
    green, amber = _y(80), _y(60)
    parts = [
        f'<svg class="spark" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" '
        f'aria-label="{escape(label)}"><title>{escape(label)}</title>',
        f'<line x1="0" x2="{w}" y1="{green}" y2="{green}" stroke="#7fae8e" '
        'stroke-width="1" stroke-dasharray="2 2"/>',
        f'<line x1="0" x2="{w}" y1="{amber}" y2="{amber}" stroke="#c9a24a" '
        'stroke-width="1" stroke-dasharray="2 2"/>',
    ]
    for points in segments:
        if len(points) > 1:
            parts.append(
                f'<polyline points="{" ".join(points)}" fill="none" stroke="#1f5f99" '
                'stroke-width="1.6" stroke-linejoin="round" stroke-linecap="round"/>'
            )
    for x, y, last in dots:
        parts.append(f'<circle cx="{x}" cy="{y}" r="{2.8 if last else 1.4}" fill="#17324d"/>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 — only numbers and escape()d text go in


def _filters() -> dict:
    return {
        "provider_id": to_int(request.args.get("provider")),
        "region_id": to_int(request.args.get("region")),
        "status": request.args.get("status") or None,
        "sort": request.args.get("sort", service.DEFAULT_SORT),
        "archived": request.args.get("archived") == "1",
    }


@lru_cache(maxsize=4096)
def _row_html(row: service.PortfolioRow, weights: tuple | None, root: str) -> Markup:
    """One row of the table, remembered by everything it shows: the row's values (a frozen
    dataclass, figures included), the weights its health score was computed with, and the
    application's root in its links. The portfolio shows the same rows request after request;
    rendering them is most of the page's time."""
    return Markup(  # noqa: S704 — rendered by Jinja, which escapes
        render_template(
            "dashboard/_portfolio_row.html",
            row=row,
            month=row.month,
            sparkline=sparkline(row.trend),
        )
    )


@bp.get("/portfolio")
@auth_required()
def portfolio():
    """The default view (no query arguments) is remembered per user and day under the
    installation's data version: every write it shows is audited (the partnerships' data,
    memberships, reference data, scorecards and their deliveries)."""
    filters = _filters()
    today = utc_today()

    def compute() -> tuple[service.PortfolioPage, list[Markup], object]:
        page = service.portfolio_page(current_user, today, **filters, page=request.args.get("page"))
        root = request.script_root
        rows = [
            _row_html(
                row, tuple(row.current.weights.values()) if row.current.weights else None, root
            )
            for row in page.rows
        ]
        return page, rows, sponsor_inbox(current_user)  # None for a user who sponsors nothing

    if request.args:
        page, rows, inbox = compute()
    else:
        page, rows, inbox = data_version.remembered_across(
            "dashboard.portfolio", (current_user.id, today), compute
        )
    return render_template(
        "dashboard/portfolio.html", page=page, filters=filters, rows=rows, inbox=inbox
    )


def _number(value: float | None, digits: int = 1):
    """Rounded half up (never banker's rounding); "" for no figure."""
    return "" if value is None else formatting.rounded(value, digits)


@bp.get("/portfolio/export.csv")
@auth_required()
def export():
    page = service.portfolio_page(
        current_user, utc_today(), **_filters(), per_page=None, with_trend=False
    )
    header = [
        "Partnership",
        "Client",
        "Provider",
        "Status",
        "Regions",
        "Reviewed month",
        "Health score",
        "RAG",
        "Change since previous month",
        "Components left out",
        "SLA attainment %",
        "CSAT %",
        "CSAT n",
        "NPS",
        "NPS n",
        "Overdue actions",
        "Coverage gaps",
        "Next meeting",
    ]
    rows = (
        [
            row.name,
            row.client_name,
            row.provider_name,
            row.status,
            "; ".join(row.region_names),
            str(row.month),
            _number(row.health.score),
            row.health.rag.label if row.health.rag else formatting.NOT_ENOUGH_DATA,
            _number(row.health_change),
            "; ".join(row.left_out),
            _number(row.sla_attainment),
            _number(row.csat),
            row.n_rating,
            _number(row.nps),
            row.n_recommend,
            row.overdue_actions,
            "; ".join(row.coverage_gaps),
            row.next_meeting_on.isoformat() if row.next_meeting_on else "",
        ]
        for row in page.rows
    )
    return csv_response(f"portfolio-{page.month}.csv", header, rows)
