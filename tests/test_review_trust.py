"""Reviews executives can trust (issue 15, points 6–8): after "Refresh figures" a summary
written from the figures is written again, an edited one is flagged as stale with what
changed and is issued only once the lead confirms it."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from email.header import decode_header, make_header

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import Partnership, Review, ReviewKind, Scorecard, User, Win
from mls_tracker.periods import Month
from mls_tracker.scorecards import batch, chart_images, delivery, issuing
from mls_tracker.scorecards.html import render_scorecard_html
from mls_tracker.scorecards.snapshot import ScorecardMeta
from mls_tracker.services import reviews
from mls_tracker.services.errors import ValidationFailed
from tests.conftest import DEMO_TODAY, csrf_token, sign_in, text_of
from tests.demo_snapshot import demo_database
from tests.factories import add_measurement
from tests.test_scorecard_data import OCT, TODAY, Small, build_small


@pytest.fixture(scope="module", autouse=True)
def _forget_the_charts():
    yield  # the server draws on for the next module (tests/conftest.py)
    chart_images.clear_cache()


@pytest.fixture
def small(world) -> Small:
    return build_small(world)


def _open_with_draft_summary(small: Small) -> Review:
    """October's review with the summary written from its figures, as the demo opens it:
    SLA attainment 40 % (3 of 4 SLAs measured, C-01 missing)."""
    lead = small.world.lead
    review = reviews.open_review(
        lead, small.world.partnership.id, kind=ReviewKind.MONTHLY, first_month=OCT, today=TODAY
    )
    reviews.update_review(
        lead,
        review.id,
        executive_summary=reviews.draft_summary(reviews.review_data(review)),
        featured_win_ids=[],
        expected_version=review.version,
    )
    return review


def _late_actual(small: Small) -> None:
    """C-01 (weight 2) met in October, confirmed late: attainment (1 + 1 + 2) ÷ 7 = 57.1 %."""
    add_measurement(small.c, OCT, 95, confirmed_by=small.world.lead)
    db.session.commit()


def test_refresh_writes_an_untouched_summary_again_with_the_new_figures(small):
    review = _open_with_draft_summary(small)
    assert "SLA attainment was 40%" in review.executive_summary
    _late_actual(small)
    reviews.refresh_review(small.world.lead, review.id, TODAY)
    data = reviews.review_data(review)
    sla = next(tile for tile in data.tiles if tile.key == "sla")
    assert sla.value == 57.1
    assert "SLA attainment was 57%" in data.executive_summary
    assert "40%" not in data.executive_summary
    health = data.health.score
    assert f"with a health score of {health}" in data.executive_summary
    check = reviews.summary_check(review)
    assert not check.stale and check.changes == ()


def test_an_edited_summary_is_kept_flagged_stale_with_what_changed(small):
    review = _open_with_draft_summary(small)
    edited = "Attainment held at 40 %; we agreed a plan for C-01."
    reviews.update_review(
        small.world.lead,
        review.id,
        executive_summary=edited,
        featured_win_ids=[],
        expected_version=review.version,
    )
    assert not reviews.summary_check(review).stale, "written for the figures shown"
    _late_actual(small)
    reviews.refresh_review(small.world.lead, review.id, TODAY)
    assert review.executive_summary == edited, "the lead's words are never rewritten"
    check = reviews.summary_check(review)
    assert check.stale
    changes = {c.label: (c.written_for, c.now) for c in check.changes}
    assert changes["SLA attainment"] == ("40%", "57%")
    assert "SLA attainment: 40% → 57%" in check.text
    # Saving the summary again (checked by the lead) makes it current.
    reviews.update_review(
        small.world.lead,
        review.id,
        executive_summary=edited + " C-01 is now met.",
        featured_win_ids=[],
        expected_version=review.version,
    )
    assert not reviews.summary_check(review).stale


def test_a_stale_summary_is_issued_only_once_the_lead_confirms(small):
    review = _open_with_draft_summary(small)
    reviews.update_review(
        small.world.lead,
        review.id,
        executive_summary="Our own words about 40 %.",
        featured_win_ids=[],
        expected_version=review.version,
    )
    _late_actual(small)
    reviews.refresh_review(small.world.lead, review.id, TODAY)
    with pytest.raises(ValidationFailed, match="written for other figures"):
        issuing.submit_issue(small.world.lead, review.id)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Scorecard)) == 0
    issuing.submit_issue(small.world.lead, review.id, confirm_stale_summary=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Scorecard)) == 1


def test_the_command_line_leaves_a_stale_summary_for_the_lead(small):
    review = _open_with_draft_summary(small)
    reviews.update_review(
        small.world.lead, review.id, executive_summary="Our own words about 40 %.",
        featured_win_ids=[], expected_version=review.version,
    )  # fmt: skip
    _late_actual(small)
    reviews.refresh_review(small.world.lead, review.id, TODAY)
    outcome = batch.issue_one(small.world.partnership.id, OCT, TODAY, None, False)
    assert outcome.scorecard_id is None
    assert "written for other figures (" in outcome.error
    assert "SLA attainment: 40% → 57%" in outcome.error
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Scorecard)) == 0


def test_a_reissued_version_and_its_mail_carry_the_new_figures(small):
    review = _open_with_draft_summary(small)
    issuing.submit_issue(small.world.lead, review.id)
    _late_actual(small)
    reviews.refresh_review(small.world.lead, review.id, TODAY)
    issuing.submit_issue(small.world.lead, review.id)
    first, second = db.session.scalars(
        sa.select(Scorecard).where(Scorecard.review_id == review.id).order_by(Scorecard.version)
    ).all()
    assert "SLA attainment was 40%" in delivery.summarise(first).summary_paragraph
    mail = delivery.summarise(second)
    assert "SLA attainment was 57%" in mail.summary_paragraph
    assert "40%" not in mail.summary_paragraph
    assert any(t.label == "SLA attainment" and "57.1" in t.value for t in mail.tiles)


def test_the_review_page_shows_the_stale_summary_and_asks_to_confirm(client, small):
    review = _open_with_draft_summary(small)
    reviews.update_review(
        small.world.lead,
        review.id,
        executive_summary="Our own words about 40 %.",
        featured_win_ids=[],
        expected_version=review.version,
    )
    sign_in(client, small.world.lead.email)
    url = f"/partnerships/{small.world.partnership.id}/reviews/{review.id}"
    assert 'id="summary-stale"' not in client.get(url).get_data(as_text=True)
    _late_actual(small)
    refreshed = client.post(
        f"{url}/refresh", data={"csrf_token": csrf_token(client, url)}, follow_redirects=True
    )
    page = refreshed.get_data(as_text=True)
    assert "written for other figures" in page
    assert 'id="summary-stale"' in page
    assert "SLA attainment: 40% → <strong>57%</strong>" in page
    version = str(db.session.get(Review, review.id).version)
    issue_page = client.get(f"{url}/issue?version={version}").get_data(as_text=True)
    assert 'name="confirm_stale_summary"' in issue_page
    refused = client.post(
        f"{url}/issue",
        data={"csrf_token": csrf_token(client, url), "version": version, "confirm": "yes"},
        follow_redirects=True,
    )
    assert "Edit it, or confirm that it may be issued as it is" in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Scorecard)) == 0
    issued = client.post(
        f"{url}/issue",
        data={
            "csrf_token": csrf_token(client, url),
            "version": version,
            "confirm_stale_summary": "y",
            "confirm": "yes",
        },
    )
    assert issued.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Scorecard)) == 1


# ----------------------------------------------------------------------------- provisional


def _pages(pdf: bytes, tmp_path) -> list[str]:
    path = tmp_path / "scorecard.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return [page for page in text.split("\f") if page.strip()]


def _proposed_in_october(small: Small) -> None:
    """C-01's October actual entered by the provider and not confirmed yet."""
    add_measurement(small.c, OCT, 95, entered_by=small.world.provider)
    db.session.commit()


