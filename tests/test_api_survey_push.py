"""Issue 17: POST /partnerships/{id}/survey-responses over HTTP — 201 with the counts and the
import, 200 when nothing is new, 422 problem+json naming every refused response by index and
field (nothing saved), 403 for a viewer or a read-only token — and a lead's confirmation."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import SurveyResponse
from mls_tracker.services import survey_import
from tests.api_fixtures import API


@pytest.fixture(autouse=True)
def _after_the_responses(monkeypatch):
    monkeypatch.setattr(survey_import, "clock", lambda: dt.datetime(2027, 1, 15, tzinfo=dt.UTC))


def _batch(count: int, start: int = 1) -> list[dict]:
    return [
        {"response_id": f"Q{n}", "submitted_at": f"2026-11-{1 + n % 28:02d}T09:00:00", "rating": 4}
        for n in range(start, start + count)
    ]


def _url(world) -> str:
    return f"{API}/partnerships/{world.partnership.id}/survey-responses"


def _stored() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse))


def test_a_push_answers_201_then_200_when_nothing_is_new(world, api_token, api_client):
    client = api_client(api_token(world.provider))
    first = client.post(_url(world), json={"responses": _batch(5)})
    assert first.status_code == 201
    assert first.json["state"] == "proposed" and first.json["added"] == 5
    mixed = client.post(_url(world), json={"responses": _batch(8)})
    assert mixed.status_code == 201
    assert (mixed.json["added"], mixed.json["skipped"]) == (3, 5)
    again = client.post(_url(world), json={"responses": _batch(8)})
    assert again.status_code == 200
    assert again.json == {
        "import_id": None,
        "state": None,
        "received": 8,
        "added": 0,
        "skipped": 8,
        "no_answer": 0,
    }
    assert _stored() == 8


def test_a_refused_push_lists_every_problem_by_index_and_field(world, api_token, api_client):
    client = api_client(api_token(world.lead))
    batch = _batch(1000)
    batch[3]["rating"] = "7"
    batch[998].update(submitted_at="soon", region="Mars")
    response = client.post(_url(world), json={"responses": batch})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.json["detail"] == (
        "Nothing was saved: 2 rows have problems. Fix them and send the whole batch again."
    )
    assert response.json["errors"] == {
        "json": {
            "responses": {
                "3": {"rating": ["satisfaction rating 7 is outside 1–5"]},
                "998": {
                    "submitted_at": ["submitted at “soon” is not a date and time"],
                    "region": [
                        "region “Mars” is not one of this partnership's regions (APAC, EMEA)"
                    ],
                },
            }
        }
    }
    assert _stored() == 0


def test_a_malformed_body_is_a_422_and_values_of_any_type_are_judged_by_the_rules(
    world, api_token, api_client
):
    client = api_client(api_token(world.lead))
    assert client.post(_url(world), json={"answers": []}).status_code == 422
    response = client.post(
        _url(world),
        json={"responses": [{"response_id": ["x"], "submitted_at": 5, "rating": {"a": 1}}]},
    )
    assert response.status_code == 422
    assert set(response.json["errors"]["json"]["responses"]["0"]) == {"submitted_at", "rating"}


@pytest.mark.parametrize("who", ["viewer", "sponsor"])
def test_a_viewer_or_sponsor_is_refused(world, api_token, api_client, who):
    response = api_client(api_token(world.user(who))).post(
        _url(world), json={"responses": _batch(2)}
    )
    assert response.status_code == 403
    assert _stored() == 0


def test_a_read_only_token_cannot_push(world, api_token, api_client):
    response = api_client(api_token(world.provider, "read")).post(
        _url(world), json={"responses": _batch(2)}
    )
    assert response.status_code == 403
    assert _stored() == 0


def test_only_a_lead_confirms_an_import(world, api_token, api_client):
    pushed = api_client(api_token(world.provider)).post(_url(world), json={"responses": _batch(3)})
    confirm = f"{API}/partnerships/{world.partnership.id}/survey-imports/{pushed.json['import_id']}"
    provider = api_client(api_token(world.provider))
    assert provider.get(confirm).json["state"] == "proposed"
    assert provider.post(confirm + "/confirm").status_code == 403
    lead = api_client(api_token(world.lead))
    assert lead.post(confirm + "/confirm").json["state"] == "confirmed"
    again = lead.post(confirm + "/confirm")
    assert again.status_code == 422
    assert again.json["detail"] == "This import was confirmed already."
