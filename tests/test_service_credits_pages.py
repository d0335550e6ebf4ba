"""Service credits as people see them: the rule on the SLA form, the fee and cap in the
settings, the credits page and its CSV, the overview's panel; who may change the rules."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import AuditEntry, Sla
from mls_tracker.periods import Month, utc_today
from tests.conftest import csrf_token, page_text, sign_in
from tests.factories import add_measurement, create_sla
from tests.test_contracts import _new_data

THIS_MONTH = Month.current(utc_today())
LAST_MONTH = THIS_MONTH.previous()
TWO_AGO = LAST_MONTH.previous()


def _sla(world) -> Sla:
    db.session.expire_all()
    return db.session.get(Sla, world.ids["sla_id"])


def _edit_data(world, sla: Sla, **changes) -> dict[str, str]:
    data = {
        "name": sla.name,
        "code": sla.code,
        "expectation": str(world.ids["expectation_id"]),
        "unit": "%",
        "direction": "higher is better",
        "weight": "1",
        "active": "y",
        "version": str(sla.version),
        "credit_percent": "5",
    }
    data.update(changes)
    return data


@pytest.fixture
def credited(world):
    """Fee 10,000.00, cap 12 %; WLD-01 credits 5 %, WLD-02 5 %, WLD-03 4 %: last month all
    three are breached (1,400.00 capped to 1,200.00); the month before, WLD-01 is breached and
    WLD-02's breach is only proposed."""
    first = _sla(world)
    partnership = world.partnership
    partnership.monthly_fee = Decimal("10000")
    partnership.credit_cap_percent = Decimal("12")
    first.credit_percent = Decimal("5")
    second = create_sla(partnership, None, "WLD-02", since=Month(2024, 1))
    second.credit_percent = Decimal("5")
    third = create_sla(partnership, None, "WLD-03", since=Month(2024, 1))
    third.credit_percent = Decimal("4")
    first.targets[0].effective_from = Month(2024, 1)
    for sla in (first, second, third):
        add_measurement(sla, LAST_MONTH, 10, confirmed_by=world.lead)
    add_measurement(first, TWO_AGO, 10, confirmed_by=world.lead)
    add_measurement(second, TWO_AGO, 10)  # proposed
    db.session.commit()
    return world


def test_a_lead_sets_an_slas_credit_rule_and_the_change_is_audited(client, world):
    sign_in(client, world.lead.email)
    sla = _sla(world)
    url = f"/partnerships/{world.partnership.id}/slas/{sla.id}/edit"
    page = page_text(client.get(url).get_data(as_text=True))
    assert "Service credit, % of the monthly fee per breach" in page
    response = client.post(
        url, data={**_edit_data(world, sla), "csrf_token": csrf_token(client, url)}
    )
    assert response.status_code == 302
    assert _sla(world).credit_percent == Decimal("5.00")
    changes = db.session.scalars(
        sa.select(AuditEntry.changes).where(
            AuditEntry.object_type == "Sla", AuditEntry.partnership_id == world.partnership.id
        )
    ).all()
    assert any("credit_percent" in change for change in changes)


def test_a_credit_rule_out_of_range_is_explained_next_to_the_field(client, world):
    sign_in(client, world.lead.email)
    sla = _sla(world)
    url = f"/partnerships/{world.partnership.id}/slas/{sla.id}/edit"
    data = _edit_data(world, sla, credit_percent="0", name="Kept name")
    response = client.post(url, data={**data, "csrf_token": csrf_token(client, url)})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Enter a service credit above 0 and at most 100 %" in page
    assert 'value="Kept name"' in page
    assert _sla(world).credit_percent is None


def test_a_provider_cannot_change_a_credit_rule(client, world):
    sign_in(client, world.provider.email)
    sla = _sla(world)
    url = f"/partnerships/{world.partnership.id}/slas/{sla.id}/edit"
    assert client.get(url).status_code == 403
    token = csrf_token(client, f"/partnerships/{world.partnership.id}/credits/")
    response = client.post(url, data={**_edit_data(world, sla), "csrf_token": token})
    assert response.status_code == 403
    settings = f"/partnerships/{world.partnership.id}/settings"
    response = client.post(settings, data={"monthly_fee": "1", "csrf_token": token})
    assert response.status_code == 403
    assert _sla(world).credit_percent is None


def test_a_lead_sets_the_monthly_fee_and_the_cap_in_the_settings(client, world):
    sign_in(client, world.lead.email)
    url = f"/partnerships/{world.partnership.id}/settings"
    page = page_text(client.get(url).get_data(as_text=True))
    assert "Monthly fee for service credits (optional)" in page
    data = _new_data(world, csrf_token=csrf_token(client, url))
    data.update(
        version=str(world.partnership.version),
        status="active",
        monthly_fee="10000",
        credit_cap_percent="12",
    )
    del data["client_id"], data["provider_id"]
    assert client.post(url, data=data).status_code == 302
    db.session.refresh(world.partnership)
    assert world.partnership.monthly_fee == Decimal("10000.00")
    assert world.partnership.credit_cap_percent == Decimal("12.00")


