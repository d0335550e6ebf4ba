"""Creating, editing, archiving and reopening partnerships."""

from __future__ import annotations

import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import Invitation, Partnership, PartnershipStatus, Role
from tests.conftest import csrf_token, sign_in, text_of


def _new_data(world, **changes) -> dict:
    emea = world.partnership.regions[0]
    data = {
        "name": "Learning for Growth",
        "client_id": world.partnership.client_id,
        "provider_id": world.partnership.provider_id,
        "engagement_model": "managed learning services",
        "governance_model": "federated",
        "region_ids": [emea.id],
        "home_region_id": emea.id,
        "annual_value": "1200000",
        "currency": "eur",
        "start_date": "2026-01-01",
        "renewal_date": "2028-12-31",
        "review_cadence": "quarterly",
        "weight_sla": "40",
        "weight_satisfaction": "25",
        "weight_actions": "20",
        "weight_coverage": "15",
        "lead_email": "new.lead@test.example",
        "lead_name": "Nia Lead",
    }
    data.update(changes)
    return data


def test_an_admin_creates_a_partnership_and_its_lead_is_invited(client, world, mailbox):
    sign_in(client, world.admin.email)
    data = _new_data(world, csrf_token=csrf_token(client, "/admin/partnerships/new"))
    response = client.post("/admin/partnerships/new", data=data)
    assert response.status_code == 302
    created = db.session.scalar(sa.select(Partnership).where(Partnership.name == data["name"]))
    assert created.status == PartnershipStatus.ONBOARDING
    assert created.currency == "EUR"
    assert [region.name for region in created.regions] == ["EMEA"]
    invitation = db.session.scalar(
        sa.select(Invitation).where(Invitation.partnership_id == created.id)
    )
    assert invitation.role == Role.LEAD
    assert len(mailbox) == 1 and mailbox[0]["To"] == "new.lead@test.example"
    assert "/invitations/" in text_of(mailbox[0]) or "http" in text_of(mailbox[0])


def test_the_form_explains_each_mistake_next_to_its_field(client, world, mailbox):
    sign_in(client, world.admin.email)
    data = _new_data(
        world,
        name="Global Learning",
        csrf_token=csrf_token(client, "/admin/partnerships/new"),
    )
    page = client.post("/admin/partnerships/new", data=data).get_data(as_text=True)
    assert "There is already a partnership called Global Learning." in page
    data.update(name="Fresh", currency="EURO")
    page = client.post("/admin/partnerships/new", data=data).get_data(as_text=True)
    assert "three-letter ISO 4217 code" in page
    data.update(currency="GBP", renewal_date="2025-12-31")
    page = client.post("/admin/partnerships/new", data=data).get_data(as_text=True)
    assert "The renewal date cannot be before the start date." in page
    data.update(renewal_date="", weight_sla="0", weight_satisfaction="0", weight_actions="0")
    data.update(weight_coverage="0")
    page = client.post("/admin/partnerships/new", data=data).get_data(as_text=True)
    assert "At least one weight must be above 0." in page
    assert db.session.scalar(sa.select(Partnership).where(Partnership.name == "Fresh")) is None
    assert mailbox == []


def test_a_lead_edits_the_settings_but_not_the_organisations(client, world):
    sign_in(client, world.lead.email)
    url = f"/partnerships/{world.partnership.id}/settings"
    page = client.get(url).get_data(as_text=True)
    assert "Only an administrator can change the client or the provider." in page
    data = _new_data(world, name="Global Learning 2", csrf_token=csrf_token(client, url))
    data["version"] = str(world.partnership.version)
    data["status"] = "active"
    del data["client_id"], data["provider_id"]
    response = client.post(url, data=data)
    assert response.status_code == 302
    db.session.refresh(world.partnership)
    assert world.partnership.name == "Global Learning 2"
    assert world.partnership.status == PartnershipStatus.ACTIVE
    # The same form again, now out of date.
    page = client.post(url, data={**data, "name": "Stale"}).get_data(as_text=True)
    assert "Someone changed this partnership" in page
    db.session.refresh(world.partnership)
    assert world.partnership.name == "Global Learning 2"


def test_an_archived_partnership_is_read_only_until_reopened(client, world):
    sign_in(client, world.admin.email)
    pid = world.partnership.id
    url = f"/partnerships/{pid}/archive"
    token = csrf_token(client, url)
    assert client.post(url, data={"csrf_token": token}).status_code == 200  # no version
    response = client.post(
        url, data={"csrf_token": token, "version": str(world.partnership.version)}
    )
    assert response.status_code == 302
    refused = client.get(f"/partnerships/{pid}/settings")
    assert refused.status_code == 403
    assert "This partnership is archived" in refused.get_data(as_text=True)
    assert client.get(f"/partnerships/{pid}").status_code == 200
    db.session.refresh(world.partnership)
    assert world.partnership.archived_at is not None
    url = f"/partnerships/{pid}/reopen"
    response = client.post(
        url,
        data={"csrf_token": csrf_token(client, url), "version": str(world.partnership.version)},
    )
    assert response.status_code == 302
    assert client.get(f"/partnerships/{pid}/settings").status_code == 200
