"""The partnership overview: tiles for the reviewed month with their changes, the health score
and what it leaves out, needs attention, the charts and their CSV, the health weights, and a
query count that does not grow with the data."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import ActionStatus, AuditEntry, Partnership, Side, SurveyResponse
from mls_tracker.partnerships.overview import CHARTS
from mls_tracker.periods import utc_today
from mls_tracker.services import dashboard
from tests import factories
from tests.conftest import csrf_token, sign_in
from tests.test_page_parts import first_view_and_revisit
from tests.test_partnerships import count_queries


def _url(world, suffix: str = "") -> str:
    return f"/partnerships/{world.partnership.id}{suffix}"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _sla_history(world, values: dict) -> None:
    """Confirmed measurements of the world's SLA (target 90, at risk 85) by month."""
    sla = db.session.get(factories.Sla, world.ids["sla_id"])
    for month, value in values.items():
        factories.add_measurement(sla, month, value, confirmed_by=world.lead)
    db.session.commit()


def test_tiles_show_the_reviewed_month_with_the_change_since_the_month_before(client, world):
    reviewed = dashboard.reviewed_month(utc_today())
    _sla_history(world, {reviewed.previous(): 80, reviewed: 95})  # breached, then met
    factories.create_action(world.partnership, due_on=reviewed.first_day)  # not done: 0 %
    db.session.commit()
    sign_in(client, world.lead.email)
    html = client.get(_url(world)).get_data(as_text=True)
    text = _text(html)
    assert f"Reviewing {reviewed.label} , the last complete month" in text
    sla_tile = _text(html.split('id="tile-sla"')[1].split('id="tile-satisfaction"')[0])
    assert "100 %" in sla_tile
    assert f"+100 points up since {reviewed.previous().label} · better" in sla_tile
    assert "▲" in sla_tile and 'href="/partnerships/' in html
    coverage_tile = _text(html.split('id="tile-coverage"')[1].split("</a>")[0])
    assert "1 of 2 regions have a client sponsor" in coverage_tile
    # No survey data: satisfaction is left out of the score, and the page says so.
    note = _text(html.split('id="health-left-out"')[1].split("</p>")[0])
    assert f"Learner satisfaction has no data for {reviewed.label}" in note
    assert "the score uses the other three, re-weighted" in note


def test_a_fall_is_said_with_an_arrow_and_a_word(client, world):
    reviewed = dashboard.reviewed_month(utc_today())
    _sla_history(world, {reviewed.previous(): 95, reviewed: 80})
    sign_in(client, world.viewer.email)
    text = _text(client.get(_url(world)).get_data(as_text=True))
    assert f"▼ −100 points down since {reviewed.previous().label} · worse" in text


def test_leads_get_the_weights_link_sponsors_see_nothing_they_cannot_use(client, world):
    sign_in(client, world.lead.email)
    assert "Health weights" in client.get(_url(world)).get_data(as_text=True)
    client.get("/logout")
    for who in (world.sponsor, world.viewer, world.provider):
        other = client.application.test_client()
        sign_in(other, who.email)
        html = other.get(_url(world)).get_data(as_text=True)
        assert "Health weights" not in html and "Invite someone" not in html
        assert 'id="tile-health"' in html


def test_needs_attention_lists_the_agenda_items_with_links(client, world):
    item = factories.create_action(
        world.partnership, "Fix the broken SCORM package", due_on=utc_today() - dt.timedelta(days=9)
    )
    db.session.commit()
    sign_in(client, world.sponsor.email)
    html = client.get(_url(world)).get_data(as_text=True)
    section = html.split('id="needs-attention"')[1].split("</section>")[0]
    assert "Fix the broken SCORM package" in section
    assert f'href="/partnerships/{world.partnership.id}/actions/{item.id}"' in section
    assert "No client sponsor" in section or "APAC" in section  # the coverage gap


def test_every_chart_is_on_the_page_with_its_data_as_csv(client, world):
    reviewed = dashboard.reviewed_month(utc_today())
    _sla_history(world, {reviewed: 95})
    sign_in(client, world.viewer.email)
    html = client.get(_url(world)).get_data(as_text=True)
    for spec in ("health", "sla-attainment", "sla-status", "actions", "coverage"):
        assert f'data-chart="{spec}-chart-data"' in html
        assert f'href="/partnerships/{world.partnership.id}/charts/{spec}.csv"' in html
    assert "No data yet" in html  # no survey data: CSAT and NPS say so instead of a chart
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    for spec in CHARTS:
        response = client.get(_url(world, f"/charts/{spec.key}.csv"))
        assert response.status_code == 200, spec.key
        assert response.mimetype == "text/csv"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.get_data(as_text=True).lstrip("\ufeff").startswith(spec.header[0])
    attainment = client.get(_url(world, "/charts/sla-attainment.csv")).get_data(as_text=True)
    assert f"{reviewed},100.0,1,1,0,0,0" in attainment
    coverage = client.get(_url(world, "/charts/coverage.csv")).get_data(as_text=True)
    assert "APAC,,,,gap" in coverage and "EMEA,yes,Erika Sponsor,,covered" in coverage
    assert client.get(_url(world, "/charts/nothing.csv")).status_code == 404


