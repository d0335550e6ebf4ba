"""The JSON API's core: tokens, problem+json, pagination, ETag, rate limits."""

from __future__ import annotations

from tests.api_fixtures import API


def test_a_lead_lists_their_partnerships_with_a_token(world, api_token, api_client):
    client = api_client(api_token(world.lead, "read"))
    response = client.get(f"{API}/partnerships")
    assert response.status_code == 200
    assert [p["name"] for p in response.json] == ["Global Learning"]
    assert response.json[0]["role"] == "lead"


def test_no_token_is_401_problem_json(client, world):
    response = client.get(f"{API}/partnerships")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 401
    assert set(response.json) >= {"type", "title", "status", "detail"}