def test_the_credits_page_shows_each_month_the_cap_and_the_proposed_breach(client, credited):
    world = credited
    sign_in(client, world.provider.email)
    html = client.get(f"/partnerships/{world.partnership.id}/credits/").get_data(as_text=True)
    text = page_text(html)
    assert "Credits are computed with the credit rules as they stand now." in text
    assert re.search(r'id="credits-total">\s*<span[^>]*>USD 1,700</span>', html)
    row = page_text(html.split(f'id="credits-{LAST_MONTH}"')[1].split("</tr>")[0])
    assert "3 confirmed breaches" in row
    assert "USD 1,400" in row and "Capped" in row and "USD 1,200" in row
    row = page_text(html.split(f'id="credits-{TWO_AGO}"')[1].split("</tr>")[0])
    assert "1 confirmed breach" in row and "1 proposed, not counted" in row
    assert "USD 500" in row
    rules = page_text(html.split('id="credit-rules"')[1])
    assert "12 % of the monthly fee = USD 1,200" in rules
    assert "WLD-03" in rules and "4 % of the fee = USD 400" in rules
    assert "Edit" not in rules  # a provider does not edit the rules


def test_without_a_fee_the_page_says_credits_cannot_be_computed(client, credited):
    world = credited
    world.partnership.monthly_fee = None
    world.partnership.annual_value = None
    db.session.commit()
    sign_in(client, world.lead.email)
    text = page_text(
        client.get(f"/partnerships/{world.partnership.id}/credits/").get_data(as_text=True)
    )
    assert "Service credits cannot be computed" in text
    assert "USD 0" not in text


def test_the_months_filter_narrows_the_range(client, credited):
    world = credited
    sign_in(client, world.lead.email)
    html = client.get(
        f"/partnerships/{world.partnership.id}/credits/?from={LAST_MONTH}&to={LAST_MONTH}"
    ).get_data(as_text=True)
    assert f'id="credits-{LAST_MONTH}"' in html
    assert f'id="credits-{TWO_AGO}"' not in html
    assert re.search(r'id="credits-total">\s*<span[^>]*>USD 1,200</span>', html)


def test_the_csv_has_one_row_per_credited_sla_month_and_the_month_totals(client, credited):
    world = credited
    sign_in(client, world.sponsor.email)
    response = client.get(
        f"/partnerships/{world.partnership.id}/credits/export.csv?from={TWO_AGO}&to={LAST_MONTH}"
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    summary = [(r["month"], r["row"], r["sla_code"], r["credit"], r["credited"]) for r in rows]
    assert summary == [
        (str(TWO_AGO), "SLA credit", "WLD-01", "500.00", ""),
        (str(TWO_AGO), "Month total", "", "", "500.00"),
        (str(LAST_MONTH), "SLA credit", "WLD-01", "500.00", ""),
        (str(LAST_MONTH), "SLA credit", "WLD-02", "500.00", ""),
        (str(LAST_MONTH), "SLA credit", "WLD-03", "400.00", ""),
        (str(LAST_MONTH), "Month total (capped)", "", "", "1200.00"),
    ]
    assert rows[-1]["sum_before_cap"] == "1400.00"
    assert rows[-1]["cap"] == "1200.00"


def test_another_partnerships_credits_are_not_found(client, credited):
    world = credited
    sign_in(client, world.lead.email)
    assert client.get(f"/partnerships/{world.other.id}/credits/").status_code == 404
    assert client.get(f"/partnerships/{world.other.id}/credits/export.csv").status_code == 404


def test_the_overview_panel_shows_last_months_credits_and_the_twelve_months(client, credited):
    world = credited
    sign_in(client, world.viewer.email)
    html = client.get(f"/partnerships/{world.partnership.id}").get_data(as_text=True)
    panel = page_text(html.split('id="credits-panel"')[1].split("</section>")[0])
    assert f"{LAST_MONTH.label} USD 1,200" in panel
    assert "capped at 12 % of the fee (before the cap USD 1,400" in panel
    assert "USD 1,700" in panel
    assert "4 confirmed breaches, 1 month at the cap" in panel
    assert f"WLD-03 SLA WLD-03 (4 %): {LAST_MONTH.label} — USD 400" in panel
    assert f"WLD-01 SLA WLD-01 (5 %): {TWO_AGO.label}, {LAST_MONTH.label} — USD 1,000" in panel


def test_the_api_reads_the_credits_and_the_slas_rule(credited, api_token, api_client):
    from tests.api_fixtures import API

    world = credited
    client = api_client(api_token(world.provider, "read"))
    base = f"{API}/partnerships/{world.partnership.id}"
    response = client.get(f"{base}/credits?from={TWO_AGO}&to={LAST_MONTH}")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["currency"], body["monthly_fee"], body["cap"]) == ("USD", "10000.00", "1200.00")
    assert body["total"] == "1700.00"
    last = body["months"][-1]
    assert (last["month"], last["uncapped"], last["credited"], last["capped"]) == (
        str(LAST_MONTH),
        "1400.00",
        "1200.00",
        True,
    )
    first = body["months"][0]
    proposed = [s["code"] for s in first["slas"] if s["proposed_breach"]]
    assert proposed == ["WLD-02"]
    sla = client.get(f"{base}/slas/{world.ids['sla_id']}").get_json()
    assert sla["credit_percent"] == "5.00"
    assert client.get(f"{API}/partnerships/{world.other.id}/credits").status_code == 404


def test_the_sla_page_states_its_credit_rule(client, credited):
    world = credited
    sign_in(client, world.viewer.email)
    html = client.get(f"/partnerships/{world.partnership.id}/slas/{world.ids['sla_id']}").get_data(
        as_text=True
    )
    rule = page_text(html.split('id="sla-credit-rule"')[1].split("</dd>")[0])
    assert "5 % of the monthly fee per confirmed breach" in rule