def test_the_page_makes_the_same_number_of_queries_whatever_the_data(client, world):
    today = utc_today()
    reviewed = dashboard.reviewed_month(today)
    sign_in(client, world.lead.email)
    client.get(_url(world))
    with count_queries() as small:
        assert client.get(_url(world)).status_code == 200
    # Much more data: SLAs with a year of measurements, actions, sponsors.
    for n in range(2, 8):
        sla = factories.create_sla(world.partnership, None, f"WLD-{n:02d}")
        month = reviewed
        for _ in range(12):
            factories.add_measurement(sla, month, 80 + n, confirmed_by=world.lead)
            month = month.previous()
    for n in range(15):
        factories.create_action(
            world.partnership,
            f"Action {n}",
            due_on=today - dt.timedelta(days=3 * n),
            status=ActionStatus.DONE if n % 3 else ActionStatus.OPEN,
        )
    db.session.commit()
    client.get(_url(world))  # the figures cache is filled again after the writes
    with count_queries() as large:
        html = client.get(_url(world)).get_data(as_text=True)
    assert "WLD-07" in html
    assert len(large) == len(small), (small, large)


def _survey_answers(partnership, month, count: int) -> None:
    submitted = dt.datetime(month.year, month.month, 5, 12, tzinfo=dt.UTC)
    for n in range(count):
        db.session.add(
            SurveyResponse(
                partnership_id=partnership.id,
                response_key=f"P{partnership.id}-{month}-{n}",
                submitted_at=submitted,
                month=month,
                rating=5 - n % 3,
                recommend=10 - n % 5,
            )
        )


def test_the_first_view_and_the_revisit_make_as_many_queries_at_any_size(client, world):
    """Small: one SLA, one sponsor, one meeting, one action. Large: many SLAs with a year of
    actuals, survey answers, sponsors, meetings, actions, and a portfolio of other
    partnerships with the same."""
    today = utc_today()
    reviewed = dashboard.reviewed_month(today)
    sign_in(client, world.lead.email)
    url = _url(world)
    client.get(url)  # the session's own first-request work
    factories.create_action(world.partnership, "Only action", due_on=today - dt.timedelta(days=2))
    factories.create_meeting(world.partnership, today - dt.timedelta(days=120))
    db.session.commit()
    small = first_view_and_revisit(client, url)

    regions = list(world.partnership.regions)
    client_org, provider_org = world.partnership.client, world.partnership.provider
    others = [
        factories.create_partnership(f"Portfolio {n}", client_org, provider_org, regions)
        for n in range(6)
    ]
    for partnership in (world.partnership, *others):
        sponsors = [
            factories.create_sponsor(partnership, region, Side.CLIENT, f"Pat {region.name}")
            for region in regions
        ]
        for back in range(1, 4):
            factories.create_meeting(
                partnership, today - dt.timedelta(days=30 * back), absent=tuple(sponsors)
            )
        for n in range(2, 8):
            sla = factories.create_sla(partnership, None, f"WLD-{n:02d}")
            month = reviewed
            for _ in range(12):
                factories.add_measurement(
                    sla, month, 78 + n + month.month % 4, confirmed_by=world.lead
                )
                month = month.previous()
        for n in range(12):
            factories.create_action(
                partnership,
                f"Action {n}",
                due_on=today - dt.timedelta(days=5 * n - 20),
                status=ActionStatus.DONE if n % 3 else ActionStatus.OPEN,
            )
        for back in range(3):
            _survey_answers(partnership, reviewed.shift(-back), 15 + 10 * back)
    db.session.commit()
    large = first_view_and_revisit(client, url)

    html = client.get(url).get_data(as_text=True)
    assert "WLD-07" in html and "Disengaged sponsor" in html and "Action 9" in html
    assert large == small, (small, large)
    assert small[1] < small[0] / 3  # the revisit computes nothing again


