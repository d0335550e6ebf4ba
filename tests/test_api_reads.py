"""Issue 17: meetings (with attendees, the minutes' state and the action plan), sponsors (with
engagement) and expectations through the API, as their pages show them."""

from __future__ import annotations

import datetime as dt

from mls_tracker.extensions import db
from mls_tracker.models import MeetingState, Sponsor
from mls_tracker.periods import utc_today
from tests import factories
from tests.api_fixtures import API


def _get(client, world, path: str):
    response = client.get(f"{API}/partnerships/{world.partnership.id}{path}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def test_a_meeting_with_its_attendees_minutes_and_action_plan(world, api_token, api_client):
    sponsor = db.session.get(Sponsor, world.ids["sponsor_id"])
    today = utc_today()
    older = factories.create_meeting(world.partnership, today - dt.timedelta(days=40))
    meeting = factories.create_meeting(
        world.partnership,
        today - dt.timedelta(days=5),
        state=MeetingState.MINUTES_APPROVED,
        present=(sponsor,),
    )
    meeting.minutes = "We agreed the <b>plan</b>."
    item = factories.create_action(
        world.partnership,
        "Rebuild the course",
        due_on=today + dt.timedelta(days=9),
        meeting=meeting,
    )
    db.session.commit()
    client = api_client(api_token(world.viewer, "read"))

    listed = _get(client, world, "/meetings").json
    assert [m["id"] for m in listed] == [meeting.id, older.id]
    assert listed[0]["state"] == "minutes approved" and listed[0]["approved_at"]

    response = _get(client, world, f"/meetings/{meeting.id}")
    assert response.headers["ETag"] == f'"{meeting.version}"'
    body = response.json
    assert body["minutes"] == "We agreed the <b>plan</b>."  # JSON: the text as written
    present = [(a["kind"], a["name"], a["present"]) for a in body["attendees"] if a["present"]]
    assert present == [("sponsor", "Erika Sponsor", True)]
    assert {a["name"] for a in body["attendees"]} >= {world.lead.display_name}
    assert [(a["id"], a["title"], a["status"]) for a in body["action_items"]] == [
        (item.id, "Rebuild the course", "open")
    ]


def test_sponsors_with_engagement_and_expectations_due(world, api_token, api_client):
    client = api_client(api_token(world.provider, "read"))
    sponsors = _get(client, world, "/sponsors").json
    assert [(s["name"], s["side"], s["region"]) for s in sponsors] == [
        ("Erika Sponsor", "client", "EMEA")
    ]
    assert sponsors[0]["engagement"]["held"] == 0
    one = _get(client, world, f"/sponsors/{world.ids['sponsor_id']}").json
    assert one == sponsors[0]

    expectations = _get(client, world, "/expectations").json
    assert [e["id"] for e in expectations] == [world.ids["expectation_id"]]
    one = _get(client, world, f"/expectations/{world.ids['expectation_id']}").json
    assert one == expectations[0]
    due = _get(client, world, "/expectations?due=true").json
    assert [e["id"] for e in due] == [e["id"] for e in expectations if e["due_for_review"]]
