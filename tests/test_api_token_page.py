"""The API tokens page of a person's settings: create (the value shown once), list, revoke
with a confirmation; errors next to the field."""

from __future__ import annotations

import re

from tests.api_fixtures import API, make_token
from tests.conftest import csrf_token, page_text, sign_in


def _create(client, **fields):
    token = csrf_token(client, "/account/tokens")
    data = {"name": "Power BI", "scope": "read", "expires_in_days": "30", **fields}
    return client.post("/account/tokens", data={**data, "csrf_token": token})


def test_create_shows_the_token_once_and_it_works(client, world, api_client):
    sign_in(client, world.lead.email)
    response = _create(client)
    html = response.get_data(as_text=True)
    raw = re.search(r'id="token-value">([^<]+)<', html).group(1)
    assert api_client(raw).get(f"{API}/partnerships").status_code == 200
    # Listed with its prefix, scope and dates — never the value again.
    text = page_text(client.get("/account/tokens").get_data(as_text=True))
    assert "Power BI" in text and raw[:12] in text and raw not in text
    assert "read" in text


def test_a_missing_name_is_said_next_to_the_field_and_the_rest_is_kept(client, world):
    sign_in(client, world.lead.email)
    html = _create(client, name="", scope="write", expires_in_days="366").get_data(as_text=True)
    assert 'id="name-error"' in html and "Give the token a name" in html
    assert re.search(r'<option selected value="write">|<option value="write" selected', html)
    assert "token-value" not in html


def test_revoke_asks_first_then_the_token_stops_working(client, world, api_client):
    raw = make_token(world.lead)
    sign_in(client, world.lead.email)
    page = client.get("/account/tokens").get_data(as_text=True)
    url = re.search(r'href="(/account/tokens/\d+/revoke)"', page).group(1)
    assert "Revoke the token" in client.get(url).get_data(as_text=True)
    assert api_client(raw).get(f"{API}/partnerships").status_code == 200  # not yet
    token = csrf_token(client, url)
    response = client.post(url, data={"csrf_token": token, "submit": "Confirm"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert api_client(raw).get(f"{API}/partnerships").status_code == 401
    assert "Revoked" in client.get("/account/tokens").get_data(as_text=True)


def test_nobody_revokes_someone_elses_token(client, world, api_client):
    raw = make_token(world.lead)
    sign_in(client, world.viewer.email)
    sign_in_page = client.get("/account/tokens").get_data(as_text=True)
    assert "no API tokens" in sign_in_page
    from mls_tracker.extensions import db
    from mls_tracker.models import ApiToken

    token_id = db.session.query(ApiToken.id).scalar()
    url = f"/account/tokens/{token_id}/revoke"
    assert client.get(url).status_code == 404
    token = csrf_token(client, "/account/tokens")
    assert client.post(url, data={"csrf_token": token, "submit": "Confirm"}).status_code == 404
    assert api_client(raw).get(f"{API}/partnerships").status_code == 200


def test_a_revoke_without_the_csrf_token_is_refused(client, world):
    make_token(world.lead)
    sign_in(client, world.lead.email)
    page = client.get("/account/tokens").get_data(as_text=True)
    url = re.search(r'href="(/account/tokens/\d+/revoke)"', page).group(1)
    assert client.post(url, data={"submit": "Confirm"}).status_code in (200, 400)
    assert "Revoked" not in client.get("/account/tokens").get_data(as_text=True)
