"""Issue 15, points 1–5: figures executives can trust — the health score from exact parts,
like-for-like changes, no score on too little data, saying what is missing, and half-up
rounding with one set of RAG band words."""

from __future__ import annotations

import dataclasses
import json
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from mls_tracker import charts, formatting
from mls_tracker.extensions import db
from mls_tracker.models import (
    OrganisationKind,
    PartnershipMonthFigures,
    ReportedSatisfaction,
    ReviewKind,
    Side,
)
from mls_tracker.periods import Month, utc_today
from mls_tracker.scorecards import build as scorecard_build
from mls_tracker.services import dashboard, figures_cache
from mls_tracker.services import reviews as reviews_service
from mls_tracker.services import satisfaction as satisfaction_service
from mls_tracker.services.health import ComponentKey, Rag, compare, health_score
from tests import factories
from tests.conftest import sign_in
from tests.scorecard_samples import sample_data
from tests.test_reports import render, text_of

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


# ----------------------------------------------------------------------------- 2. like for like


def test_a_three_part_score_is_compared_with_the_same_three_parts_last_month():
    # Last month, four parts: SLA 85, satisfaction, actions and coverage 60 → 70.
    # This month SLA is left out (its actuals still proposed), the others 66 → 66.
    # Naively 66 − 70 = −4 "worse"; like for like the three parts rose 60 → 66.
    before = health_score({SLA: 85, SAT: 60, ACT: 60, COV: 60})
    now = health_score({SLA: None, SAT: 66, ACT: 66, COV: 66})
    assert (before.score, now.score) == (70, 66)
    compared = compare(now, before)
    assert (compared.before, compared.now, compared.delta) == (60, 66, 6)
    assert compared.keys == (SAT, ACT, COV) and compared.partial
    assert compared.note == "compared on the three parts both months have (60 → 66)"
    # the same parts in both months: the scores as shown, no note
    same = compare(before, health_score({SLA: 90, SAT: 60, ACT: 60, COV: 60}))
    assert (same.delta, same.note) == (-2, "")


def _reported_csat(partnership, month, csat: float) -> None:
    db.session.add(
        ReportedSatisfaction(partnership_id=partnership.id, month=month, responses=40, csat=csat)
    )


def test_the_overview_compares_like_for_like_and_says_so(app, world, client):
    reviewed = dashboard.reviewed_month(utc_today())
    before = reviewed.previous()
    sla = db.session.get(factories.Sla, world.ids["sla_id"])
    factories.add_measurement(sla, before, 95, confirmed_by=world.lead)  # met: 100 %
    factories.add_measurement(sla, reviewed, 95)  # proposed: SLA attainment left out
    _reported_csat(world.partnership, before, 60)
    _reported_csat(world.partnership, reviewed, 70)
    for month in (before, reviewed):  # due in the month, still open: 0 %
        factories.create_action(world.partnership, f"Due {month}", due_on=month.first_day)
    db.session.commit()
    # Now: (25·70 + 20·0 + 15·50) / 60 = 41.7 → 42. Last month with SLA 100 %:
    # (40·100 + 25·60 + 0 + 15·50) / 100 = 62.5 → 63, a fall of 21 — but on the three parts
    # both months have: (25·60 + 0 + 750) / 60 = 37.5 → 38, a rise of 4.
    sign_in(client, world.lead.email)
    html = client.get(f"/partnerships/{world.partnership.id}").get_data(as_text=True)
    tile = _text(html.split('id="tile-health"')[1].split('id="tile-sla"')[0])
    assert "42 /100" in tile
    assert f"+4 points up since {before.label} · better" in tile
    assert "compared on the three parts both months have (38 → 42)" in tile
    assert "−21" not in tile


# ----------------------------------------------------------------------------- 3. not enough data


def test_a_score_needs_half_of_the_weight_with_data():
    only_coverage = health_score({SLA: None, SAT: None, ACT: None, COV: 100})
    assert (only_coverage.score, only_coverage.rag) == (None, None)
    assert only_coverage.not_enough_data
    assert only_coverage.missing_text == (
        "SLA attainment, learner satisfaction and action plan health have no data yet "
        "(85 % of the weight); a score needs at least 50 %."
    )
    # 40 % is not enough, 55 % is ((40·90 + 15·100) / 55 = 92.7 → 93), exactly half is
    assert health_score({SLA: None, SAT: 70, ACT: None, COV: 100}).score is None  # 40 %
    assert health_score({SLA: 90, SAT: None, ACT: None, COV: 100}).score == 93  # 55 %
    half = {SLA: Decimal(50), SAT: Decimal(50), ACT: Decimal(0), COV: Decimal(0)}
    assert health_score({SLA: 80, SAT: None, ACT: None, COV: None}, half).score == 80