def test_the_issue_page_counts_the_proposed_actuals_and_links_to_confirm_them(client, small):
    _proposed_in_october(small)
    review = reviews.open_review(
        small.world.lead, small.world.partnership.id, kind=ReviewKind.MONTHLY,
        first_month=OCT, today=TODAY,
    )  # fmt: skip
    sign_in(client, small.world.lead.email)
    pid = small.world.partnership.id
    page = client.get(f"/partnerships/{pid}/reviews/{review.id}").get_data(as_text=True)
    box = page[page.index('id="proposed-actuals"') :]
    box = box[: box.index("</div>")]
    assert "1 SLA actual of this period is still proposed, not confirmed." in box
    assert f'href="/partnerships/{pid}/slas/actuals/2026-10"' in box
    assert "Confirm 1 actual of Oct 2026" in box
    assert "Issue version 1 as provisional" in page


def test_a_scorecard_issued_with_proposed_actuals_says_provisional_on_every_page(
    small, tmp_path, mailbox, client
):
    _proposed_in_october(small)
    review = reviews.open_review(
        small.world.lead, small.world.partnership.id, kind=ReviewKind.MONTHLY,
        first_month=OCT, today=TODAY,
    )  # fmt: skip
    data = reviews.review_data(review)
    assert data.slas.proposed == 1
    assert data.provisional.startswith("Provisional: 1 SLA actual of October 2026 was not")
    issuing.submit_issue(small.world.lead, review.id)
    scorecard = db.session.scalar(sa.select(Scorecard))
    pages = _pages(scorecard.pdf, tmp_path)
    assert len(pages) == scorecard.page_count >= 4
    assert [i for i, page in enumerate(pages, 1) if "PROVISIONAL" not in page] == []
    assert "PROVISIONAL · 1 SLA actual of October 2026 not confirmed" in pages[0]
    text = " ".join(" ".join(pages).split())
    assert "Provisional: 1 SLA actual of October 2026 was not confirmed" in text
    delivery.send_scorecard(small.world.lead, scorecard)
    assert mailbox
    for message in mailbox:
        subject = str(make_header(decode_header(message["Subject"])))
        assert subject.startswith("Provisional scorecard: Global Learning")
        said = "Provisional: 1 SLA actual of October 2026 was not confirmed"
        for part in message.walk():
            if part.get_content_type() in ("text/plain", "text/html"):
                body = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
                assert said in " ".join(body.split()), part.get_content_type()
    # The sponsor's acknowledgement page says so too.
    link = re.search(r"https?://\S+(/acknowledge/[\w.\-]+)", text_of(mailbox[0]))
    assert link, "no acknowledgement link"
    page = " ".join(client.get(link.group(1)).get_data(as_text=True).split())
    assert 'id="provisional"' in page and said in page


