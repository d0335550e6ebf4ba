"""The JSON API's core: tokens, problem+json, pagination, ETag, rate limits."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import ActionItem, ApiToken, utcnow
from mls_tracker.services import api_tokens
from tests.api_fixtures import API
from tests.api_routes_core import prepare
from tests.conftest import sign_in


def test_a_lead_lists_their_partnerships_with_a_token(world, api_token, api_client):
    client = api_client(api_token(world.lead, "read"))
    response = client.get(f"{API}/partnerships")
    assert response.status_code == 200
    assert [p["name"] for p in response.json] == ["Global Learning"]
    assert response.json[0]["role"] == "lead"


def test_an_unknown_address_under_the_api_is_our_404_problem(client):
    response = client.get(f"{API}/no-such-thing")
    assert (response.status_code, response.mimetype) == (404, "application/problem+json")
    assert response.json["detail"] == "There is nothing here, or it is not shared with you."


def test_no_token_is_401_problem_json(client, world):
    response = client.get(f"{API}/partnerships")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 401
    assert set(response.json) >= {"type", "title", "status", "detail"}


def _token_row(raw: str) -> ApiToken:
    return db.session.scalar(
        sa.select(ApiToken).where(ApiToken.token_hash == api_tokens.hash_token(raw))
    )


def _action(world) -> ActionItem:
    """A provider-side action item of the partnership (the matrix's own)."""
    item = db.session.get(ActionItem, prepare(world)["action_id"])
    db.session.commit()
    return item


def test_only_the_hash_and_a_prefix_are_stored(world, api_token):
    raw = api_token(world.lead)
    row = _token_row(raw)
    assert row.token_hash != raw and raw not in (row.token_hash, row.prefix)
    assert raw.startswith(row.prefix) and len(row.prefix) == 12
    assert row.scope == "write"


@pytest.mark.parametrize("problem", ["expired", "revoked", "deactivated", "unknown"])
def test_an_unusable_token_is_401(world, api_token, api_client, problem):
    raw = api_token(world.lead)
    row = _token_row(raw)
    if problem == "expired":
        row.expires_at = utcnow() - dt.timedelta(seconds=1)
    elif problem == "revoked":
        api_tokens.revoke_token(world.lead, row.id)
    elif problem == "deactivated":
        world.lead.active = False
    else:
        raw += "x"
    db.session.commit()
    response = api_client(raw).get(f"{API}/partnerships")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 401 and response.json["detail"]


def test_reactivating_a_user_revives_none_of_their_tokens(world, api_token, api_client):
    raw = api_token(world.lead)
    world.lead.active = False
    db.session.commit()
    world.lead.active = True
    db.session.commit()
    assert api_client(raw).get(f"{API}/partnerships").status_code == 401


@pytest.mark.parametrize("where", ["query", "form"])
def test_a_token_in_the_address_or_a_form_is_refused_and_never_looked_up(
    world, api_token, api_client, where
):
    raw = api_token(world.lead)
    client = api_client(None)
    if where == "query":
        response = client.get(f"{API}/partnerships?access_token={raw}")
    else:
        response = client.post(
            f"{API}/partnerships/{world.partnership.id}/actions", data={"access_token": raw}
        )
    assert response.status_code == 401
    assert "Authorization header" in response.json["detail"]
    assert _token_row(raw).last_used_at is None  # never looked up
    # Even alongside a good header: a token in the address is a leak, not a credential.
    response = api_client(raw).get(f"{API}/partnerships?access_token={raw}")
    assert response.status_code == 401


def test_a_signed_in_browser_session_does_not_authenticate_the_api(client, world):
    sign_in(client, world.lead.email)
    assert client.get("/partnerships/").status_code == 200
    response = client.get(f"{API}/partnerships")
    assert response.status_code == 401


def test_a_token_acts_as_its_user_whatever_cookie_comes_along(client, world, api_token, api_client):
    """A lead's browser cookie and a viewer's token: the viewer's role decides."""
    item = _action(world)
    viewer = api_client(api_token(world.viewer))
    sign_in(viewer, world.lead.email)
    response = viewer.post(
        f"{API}/partnerships/{world.partnership.id}/actions/{item.id}/updates",
        json={"note": "Done"},
    )
    assert response.status_code == 403


def test_a_read_only_token_may_read_but_not_write(world, api_token, api_client):
    item = _action(world)
    client = api_client(api_token(world.lead, "read"))
    url = f"{API}/partnerships/{world.partnership.id}/actions/{item.id}"
    assert client.get(url).status_code == 200
    response = client.post(f"{url}/updates", json={"note": "Draft sent"})
    assert response.status_code == 403
    assert "read-only" in response.json["detail"]
    db.session.refresh(item)
    assert item.updates == []


def test_last_use_is_recorded_at_most_once_a_minute(world, api_token, api_client):
    raw = api_token(world.lead)
    client = api_client(raw)
    client.get(f"{API}/partnerships")
    first = _token_row(raw).last_used_at
    assert first is not None
    client.get(f"{API}/partnerships")
    db.session.expire_all()
    assert _token_row(raw).last_used_at == first


def test_etag_and_if_match(world, api_token, api_client):
    item = _action(world)
    client = api_client(api_token(world.provider))
    url = f"{API}/partnerships/{world.partnership.id}/actions/{item.id}"
    response = client.get(url)
    etag = response.headers["ETag"]
    assert etag == f'"{response.json["version"]}"'
    changed = client.put(
        f"{url}/status", json={"status": "in progress"}, headers={"If-Match": etag}
    )
    assert changed.status_code == 200
    assert changed.json["status"] == "in progress"
    assert changed.headers["ETag"] != etag
    # A write based on the copy read before: 412, nothing saved.
    stale = client.post(f"{url}/updates", json={"note": "Late"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.mimetype == "application/problem+json"
    # Our words, not werkzeug's "The precondition on the request … positive evaluation."
    assert stale.json["title"] == "Changed since you read it"
    assert stale.json["detail"] == "This changed since you read it: read it again (If-Match)."
    assert [u["text"] for u in client.get(url).json["updates"]] == [None]


def test_validation_errors_are_problem_json_with_field_errors(world, api_token, api_client):
    client = api_client(api_token(world.lead))
    response = client.post(
        f"{API}/partnerships/{world.partnership.id}/actions",
        json={"owner_side": "nobody", "due_on": "soon"},
    )
    assert response.status_code == 422
    body = response.json
    assert response.mimetype == "application/problem+json"
    assert {"type", "title", "status", "detail"} <= set(body) and body["status"] == 422
    assert set(body["errors"]["json"]) == {"title", "owner_side", "due_on"}


def test_a_services_rule_is_a_field_error_too(world, api_token, api_client):
    client = api_client(api_token(world.lead))
    response = client.post(
        f"{API}/partnerships/{world.partnership.id}/actions",
        json={"title": "  ", "owner_side": "provider", "due_on": "2026-03-01"},
    )
    assert response.status_code == 422
    assert response.json["errors"] == {"json": {"title": ["Enter a title: what has to be done."]}}


def test_a_provider_proposes_and_a_lead_confirms_actuals(world, api_token, api_client):
    sla_id = world.ids["sla_id"]
    url = f"{API}/partnerships/{world.partnership.id}/actuals/2025-07"
    provider = api_client(api_token(world.provider))
    response = provider.put(url, json={"actuals": [{"sla_id": sla_id, "value": "96.5"}]})
    assert response.status_code == 200, response.json
    (row,) = response.json["actuals"]
    assert (row["value"], row["state"], response.json["saved"]) == (96.5, "proposed", 1)
    lead = api_client(api_token(world.lead))
    # The provider may not confirm; the lead confirms the value unchanged.
    confirm = {"sla_ids": [sla_id]}
    assert provider.post(f"{url}/confirm", json=confirm).status_code == 403
    response = lead.post(f"{url}/confirm", json=confirm)
    assert response.status_code == 200
    assert response.json["confirmed"] == 1
    assert response.json["actuals"][0]["state"] == "confirmed"
    # A provider's change of a confirmed value, based on its version: refused, as on the form.
    version = response.json["actuals"][0]["version"]
    change = {"actuals": [{"sla_id": sla_id, "value": "90", "version": version}]}
    response = provider.put(url, json=change)
    assert response.status_code == 422
    assert response.json["errors"]["json"]["actuals"] == {
        str(sla_id): ["Confirmed by a lead: only a lead can change it."]
    }
    # A write based on an old version of the row: 409, nothing saved.
    stale = {"actuals": [{"sla_id": sla_id, "value": "91", "version": version - 1}]}
    assert lead.put(url, json=stale).status_code == 409
    assert lead.get(url).json["actuals"][0]["value"] == 96.5


def test_pagination_with_the_x_pagination_header(world, api_token, api_client):
    for n in range(5):
        _action(world).title = f"Item {n}"
    db.session.commit()
    client = api_client(api_token(world.lead))
    url = f"{API}/partnerships/{world.partnership.id}/actions?page=2&page_size=2"
    response = client.get(url)
    assert response.status_code == 200
    assert len(response.json) == 2
    pages = json.loads(response.headers["X-Pagination"])
    assert (pages["total"], pages["total_pages"], pages["page"]) == (5, 3, 2)
    listed = client.get(f"{API}/partnerships?page_size=1")
    assert json.loads(listed.headers["X-Pagination"])["total"] == 1


def test_rate_limit_per_token_answers_429_with_retry_after(
    app, world, api_token, api_client, monkeypatch
):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3 per minute")
    client = api_client(api_token(world.lead))
    for _ in range(3):
        assert client.get(f"{API}/partnerships").status_code == 200
    response = client.get(f"{API}/partnerships")
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    # Another token has its own budget.
    assert api_client(api_token(world.viewer)).get(f"{API}/partnerships").status_code == 200


def test_the_openapi_document_is_3_1(client):
    spec = client.get(f"{API}/openapi.json").json
    assert spec["openapi"] == "3.1.0"
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert f"{API}/partnerships/{{partnership_id}}/actuals/{{month}}" in spec["paths"]


def test_the_reference_page_is_served_by_the_app_without_any_script(client):
    response = client.get(f"{API}/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "/api/v1/partnerships/{partnership_id}/actuals/{month}" in html
    assert "<script" not in html.split("</main>")[0].split("<main")[-1]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_made_up_tokens_share_their_addresss_budget(app, world, api_token, api_client, monkeypatch):
    """Unknown (or revoked) tokens are counted per client address, not per value sent: a
    new made-up token with each request buys no new budget. A live token keeps its own."""
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3 per minute")
    revoked = api_token(world.viewer)
    _token_row(revoked).revoked_at = utcnow()
    db.session.commit()
    assert api_client("mls_madeup1").get(f"{API}/partnerships").status_code == 401
    assert api_client("mls_madeup2").get(f"{API}/partnerships").status_code == 401
    assert api_client(revoked).get(f"{API}/partnerships").status_code == 401
    response = api_client("mls_madeup3").get(f"{API}/partnerships")
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    assert api_client(None).get(f"{API}/partnerships").status_code == 429  # the same address
    # A live token from that address is counted on its own.
    live = api_client(api_token(world.lead))
    assert [live.get(f"{API}/partnerships").status_code for _ in range(4)] == [200, 200, 200, 429]