def _sponsors_only_partnership():
    """A new partnership with nothing but a client sponsor in its one region."""
    client_org = factories.create_organisation("New Client", OrganisationKind.CLIENT)
    provider = factories.create_organisation("New Provider", OrganisationKind.PROVIDER)
    region = factories.create_region("LATAM", 3)
    partnership = factories.create_partnership("Fresh Start", client_org, provider, [region])
    factories.create_sponsor(partnership, region, Side.CLIENT, "Sol Sponsor")
    db.session.commit()
    return partnership


def test_a_partnership_with_only_sponsors_has_no_score_on_the_portfolio_and_csv(app, world, client):
    partnership = _sponsors_only_partnership()
    sign_in(client, world.admin.email)
    html = client.get("/portfolio").get_data(as_text=True)
    row = _text(html.split("Fresh Start")[1].split("</tr>")[0])
    assert "Not enough data" in row
    assert "100" not in row.split("Trend")[0] and "Green" not in row
    assert "SLA attainment, learner satisfaction and action plan health have no data yet" in row
    csv = client.get("/portfolio/export.csv").get_data(as_text=True)
    line = next(line for line in csv.splitlines() if line.startswith("Fresh Start"))
    assert ",Not enough data," in line and ",100," not in line
    figures = dashboard.month_figures(
        [partnership],
        dashboard.reviewed_month(utc_today()),
        dashboard.reviewed_month(utc_today()),
        utc_today(),
    )[partnership.id][0]
    assert figures.coverage == 100 and figures.health.score is None


def test_the_overview_names_what_is_missing(app, world, client):
    reviewed = dashboard.reviewed_month(utc_today())
    factories.create_action(world.partnership, "Due", due_on=reviewed.first_day)
    db.session.commit()
    # actions 0 % (20) and coverage 50 % (15): 35 % of the weight, no score
    sign_in(client, world.lead.email)
    html = client.get(f"/partnerships/{world.partnership.id}").get_data(as_text=True)
    tile = _text(html.split('id="tile-health"')[1].split('id="tile-sla"')[0])
    assert "○ Not enough data" in tile
    assert (
        f"No score for {reviewed.label}: SLA attainment and learner satisfaction have no data "
        "yet (65 % of the weight); a score needs at least 50 %."
    ) in tile
    assert "/100" not in tile
    assert "A score needs parts carrying at least 50 % of the weight" in tile
    csv = client.get(f"/partnerships/{world.partnership.id}/charts/health.csv")
    row = next(r for r in csv.get_data(as_text=True).splitlines() if r.startswith(str(reviewed)))
    assert row.startswith(f"{reviewed},,Not enough data,")


# ----------------------------------------------------------------------------- 4. what is missing


def test_a_change_with_no_figure_now_says_so_not_no_earlier_figure(app):
    template = app.jinja_env.from_string(
        '{% from "_format.html" import change_since %}'
        "{{ change_since(change(None, 85.3), since='Oct 2026', empty='No earlier review') }}"
    )
    assert "No figure this period · was 85.3 in Oct 2026" in template.render()
    assert "No earlier" not in template.render()


def test_the_overview_calls_proposed_actuals_proposed_not_missing(app, world, client):
    reviewed = dashboard.reviewed_month(utc_today())
    sla = db.session.get(factories.Sla, world.ids["sla_id"])
    factories.add_measurement(sla, reviewed, 95)  # proposed, awaiting a lead
    other = factories.create_sla(world.partnership, None, "NON-01")  # nothing entered
    db.session.commit()
    assert other.id
    sign_in(client, world.lead.email)
    html = client.get(f"/partnerships/{world.partnership.id}").get_data(as_text=True)
    tile = _text(html.split('id="tile-sla"')[1].split('id="tile-satisfaction"')[0])
    assert "0 breached · 0 at risk · 1 missing · 1 proposed, not yet confirmed" in tile
    assert "2 missing" not in tile


