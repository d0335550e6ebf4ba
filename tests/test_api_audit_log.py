"""Issue 17: the audit log through the API, as the audit log page shows it: administrators
all of it, leads their partnerships' entries, nobody else; the page's filters; pages."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import AuditEntry
from mls_tracker.services import survey_import, survey_push
from tests.api_fixtures import API


def _push(world, monkeypatch) -> int:
    """A provider pushes two responses: an audited import of theirs."""
    monkeypatch.setattr(survey_import, "clock", lambda: dt.datetime(2027, 1, 15, tzinfo=dt.UTC))
    result = survey_push.push_responses(
        world.provider,
        world.partnership.id,
        [
            {"response_id": f"R{n}", "submitted_at": "2026-11-02T10:00:00Z", "rating": 5}
            for n in (1, 2)
        ],
    )
    return result.import_id


def _stored(partnership_id: int | None = None) -> set[int]:
    query = sa.select(AuditEntry.id)
    if partnership_id is not None:
        query = query.where(AuditEntry.partnership_id == partnership_id)
    return set(db.session.scalars(query))


def _all(client, url: str) -> list[dict]:
    entries, page = [], 1
    while True:
        response = client.get(f"{url}{'&' if '?' in url else '?'}page={page}&page_size=100")
        assert response.status_code == 200, response.json
        entries += response.json
        if page >= json.loads(response.headers["X-Pagination"])["total_pages"]:
            return entries
        page += 1


def test_a_partnerships_log_is_for_its_leads_and_administrators(
    world, monkeypatch, api_token, api_client
):
    _push(world, monkeypatch)
    url = f"{API}/partnerships/{world.partnership.id}/audit-log"
    mine = _stored(world.partnership.id)
    assert mine
    for who in ("lead", "admin"):
        entries = _all(api_client(api_token(world.user(who), "read")), url)
        assert {e["id"] for e in entries} == mine, who
    for who in ("provider", "sponsor", "viewer"):
        refused = api_client(api_token(world.user(who), "read")).get(url)
        assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
        assert "leads and administrators" in refused.json["detail"]
    assert api_client(api_token(world.outsider, "read")).get(url).status_code == 404


def test_the_whole_log_as_the_page_shows_it(world, monkeypatch, api_token, api_client):
    _push(world, monkeypatch)
    lead = _all(api_client(api_token(world.lead, "read")), f"{API}/audit-log")
    assert {e["id"] for e in lead} == _stored(world.partnership.id)
    admin = _all(api_client(api_token(world.admin, "read")), f"{API}/audit-log")
    assert {e["id"] for e in admin} == _stored()
    assert {e["partnership_id"] for e in admin} >= {world.partnership.id, world.other.id}
    for who in ("provider", "viewer", "sponsor"):
        refused = api_client(api_token(world.user(who), "read")).get(f"{API}/audit-log")
        assert refused.status_code == 404, who


def test_filters_and_pages(world, monkeypatch, api_token, api_client):
    import_id = _push(world, monkeypatch)
    client = api_client(api_token(world.lead, "read"))
    url = f"{API}/partnerships/{world.partnership.id}/audit-log"
    found = client.get(f"{url}?object_type=SurveyImport&action=insert&person={world.provider.id}")
    assert [(e["object_type"], e["object_id"], e["actor_id"]) for e in found.json] == [
        ("SurveyImport", str(import_id), world.provider.id)
    ]
    assert "API push" in {change["after"] for change in found.json[0]["changes"]}
    assert client.get(f"{url}?date_to=2000-01-01").json == []

    total = len(_stored(world.partnership.id))
    first = client.get(f"{url}?page_size=2")
    assert len(first.json) == 2
    assert json.loads(first.headers["X-Pagination"])["total"] == total
    newest = [e["id"] for e in first.json]
    assert newest == sorted(newest, reverse=True)

    bad = client.get(f"{url}?action=rename&date_from=yesterday")
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
