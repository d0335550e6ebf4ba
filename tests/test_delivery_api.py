"""Delivery volumes and spend through the JSON API: a provider's push is proposed, a lead
confirms it, a lead's push is confirmed at once; errors per field; other partnerships 404."""

from __future__ import annotations

from mls_tracker.models import TokenScope
from mls_tracker.periods import Month
from mls_tracker.services import delivery as service
from tests.api_fixtures import API

JUNE = Month(2025, 6)
BODY = {
    "learners_trained": 120,
    "completions": 100,
    "training_hours": "310.5",
    "sessions_delivered": 12,
    "invoiced_amount": "15000.00",
    "note": "From the LMS",
    "version": 0,
}


def _url(partnership_id: int, suffix: str = "") -> str:
    return f"{API}/partnerships/{partnership_id}/delivery{suffix}"


def test_a_provider_pushes_a_month_and_a_lead_confirms_it(world, api_token, api_client):
    pid = world.partnership.id
    provider = api_client(api_token(world.provider))
    lead = api_client(api_token(world.lead))
    response = provider.put(_url(pid, "/2025-06"), json=BODY)
    assert response.status_code == 200, response.json
    assert response.json["state"] == "proposed"
    assert response.json["invoiced_amount"] == "15000.00"
    assert response.json["training_hours"] == "310.50"
    figures = service.figures(world.partnership, JUNE)
    assert figures.learners_trained == 0 and figures.proposed_months == (JUNE,)

    response = provider.post(_url(pid, "/2025-06/confirm"), json={})
    assert response.status_code == 403
    response = lead.post(_url(pid, "/2025-06/confirm"), json={"version": 1})
    assert response.status_code == 200, response.json
    assert response.json["state"] == "confirmed" and response.json["confirmed_by"]
    assert service.figures(world.partnership, JUNE).learners_trained == 120

    listing = lead.get(_url(pid)).json
    assert [row["month"] for row in listing] == ["2025-06"]
    assert lead.get(_url(pid, "?state=proposed")).json == []
    # Pushing the same figures again changes nothing; other figures are the lead's to make.
    again = provider.put(_url(pid, "/2025-06"), json={**BODY, "version": None})
    assert again.status_code == 200 and again.json["state"] == "confirmed"
    changed = provider.put(
        _url(pid, "/2025-06"), json={**BODY, "learners_trained": 121, "version": None}
    )
    assert changed.status_code == 422 and "only a lead" in str(changed.json)


def test_a_leads_push_is_confirmed_and_a_stale_version_refused(world, api_token, api_client):
    lead = api_client(api_token(world.lead))
    pid = world.partnership.id
    response = lead.put(_url(pid, "/2025-05"), json={**BODY, "invoiced_amount": None})
    assert response.status_code == 200 and response.json["state"] == "confirmed"
    assert response.json["invoiced_amount"] is None
    response = lead.put(_url(pid, "/2025-05"), json={**BODY, "version": 0})
    assert response.status_code == 409


def test_bad_figures_are_refused_per_field(world, api_token, api_client):
    lead = api_client(api_token(world.lead))
    pid = world.partnership.id
    response = lead.put(_url(pid, "/2025-06"), json={**BODY, "training_hours": "1.234"})
    assert response.status_code == 422
    assert "two decimal places" in str(response.json)
    response = lead.put(_url(pid, "/2025-06"), json={**BODY, "learners_trained": -1})
    assert response.status_code == 422
    assert lead.get(_url(pid, "/2025-06")).status_code == 404


def test_readers_read_and_others_see_nothing(world, api_token, api_client):
    viewer = api_client(api_token(world.viewer))
    outsider = api_client(api_token(world.outsider, scope=TokenScope.WRITE))
    pid = world.partnership.id
    assert viewer.get(_url(pid)).status_code == 200
    assert viewer.put(_url(pid, "/2025-06"), json=BODY).status_code in (403,)
    assert outsider.get(_url(pid)).status_code == 404
    assert outsider.put(_url(pid, "/2025-06"), json=BODY).status_code == 404