def test_a_revisit_shows_every_write_since_and_the_next_day(client, world, monkeypatch):
    """The page is remembered by its data version: a write of the partnership, a region
    renamed, or a new day shows at the next view."""
    sign_in(client, world.viewer.email)
    before = _text(client.get(_url(world)).get_data(as_text=True))
    assert "Fix the broken SCORM package" not in before
    factories.create_action(
        world.partnership, "Fix the broken SCORM package", due_on=utc_today() - dt.timedelta(days=9)
    )
    db.session.commit()
    assert "Fix the broken SCORM package" in _text(client.get(_url(world)).get_data(as_text=True))
    apac = next(r for r in world.partnership.regions if r.name == "APAC")
    apac.name = "Asia Pacific"
    db.session.commit()
    gap = _text(client.get(_url(world)).get_data(as_text=True))
    assert "Coverage gap: no client sponsor for Asia Pacific" in gap
    tomorrow = utc_today() + dt.timedelta(days=40)
    monkeypatch.setattr("mls_tracker.partnerships.routes.utc_today", lambda: tomorrow)
    later = _text(client.get(_url(world)).get_data(as_text=True))
    assert f"Reviewing {dashboard.reviewed_month(tomorrow).label} ," in later


def _weights_form(client, world, **values):
    token = csrf_token(client, _url(world, "/weights"))
    partnership = db.session.get(Partnership, world.partnership.id)
    db.session.refresh(partnership)
    data = {
        "weight_sla": "40",
        "weight_satisfaction": "25",
        "weight_actions": "20",
        "weight_coverage": "15",
        "version": str(partnership.version),
        "csrf_token": token,
    }
    data.update(values)
    return client.post(_url(world, "/weights"), data=data)


def test_a_lead_edits_the_weights_and_the_change_is_audited(client, world):
    sign_in(client, world.lead.email)
    page = client.get(_url(world, "/weights")).get_data(as_text=True)
    assert 'value="40.00"' in page or 'value="40"' in page
    assert "40%" in page and "15%" in page
    response = _weights_form(client, world, weight_sla="50", weight_coverage="0")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(_url(world))
    partnership = db.session.get(Partnership, world.partnership.id)
    db.session.refresh(partnership)
    assert (float(partnership.weight_sla), float(partnership.weight_coverage)) == (50.0, 0.0)
    entry = db.session.scalars(
        sa.select(AuditEntry)
        .where(
            AuditEntry.object_type == "Partnership",
            AuditEntry.partnership_id == world.partnership.id,
        )
        # By id: without ORDER BY, PostgreSQL returns rows in whatever order their pages hold
        # them, which after a DELETE (the tests empty tables so) need not be the insert order.
        .order_by(AuditEntry.id)
    ).all()[-1]
    assert "weight_sla" in entry.changes and entry.actor_id == world.lead.id
    page = client.get(_url(world, "/weights")).get_data(as_text=True)
    assert "left out" in page  # coverage at 0


def test_weights_are_checked_next_to_their_fields(client, world):
    sign_in(client, world.lead.email)
    for values, message in (
        (
            {
                "weight_sla": "0",
                "weight_satisfaction": "0",
                "weight_actions": "0",
                "weight_coverage": "0",
            },
            "At least one weight must be above 0",
        ),
        ({"weight_actions": "-5"}, "Enter a weight from 0 to 1000."),
        ({"weight_satisfaction": "lots"}, "Not a valid decimal value"),
    ):
        response = _weights_form(client, world, **values)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert message in html and "invalid-feedback" in html, values
    partnership = db.session.get(Partnership, world.partnership.id)
    db.session.refresh(partnership)
    assert float(partnership.weight_sla) == 40.0


def test_a_stale_weights_form_is_refused_not_applied(client, world):
    sign_in(client, world.lead.email)
    response = _weights_form(client, world, weight_sla="10", version="0")
    assert response.status_code == 200
    assert "Someone changed these weights" in response.get_data(as_text=True)
    partnership = db.session.get(Partnership, world.partnership.id)
    db.session.refresh(partnership)
    assert float(partnership.weight_sla) == 40.0


def test_weights_need_a_csrf_token_and_a_lead(client, world):
    sign_in(client, world.lead.email)
    response = client.post(_url(world, "/weights"), data={"weight_sla": "1"})
    assert response.status_code in (400, 200)
    partnership = db.session.get(Partnership, world.partnership.id)
    db.session.refresh(partnership)
    assert float(partnership.weight_sla) == 40.0
    other = client.application.test_client()
    sign_in(other, world.sponsor.email)
    assert other.get(_url(world, "/weights")).status_code == 403
