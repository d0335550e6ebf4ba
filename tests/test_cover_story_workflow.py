"""The cover story on a review: key messages drafted when it opens, edited by the lead and
marked stale after a refresh; the provider's commentary (written by a provider member,
approved or returned by a lead, only approved text in the scorecard); the PDF's cover; an old
snapshot without a story still renders."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import subprocess

import pytest

from mls_tracker.extensions import db
from mls_tracker.models import CommentaryState, ReviewKind, Role, Scorecard
from mls_tracker.scorecards.html import render_scorecard_html
from mls_tracker.scorecards.issuing import render_pdf
from mls_tracker.scorecards.snapshot import LookAheadItem, ScorecardMeta, dump, load
from mls_tracker.services import reviews
from mls_tracker.services.errors import PermissionDenied, ValidationFailed
from tests.conftest import csrf_token, sign_in
from tests.factories import add_measurement, add_member, create_user
from tests.scorecard_samples import sample_data
from tests.test_scorecard_data import OCT, TODAY, Small, build_small


@pytest.fixture
def small(world) -> Small:
    return build_small(world)


def _open(small: Small):
    return reviews.open_review(
        small.world.lead,
        small.world.partnership.id,
        kind=ReviewKind.MONTHLY,
        first_month=OCT,
        today=TODAY,
    )


def test_opening_drafts_key_messages_from_the_figures(small):
    review = _open(small)
    data = reviews.review_data(review)
    assert data.story is not None
    assert 3 <= len(review.key_messages) <= 5
    assert tuple(review.key_messages) == data.story.drafted_messages == data.story.key_messages
    assert data.story.health_line.startswith(f"Health {data.health.score}")
    assert data.story.look_ahead_until == dt.date(2026, 10, 31) + dt.timedelta(days=90)


def test_lead_edits_messages_within_limits_and_a_refresh_marks_them_stale(small):
    review = _open(small)
    lead = small.world.lead
    with pytest.raises(ValidationFailed, match="at most|Keep to 5") as error:
        reviews.update_story(
            lead, review.id, key_messages="a\nb\nc\nd\ne\nf", decisions_asks="",
            expected_version=review.version,
        )  # fmt: skip
    assert error.value.field == "key_messages"
    with pytest.raises(ValidationFailed, match="message 2 has 201") as error:
        reviews.update_story(
            lead, review.id, key_messages="short\n" + "x" * 201, decisions_asks="",
            expected_version=review.version,
        )  # fmt: skip
    reviews.update_story(
        lead, review.id, key_messages="One.\n\n  Two.  \nThree.",
        decisions_asks="Name a sponsor for APAC.", expected_version=review.version,
    )  # fmt: skip
    assert review.key_messages == ["One.", "Two.", "Three."]
    story = reviews.review_data(review).story
    assert story.key_messages == ("One.", "Two.", "Three.")
    assert story.decisions_asks == "Name a sponsor for APAC."
    assert not reviews.key_messages_check(review).stale

    add_measurement(small.c, OCT, 95, confirmed_by=lead)  # the figures move
    reviews.refresh_review(lead, review.id, TODAY)
    check = reviews.key_messages_check(review)
    assert check.stale and check.changes
    assert review.key_messages == ["One.", "Two.", "Three."]  # kept: the lead wrote them

    reviews.redraft_key_messages(lead, review.id)
    assert review.key_messages == list(reviews.review_data(review).story.drafted_messages)
    assert not reviews.key_messages_check(review).stale


def test_untouched_messages_are_drafted_again_on_refresh(small):
    review = _open(small)
    add_measurement(small.c, OCT, 95, confirmed_by=small.world.lead)
    reviews.refresh_review(small.world.lead, review.id, TODAY)
    drafted = list(reviews.review_data(review).story.drafted_messages)
    assert review.key_messages == drafted
    assert not reviews.key_messages_check(review).stale


def test_only_a_lead_edits_the_story(small):
    review = _open(small)
    for who in ("provider", "sponsor", "viewer"):
        with pytest.raises(PermissionDenied):
            reviews.update_story(
                small.world.user(who), review.id, key_messages="x", decisions_asks="",
                expected_version=review.version,
            )  # fmt: skip


def test_commentary_submitted_by_the_provider_approved_or_returned_by_a_lead(small):
    world = small.world
    review = _open(small)
    pid = world.partnership.id
    reviews.save_commentary(world.provider, pid, review.id, text="Draft words.", submit=False)
    assert review.commentary_state is CommentaryState.DRAFT
    assert reviews.review_data(review).story.provider_commentary == ""
    with pytest.raises(ValidationFailed, match="no submitted"):
        reviews.decide_commentary(world.lead, review.id, approve=True)

    reviews.save_commentary(world.provider, pid, review.id, text="We recovered.", submit=True)
    assert review.commentary_state is CommentaryState.SUBMITTED
    assert review.commentary_submitted_by_id == world.provider.id
    assert reviews.review_data(review).story.provider_commentary == ""  # not approved yet
    with pytest.raises(ValidationFailed) as error:
        reviews.decide_commentary(world.lead, review.id, approve=False, reason="  ")
    assert error.value.field == "reason"
    reviews.decide_commentary(world.lead, review.id, approve=False, reason="Name the dates.")
    assert review.commentary_state is CommentaryState.RETURNED
    assert review.commentary_return_reason == "Name the dates."
    assert reviews.review_data(review).story.provider_commentary == ""

    reviews.save_commentary(
        world.provider, pid, review.id, text="We recovered by 3 Dec.", submit=True
    )
    with pytest.raises(PermissionDenied):
        reviews.decide_commentary(world.provider, review.id, approve=True)
    reviews.decide_commentary(world.lead, review.id, approve=True)
    story = reviews.review_data(review).story
    assert story.provider_commentary == "We recovered by 3 Dec."
    assert story.commentary_author == world.provider.display_name
    assert story.commentary_organisation == "Provider Co"

    # A change after approval needs approving again; the cover shows nothing meanwhile.
    reviews.save_commentary(world.provider, pid, review.id, text="Changed.", submit=False)
    assert reviews.review_data(review).story.provider_commentary == ""


def test_sponsors_and_viewers_do_not_write_commentary(small):
    review = _open(small)
    for who in ("sponsor", "viewer"):
        with pytest.raises(PermissionDenied):
            reviews.save_commentary(
                small.world.user(who), small.world.partnership.id, review.id, text="x",
                submit=True,
            )  # fmt: skip


def test_provider_writes_on_a_draft_review_and_another_partnerships_provider_gets_404(
    small, client
):
    world = small.world
    review = _open(small)
    pid = world.partnership.id
    url = f"/partnerships/{pid}/reviews/{review.id}/commentary"
    sign_in(client, world.provider.email)
    page = client.get(url)
    assert page.status_code == 200
    assert "Your commentary on October 2026" in page.get_data(as_text=True)
    listing = client.get(f"/partnerships/{pid}/reviews/").get_data(as_text=True)
    assert "Write the provider's commentary" in listing
    response = client.post(
        url,
        data={"csrf_token": csrf_token(client, url), "text": "Ours <b>bold</b>", "submit": "1"},
    )
    assert response.status_code == 302
    db.session.refresh(review)
    assert review.commentary_state is CommentaryState.SUBMITTED
    assert review.provider_commentary == "Ours <b>bold</b>"

    stranger = create_user("their-provider@test.example")
    add_member(stranger, world.other, Role.PROVIDER)
    db.session.commit()
    client.post("/logout", data={"csrf_token": csrf_token(client, url)})
    other = client.application.test_client()
    sign_in(other, stranger.email)
    assert other.get(url).status_code == 404
    assert (
        other.get(f"/partnerships/{world.other.id}/reviews/{review.id}/commentary").status_code
        == 404
    )


def test_lead_sees_the_cover_story_block_and_approves_on_the_review_page(small, client):
    world = small.world
    review = _open(small)
    pid = world.partnership.id
    reviews.save_commentary(world.provider, pid, review.id, text="From us.", submit=True)
    sign_in(client, world.lead.email)
    url = f"/partnerships/{pid}/reviews/{review.id}"
    html = client.get(url).get_data(as_text=True)
    assert 'id="cover-story"' in html and "Waiting for approval" in html
    token = csrf_token(client, url)
    response = client.post(
        f"{url}/story",
        data={"csrf_token": token, "key_messages": "\n".join(["m"] * 6), "decisions_asks": "Typed",
              "version": str(review.version)},
    )  # fmt: skip
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Keep to 5 key messages" in page
    assert "Typed" in page  # nothing typed is lost
    response = client.post(
        f"{url}/commentary/decide", data={"csrf_token": token, "approve": "Approve"}
    )
    assert response.status_code == 302
    db.session.refresh(review)
    assert review.commentary_state is CommentaryState.APPROVED


def _pdf_text(pdf: bytes) -> str:
    result = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return re.sub(r"\s+", " ", result.stdout.decode())


def test_the_pdf_cover_tells_the_story(small):
    world = small.world
    review = _open(small)
    pid = world.partnership.id
    reviews.update_story(
        world.lead, review.id, key_messages="Attainment held.\nAPAC needs a sponsor.",
        decisions_asks="Confirm the APAC sponsor by November.", expected_version=review.version,
    )  # fmt: skip
    reviews.save_commentary(
        world.provider, pid, review.id, text="A good month for us.", submit=True
    )
    reviews.decide_commentary(world.lead, review.id, approve=True)
    data = reviews.review_data(review)
    text = _pdf_text(render_pdf(data, ScorecardMeta(None, None, None)))
    first_page = text.split("Executive summary")[0]
    for expected in (
        "Key messages",
        "Attainment held.",
        "APAC needs a sponsor.",
        "Decisions and asks of sponsors",
        "Confirm the APAC sponsor by November.",
        "A good month for us.",
        world.provider.display_name,
        "The next 90 days",
        data.story.health_line[:40],
    ):
        # Headings are in capitals, letter-spaced: compare without spaces or case.
        assert _squeezed(expected) in _squeezed(first_page), expected
    assert "About this scorecard" in text
    assert _squeezed("Reading the statuses") in _squeezed(text.split("About this scorecard")[1])


def _squeezed(text: str) -> str:
    return text.replace(" ", "").lower()


def test_an_old_snapshot_without_a_story_renders_the_old_cover():
    old = dump(sample_data())
    del old["story"]
    data = load(old)
    html = render_scorecard_html(data, ScorecardMeta(1, None, None), {})
    assert "Reading the statuses" in html.split('id="summary"')[0]  # the legend on the cover
    assert "Key messages" not in html and "About this scorecard" not in html
    assert '<meta name="author" content="Northwind Traders">' in html  # the client


def test_the_longest_story_still_fits_the_cover(app):
    """Five messages of 200 characters, decisions and commentary at their limits and more
    look-ahead than is shown: the cover stays one page, the summary starts page 2."""
    from tests.test_cover_story import red_data

    data = red_data()
    story = dataclasses.replace(
        data.story,
        health_line="Health 54 (red), down 16 since September 2026: SLA attainment fell from 92% "
        "to 61% (3 SLAs breached).",
        key_messages=tuple(("Wide words " * 40)[: reviews.KEY_MESSAGE_CHARS] for _ in range(5)),
        decisions_asks=("Decide on the sponsor for LATAM. " * 40)[: reviews.DECISIONS_MAX],
        provider_commentary=("We recovered the backlog and will report. " * 40)[
            : reviews.COMMENTARY_MAX
        ],
        commentary_author="Priya Natarajan",
        commentary_organisation="Contoso Learning Services",
        look_ahead=tuple(
            LookAheadItem(dt.date(2026, 11, 2 + i), "change", f"Change goes live: change {i}")
            for i in range(9)
        ),
        look_ahead_until=dt.date(2027, 1, 29),
    )
    pdf = render_pdf(dataclasses.replace(data, story=story), ScorecardMeta(1, None, None))
    pages = (
        subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
        .stdout.decode()
        .split("\f")
    )
    assert "Executive summary" not in pages[0]
    assert "And 4 more" in pages[0] and "We recovered the backlog" in pages[0]
    assert "Executive summary" in pages[1]


def test_a_sponsor_reads_the_issued_story_without_the_workflow(small, client):
    world = small.world
    review = _open(small)
    pid = world.partnership.id
    reviews.save_commentary(world.provider, pid, review.id, text="Issued words.", submit=True)
    reviews.decide_commentary(world.lead, review.id, approve=True)
    pdf = b"%PDF-1.7 test"
    db.session.add(
        Scorecard(
            review_id=review.id, version=1, issued_by_id=world.lead.id,
            sha256=hashlib.sha256(pdf).hexdigest(), pdf=pdf,
            snapshot=dump(reviews.review_data(review)),
        )
    )  # fmt: skip
    db.session.commit()
    # Written after issue: not what the issued scorecard says.
    reviews.save_commentary(world.provider, pid, review.id, text="Later words.", submit=True)
    sign_in(client, world.sponsor.email)
    page = client.get(f"/partnerships/{pid}/reviews/{review.id}").get_data(as_text=True)
    assert 'id="cover-story"' in page and "Issued words." in page
    assert "Later words." not in page and "Waiting for approval" not in page
    assert 'id="story-form"' not in page and 'id="write-commentary"' not in page