def test_a_scorecard_with_every_actual_confirmed_is_not_provisional(small, tmp_path):
    review = reviews.open_review(
        small.world.lead, small.world.partnership.id, kind=ReviewKind.MONTHLY,
        first_month=OCT, today=TODAY,
    )  # fmt: skip
    assert reviews.review_data(review).provisional is None
    issuing.submit_issue(small.world.lead, review.id)
    scorecard = db.session.scalar(sa.select(Scorecard))
    assert not any("PROVISIONAL" in page for page in _pages(scorecard.pdf, tmp_path))
    assert not delivery.summarise(scorecard).provisional


# ----------------------------------------------------------------------------- one story


def test_the_cover_features_only_wins_the_governance_page_lists(small):
    """One definition of the period's wins: a win of 25 Sep cannot be the October cover's
    top win while page 5 says no win was recorded in the period."""
    review = reviews.open_review(
        small.world.lead, small.world.partnership.id, kind=ReviewKind.MONTHLY,
        first_month=OCT, today=TODAY,
    )  # fmt: skip
    earlier = Win(
        partnership_id=small.world.partnership.id, title="Pilot renewed",
        won_on=dt.date(2026, 9, 25),
    )  # fmt: skip
    db.session.add(earlier)
    db.session.commit()
    assert [text for _, text in reviews.win_choices(review)] == ["Award shortlisted · 12 Oct 2026"]
    with pytest.raises(ValidationFailed, match="Feature wins of October 2026 only") as refused:
        reviews.update_review(
            small.world.lead, review.id, executive_summary="", featured_win_ids=[earlier.id],
            expected_version=review.version,
        )  # fmt: skip
    assert "“Pilot renewed” was won on 25 Sep 2026" in str(refused.value)
    reviews.update_review(
        small.world.lead, review.id, executive_summary="", featured_win_ids=[small.win.id],
        expected_version=review.version,
    )  # fmt: skip
    data = reviews.review_data(review)
    assert [w.title for w in data.featured_wins] == ["Award shortlisted"]
    assert {w.title for w in data.featured_wins} <= {w.title for w in data.governance.wins}
    html = " ".join(
        re.sub(
            r"<[^>]+>", " ", render_scorecard_html(data, ScorecardMeta(1, None, None), {})
        ).split()
    )
    assert "No win recorded in this period" not in html
    assert html.count("Award shortlisted") == 2, "on the cover and on the governance page"


