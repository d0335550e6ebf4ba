"""Issue 15, points 1–5: figures executives can trust — the health score from exact parts,
like-for-like changes, no score on too little data, saying what is missing, and half-up
rounding with one set of RAG band words."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import PartnershipMonthFigures
from mls_tracker.periods import utc_today
from mls_tracker.services import dashboard, figures_cache
from mls_tracker.services.health import ComponentKey, Rag, health_score
from tests import factories
from tests.conftest import sign_in

SLA, SAT, ACT, COV = (
    ComponentKey.SLA,
    ComponentKey.SATISFACTION,
    ComponentKey.ACTIONS,
    ComponentKey.COVERAGE,
)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _slas_met_and_breached(world, month, met_weight: float, breached_weight: float) -> None:
    """Two confirmed SLAs of the world's partnership in ``month``: one met, one breached,
    with the weights given (target 90, at risk 85)."""
    met = factories.create_sla(world.partnership, None, "MET-01", weight=met_weight)
    breached = factories.create_sla(world.partnership, None, "BRE-01", weight=breached_weight)
    factories.add_measurement(met, month, 95, confirmed_by=world.lead)
    factories.add_measurement(breached, month, 50, confirmed_by=world.lead)
    db.session.commit()


def _reviewed_figures(world) -> dashboard.MonthFigures:
    today = utc_today()
    month = dashboard.reviewed_month(today)
    return dashboard.month_figures([world.partnership], month, month, today)[world.partnership.id][
        0
    ]


# ----------------------------------------------------------------------------- 1. exact parts


def test_the_score_is_rounded_once_from_exact_parts_54_4985_is_54():
    exact = dict.fromkeys(ComponentKey, 54.4985)
    assert health_score(exact).score == 54
    assert health_score(exact).exact == pytest.approx(54.4985)
    # The same parts rounded to one decimal first (54.5 each) would have made it 55.
    assert health_score(dict.fromkeys(ComponentKey, 54.5)).score == 55


def test_at_the_79_5_boundary_exact_parts_keep_amber():
    # Parts of 79.45 show as 79.5 (one decimal), but the score is 79.45 → 79, amber.
    result = health_score(dict.fromkeys(ComponentKey, 79.45))
    assert (result.score, result.rag) == (79, Rag.AMBER)
    assert health_score(dict.fromkeys(ComponentKey, 79.5)).rag == Rag.GREEN


def test_month_figures_combine_the_exact_sla_attainment(app, world):
    # Met weight 50 of 89 measured: 56.1798 % (shown 56.2 %). With coverage 50 % (1 of 2
    # regions): (40 · 56.1798 + 15 · 50) / 55 = 54.494 → 54. From the shown 56.2 it would
    # be 54.509 → 55.
    month = dashboard.reviewed_month(utc_today())
    _slas_met_and_breached(world, month, 50, 39)
    figures = _reviewed_figures(world)
    assert figures.sla_attainment == 56.2
    assert figures.coverage == 50
    assert figures.health.exact == pytest.approx(54.494, abs=1e-3)
    assert figures.health.score == 54
    # read again from the cache: the same, the stored row holds the exact attainment
    assert _reviewed_figures(world).health.score == 54
    stored = json.loads(
        db.session.scalar(
            sa.select(sa.cast(PartnershipMonthFigures.data, sa.Text)).where(
                PartnershipMonthFigures.partnership_id == world.partnership.id,
                PartnershipMonthFigures.month == month,
            )
        )
    )
    assert stored["sla_attainment_exact"] == pytest.approx(100 * 50 / 89)
    assert stored[figures_cache.VERSION_KEY] == figures_cache.CACHE_VERSION


def test_at_the_59_5_boundary_the_colour_follows_the_exact_parts(app, world, client):
    # Met weight 99 of 157: 63.0573 % (shown 63.1 %); with coverage 50 %:
    # (40 · 63.0573 + 750) / 55 = 59.496 → 59, red (from 63.1 it would be 59.53 → 60, amber).
    month = dashboard.reviewed_month(utc_today())
    _slas_met_and_breached(world, month, 99, 58)
    figures = _reviewed_figures(world)
    assert (figures.health.score, figures.health.rag) == (59, Rag.RED)
    sign_in(client, world.lead.email)
    html = client.get(f"/partnerships/{world.partnership.id}").get_data(as_text=True)
    tile = _text(html.split('id="tile-health"')[1].split('id="tile-sla"')[0])
    assert "59 /100" in tile and "Red" in tile
    assert "rag-red" in html.split('id="tile-health"')[0].rsplit("<div", 1)[1]


def test_a_row_cached_by_an_older_version_is_recomputed(app, world):
    month = dashboard.reviewed_month(utc_today())
    _slas_met_and_breached(world, month, 50, 39)
    figures = _reviewed_figures(world)  # cached now
    # An older version stored rounded parts and no version: rewrite the row that way.
    data = {
        k: v
        for k, v in dashboard._to_data(figures).items()
        if not k.endswith("_exact") and k != "slas_proposed"
    }
    row = db.session.scalar(
        sa.select(PartnershipMonthFigures).where(
            PartnershipMonthFigures.partnership_id == world.partnership.id,
            PartnershipMonthFigures.month == month,
        )
    )
    row.data = data
    db.session.commit()
    again = _reviewed_figures(world)
    assert again.sla_attainment_exact == pytest.approx(100 * 50 / 89)
    assert again.health.score == 54
