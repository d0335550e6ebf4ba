"""Issue 17: a provider's month end through the API only — actuals proposed for every SLA,
action updates posted, 1,000 survey responses pushed twice — then a lead confirms the actuals
and the survey import through the API, and the partnership's overview page shows the
confirmed figures (and, before the confirmation, none of the proposed ones)."""

from __future__ import annotations

import datetime as dt

from mls_tracker.extensions import db
from mls_tracker.models import ActionUpdate
from mls_tracker.periods import utc_today
from mls_tracker.services import dashboard
from tests import factories
from tests.api_fixtures import API
from tests.conftest import page_text, sign_in


def _tile(client, partnership_id: int, key: str) -> str:
    html = client.get(f"/partnerships/{partnership_id}").get_data(as_text=True)
    tile = html.split(f'id="tile-{key}">')[1].split('<a class="ov-tile-link"')[0]
    return page_text(tile)


def _survey_batch(month) -> list[dict]:
    """1,000 responses of ``month``: ratings cycle 5, 4, 3, 2, 1 (400 are 4 or 5: CSAT 40 %),
    likelihood to recommend 10, 9, 8, 5, 0 (400 promoters, 400 detractors: NPS 0)."""
    recommend = (10, 9, 8, 5, 0)
    return [
        {
            "response_id": f"LMS-{month}-{n:04d}",
            "submitted_at": f"{month}-{1 + n % 28:02d}T12:00:00Z",
            "rating": 5 - n % 5,
            "recommend": recommend[n % 5],
            "program": "Leadership essentials",
            "region": "EMEA",
        }
        for n in range(1000)
    ]


def test_a_providers_month_end_through_the_api_counts_once_a_lead_confirms(
    client, world, api_token, api_client
):
    pid = world.partnership.id
    month = dashboard.reviewed_month(utc_today())
    # Three SLAs (the world's WLD-01 and two more), target 90, at risk from 85.
    slas = [world.ids["sla_id"]]
    slas += [factories.create_sla(world.partnership, None, code).id for code in ("CMP", "NPS")]
    item = factories.create_action(
        world.partnership, "Fix the SCORM package", due_on=utc_today() + dt.timedelta(days=20)
    )
    db.session.commit()
    provider = api_client(api_token(world.provider))
    lead = api_client(api_token(world.lead))

    # The provider proposes the month's actuals: 95 and 91 met, 80 breached.
    actuals = [
        {"sla_id": sla_id, "value": value, "version": 0, "note": "From the LMS"}
        for sla_id, value in zip(slas, ("95", "91", "80"), strict=True)
    ]
    response = provider.put(f"{API}/partnerships/{pid}/actuals/{month}", json={"actuals": actuals})
    assert response.status_code == 200, response.json
    assert {row["state"] for row in response.json["actuals"]} == {"proposed"}

    # … posts progress on its action item …
    response = provider.post(
        f"{API}/partnerships/{pid}/actions/{item.id}/updates",
        json={"note": "Package rebuilt, testing", "status": "in progress"},
    )
    assert response.status_code == 201, response.json
    response = provider.post(
        f"{API}/partnerships/{pid}/actions/{item.id}/updates",
        json={"note": "Fixed", "evidence_url": "https://lms.example/scorm/42", "status": "done"},
    )
    assert response.status_code == 201, response.json
    assert response.json["status"] == "done"

    # … and pushes the month's survey responses, twice (a retry): the second adds nothing.
    batch = _survey_batch(month)
    first = provider.post(f"{API}/partnerships/{pid}/survey-responses", json={"responses": batch})
    assert first.status_code == 201, first.json
    assert first.json | {"import_id": None} == {
        "import_id": None,
        "state": "proposed",
        "received": 1000,
        "added": 1000,
        "skipped": 0,
        "no_answer": 0,
    }
    again = provider.post(f"{API}/partnerships/{pid}/survey-responses", json={"responses": batch})
    assert again.status_code == 200, again.json
    assert (again.json["import_id"], again.json["added"], again.json["skipped"]) == (None, 0, 1000)

    # Nothing proposed counts yet: the lead's overview shows neither figure.
    sign_in(client, world.lead.email)
    assert _tile(client, pid, "sla").startswith(
        "SLA attainment — 0 breached · 0 at risk · 3 proposed, not yet confirmed"
    )
    assert _tile(client, pid, "satisfaction").startswith("Learner satisfaction — No ratings")

    # The lead finds the proposed import and confirms it, then the actuals, through the API.
    imports = lead.get(f"{API}/partnerships/{pid}/survey-imports").json
    proposed = [i for i in imports if i["state"] == "proposed"]
    assert [(i["id"], i["rows_added"], i["file_name"]) for i in proposed] == [
        (first.json["import_id"], 1000, "API push")
    ]
    response = lead.post(
        f"{API}/partnerships/{pid}/survey-imports/{proposed[0]['id']}/confirm", json={}
    )
    assert response.status_code == 200, response.json
    assert (response.json["state"], response.json["confirmed_by"]) == (
        "confirmed",
        world.lead.display_name,
    )
    response = lead.post(
        f"{API}/partnerships/{pid}/actuals/{month}/confirm", json={"sla_ids": slas}
    )
    assert response.status_code == 200, response.json
    assert {row["state"] for row in response.json["actuals"]} == {"confirmed"}

    # The overview shows the confirmed figures: 2 of 3 SLAs met (67 %); CSAT 40 % of 1,000.
    assert _tile(client, pid, "sla").startswith(
        "SLA attainment 67 % 1 breached · 0 at risk · 0 missing"
    )
    assert _tile(client, pid, "satisfaction").startswith(
        "Learner satisfaction 40 % CSAT · n 1000 · NPS 0 (n 1000)"
    )
    assert db.session.query(ActionUpdate).filter_by(action_item_id=item.id).count() == 2