def test_the_sla_headline_is_the_last_complete_month_not_the_month_in_progress(app, world, client):
    now = Month.current(utc_today())
    sla = db.session.get(factories.Sla, world.ids["sla_id"])
    factories.add_measurement(sla, now.previous(), 95, confirmed_by=world.lead)  # met
    factories.add_measurement(sla, now, 50, confirmed_by=world.lead)  # breached so far
    db.session.commit()
    sign_in(client, world.lead.email)
    html = client.get(f"/partnerships/{world.partnership.id}/slas/").get_data(as_text=True)
    summary = _text(html.split('class="sla-summary"')[1].split("</section>")[0])
    assert f"Attainment, {now.previous().label}" in summary
    assert f"Attainment, {now.label}" not in summary
    assert 'id="attainment-now">100%' in html
    assert f"{now.label} is in progress" in summary


# ----------------------------------------------------------------------------- 5. half up, bands


def test_a_mean_of_4_125_shows_4_13_everywhere():
    # 8 ratings summing to 33: a mean of 4.125 (round() and '%.2f' give 4.12)
    figure = satisfaction_service.figure_from_counts(
        satisfaction_service.Counts(n_rating=8, rating_sum=33, satisfied=7)
    )
    assert figure.mean_rating == 4.13
    assert figure.csat == 87.5
    assert formatting.fixed(4.125, 2) == "4.13"
    assert formatting.fixed(Decimal("82.25"), 1) == "82.3"  # a CSAT reported by hand
    assert formatting.number(4.125, 2) == "4.13"
    # the scorecard's tiles and figures round half up too
    assert scorecard_build._round(72.25) == 72.3


def test_the_satisfaction_macros_round_half_up(app):
    template = app.jinja_env.from_string(
        '{% from "satisfaction/_macros.html" import mean, pct %}{{ mean(f) }}|{{ pct(82.25) }}'
    )

    class Reported:
        mean_rating = Decimal("4.125")

    assert template.render(f=Reported()) == "4.13|82.3%"


def test_one_wording_of_the_rag_bands_on_pages_charts_and_the_pdf(app, world, client):
    assert formatting.RAG_BANDS == "Green ≥ 80 · Amber 60–79 · Red below 60"
    labels = [label for *_, label in charts.HEALTH_BANDS]
    assert sorted(labels) == sorted(formatting.RAG_BAND_WORDS.values())
    cover = text_of(render())
    assert "● Green ≥ 80 · ◆ Amber 60–79 · ✖ Red below 60" in cover
    assert "60–80" not in cover and "80 or more" not in cover
    month = dashboard.reviewed_month(utc_today())
    _slas_met_and_breached(world, month, 50, 39)
    sign_in(client, world.lead.email)
    overview = _text(client.get(f"/partnerships/{world.partnership.id}").get_data(as_text=True))
    assert "Green ≥ 80 · Amber 60–79 · Red below 60" in overview
    portfolio = _text(client.get("/portfolio").get_data(as_text=True))
    assert "Green ≥ 80 · Amber 60–79 · Red below 60" in portfolio


def test_the_scorecard_tile_without_a_figure_this_period_names_the_earlier_one():
    data = sample_data()
    sla_tile = dataclasses.replace(data.tiles[0], value=None, previous=85.3)
    data = dataclasses.replace(data, tiles=(sla_tile, *data.tiles[1:]))
    cover = text_of(render(data))
    assert "Not measured" in cover
    assert "No figure this period · was 85.3" in cover
    assert "No earlier figure" not in cover.split("Not measured")[1].split("%")[0]


def test_a_review_with_too_little_data_says_not_enough_data_and_what_is_missing(app, world, client):
    # The world's partnership has only sponsor coverage last month (15 % of the weight).
    review = reviews_service.open_review(
        world.lead,
        world.partnership.id,
        kind=ReviewKind.MONTHLY,
        first_month=Month.current().previous(),
        today=Month.current().first_day,
    )
    db.session.commit()
    sign_in(client, world.lead.email)
    html = client.get(f"/partnerships/{world.partnership.id}/reviews/{review.id}").get_data(
        as_text=True
    )
    tile = _text(html.split('id="tile-health"')[1].split('id="tile-sla"')[0])
    assert "○ Not enough data: SLA attainment, Learner satisfaction, Action plan health" in tile
    assert "a score needs parts carrying at least 50 % of the weight" in tile
    assert "No component has data" not in tile
