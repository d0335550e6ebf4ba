"""Issue 17: reviews and scorecards through the API: the same reviews a member sees on the
reviews page (drafts: leads only), the stored PDF byte for byte with the page download's
permission, and the frozen figures as JSON."""

from __future__ import annotations

import hashlib

import pytest

from mls_tracker.extensions import db
from mls_tracker.models import Review, ReviewKind
from mls_tracker.periods import Month
from tests.api_fixtures import API
from tests.conftest import sign_in
from tests.factories import foreign_world
from tests.routes_reviews import issued_review


@pytest.fixture
def reviews(world):
    review, scorecard = issued_review(world.partnership, world.lead)
    draft = Review(
        partnership_id=world.partnership.id,
        kind=ReviewKind.MONTHLY,
        first_month=Month(2026, 11),
        last_month=Month(2026, 11),
        snapshot={"computed_on": "2026-12-02"},
        created_by_id=world.lead.id,
    )
    db.session.add(draft)
    db.session.commit()
    return review.id, scorecard.id, draft.id


def _base(world) -> str:
    return f"{API}/partnerships/{world.partnership.id}"


def test_members_list_issued_reviews_and_leads_the_drafts_too(
    world, reviews, api_token, api_client
):
    issued_id, _, draft_id = reviews
    lead = api_client(api_token(world.lead, "read")).get(f"{_base(world)}/reviews")
    assert lead.status_code == 200
    assert [(r["id"], r["issued"], r["label"]) for r in lead.json] == [
        (draft_id, False, "November 2026"),
        (issued_id, True, "October 2026"),
    ]
    assert lead.json[1]["latest_version"] == 1 and lead.json[1]["first_month"] == "2026-10"
    viewer = api_client(api_token(world.viewer, "read")).get(f"{_base(world)}/reviews")
    assert [r["id"] for r in viewer.json] == [issued_id]
    paged = api_client(api_token(world.lead, "read")).get(
        f"{_base(world)}/reviews?page=2&page_size=1"
    )
    assert [r["id"] for r in paged.json] == [issued_id]
    assert '"total": 2' in paged.headers["X-Pagination"]


def test_a_draft_is_the_leads(world, reviews, api_token, api_client):
    issued_id, scorecard_id, draft_id = reviews
    provider = api_client(api_token(world.provider, "read"))
    refused = provider.get(f"{_base(world)}/reviews/{draft_id}")
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert provider.get(f"{_base(world)}/reviews/{draft_id}/snapshot").status_code == 403
    issued = provider.get(f"{_base(world)}/reviews/{issued_id}")
    assert issued.status_code == 200
    assert [s["id"] for s in issued.json["scorecards"]] == [scorecard_id]
    assert issued.headers["ETag"] == f'"{issued.json["version"]}"'
    lead = api_client(api_token(world.lead, "read"))
    draft = lead.get(f"{_base(world)}/reviews/{draft_id}")
    assert (draft.status_code, draft.json["scorecards"]) == (200, [])
    assert lead.get(f"{_base(world)}/reviews/{draft_id}/snapshot").json == {
        "computed_on": "2026-12-02"
    }


def test_the_stored_pdf_is_the_page_downloads(client, world, reviews, api_token, api_client):
    _, scorecard_id, _ = reviews
    url = f"{_base(world)}/scorecards/{scorecard_id}/pdf"
    response = api_client(api_token(world.sponsor, "read")).get(url)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert response.headers["ETag"] == f'"{hashlib.sha256(response.data).hexdigest()}"'

    sign_in(client, world.sponsor.email)
    page = client.get(f"/partnerships/{world.partnership.id}/reviews/scorecards/{scorecard_id}.pdf")
    assert page.status_code == 200 and page.data == response.data
    assert page.headers["Content-Disposition"] == response.headers["Content-Disposition"]

    # Not a member: 404, as on the page.
    outsider = api_client(api_token(world.outsider, "read"))
    assert outsider.get(url).status_code == 404


def test_scorecards_list_and_their_figures_as_stored(world, reviews, api_token, api_client):
    issued_id, scorecard_id, _ = reviews
    viewer = api_client(api_token(world.viewer, "read"))
    listed = viewer.get(f"{_base(world)}/scorecards")
    assert listed.status_code == 200
    assert [(s["id"], s["review_id"], s["version"], s["period"]) for s in listed.json] == [
        (scorecard_id, issued_id, 1, "October 2026")
    ]
    assert listed.json[0]["issued_by"] == world.lead.display_name
    assert viewer.get(f"{_base(world)}/scorecards?review_id=999999").json == []
    one = viewer.get(f"{_base(world)}/scorecards/{scorecard_id}")
    assert one.json == listed.json[0]
    snapshot = viewer.get(f"{_base(world)}/scorecards/{scorecard_id}/snapshot")
    stored = db.session.get(Review, issued_id).scorecards[0].snapshot
    assert snapshot.status_code == 200 and snapshot.json == stored


def test_another_partnerships_scorecard_is_404(world, reviews, api_token, api_client):
    foreign = foreign_world(world)
    _, theirs = issued_review(foreign.partnership, foreign.lead)
    db.session.commit()
    lead = api_client(api_token(world.lead, "read"))
    for tail in ("", "/pdf", "/snapshot"):
        response = lead.get(f"{_base(world)}/scorecards/{theirs.id}{tail}")
        assert response.status_code == 404, tail