def test_a_win_featured_before_the_rule_is_left_off_the_cover(small):
    review = reviews.open_review(
        small.world.lead, small.world.partnership.id, kind=ReviewKind.MONTHLY,
        first_month=OCT, today=TODAY,
    )  # fmt: skip
    earlier = Win(
        partnership_id=small.world.partnership.id, title="Pilot renewed",
        won_on=dt.date(2026, 9, 25),
    )  # fmt: skip
    review.featured_wins = [earlier, small.win]
    db.session.commit()
    assert [w.title for w in reviews.review_data(review).featured_wins] == ["Award shortlisted"]


def test_the_sla_grid_and_the_scorecard_show_the_at_risk_threshold_beside_the_target(client, small):
    """B-01: ≤ 24 h, at risk up to 48 h; 30 h in July is at risk only because of the 48."""
    sign_in(client, small.world.lead.email)
    page = client.get(f"/partnerships/{small.world.partnership.id}/slas/?to=2026-10")
    text = " ".join(re.sub(r"<[^>]+>", " ", page.get_data(as_text=True)).split())
    assert "B-01 · ≤ 24 h · at risk ≤ 48 h" in text
    assert "(target ≤ 24 hours, at risk ≤ 48 hours)" in page.get_data(as_text=True)
    detail = client.get(f"/partnerships/{small.world.partnership.id}/slas/{small.b.id}")
    text = " ".join(re.sub(r"<[^>]+>", " ", detail.get_data(as_text=True)).split())
    assert "≤ 24 h · at risk ≤ 48 h" in text, "the SLA's months, each with its target"
    review = reviews.open_review(
        small.world.lead, small.world.partnership.id, kind=ReviewKind.MONTHLY,
        first_month=OCT, today=TODAY,
    )  # fmt: skip
    html = render_scorecard_html(reviews.review_data(review), ScorecardMeta(1, None, None), {})
    row = html[html.index('<span class="code">B-01</span>') :]
    row = " ".join(re.sub(r"<[^>]+>", " ", row[: row.index("</tr>")]).split())
    assert "≤ 24 h · at risk ≤ 48 h" in row


def test_the_demo_scorecards_end_without_a_mostly_blank_page(app, tmp_path):
    """Global Learning Services' scorecard used to end on a page holding only "Wins: No win
    recorded in this period"; Compliance Academy's on one with two short tables."""
    demo_database(today=DEMO_TODAY)  # the day the other demo tests load (one load for all)
    lead = db.session.scalar(sa.select(User).where(User.email == "lead@example.com"))
    last_month = Month.of(DEMO_TODAY).previous()
    for name in ("Global Learning Services", "Compliance Academy"):
        review = db.session.scalars(
            sa.select(Review)
            .join(Partnership, Partnership.id == Review.partnership_id)
            .where(Partnership.name == name, Review.first_month == last_month)
        ).one()
        scorecard = issuing.issue_scorecard(lead, review)
        pages = _pages(scorecard.pdf, tmp_path)
        lines = [line for line in pages[-1].splitlines() if line.strip()]
        assert len(lines) >= 20, (name, len(pages), lines)
        data = reviews.review_data(review)
        listed = {win.title for win in data.governance.wins}
        assert {win.title for win in data.featured_wins} <= listed, name
