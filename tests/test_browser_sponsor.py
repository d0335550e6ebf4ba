"""The sponsor's side in Chromium on the demo data (with its issued scorecards): the sponsor's
home lists the scorecard waiting for them, they open it, acknowledge it with a comment (the
counter counts as they type) and it moves to Acknowledged; the lead then sees it read and
acknowledged, with the comment, on the review page, and the e-mailed link shows the same
acknowledgement. With SHOTS_DIR set, the sponsor's home and
the acknowledgement page are photographed at 1366 and 390 px wide."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page, expect

from mls_tracker.extensions import db
from mls_tracker.models import ScorecardDelivery
from mls_tracker.scorecards import delivery as delivery_service
from tests.browser_fixtures import shoot, sign_in, sign_out
from tests.demo_snapshot import demo_database

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(app: Flask) -> None:
    demo_database()  # with the demo's issued scorecards


def test_a_sponsor_reads_and_acknowledges_and_the_lead_sees_it(page: Page, app: Flask) -> None:
    sign_in(page, "sponsor@example.com")
    inbox = page.locator("#sponsor-inbox")
    expect(inbox.get_by_role("heading", name="Scorecards waiting for you")).to_be_visible()
    waiting = inbox.locator(".inbox-item").filter(has_text="Global Learning Services")
    expect(waiting).to_have_count(1)
    expect(waiting).to_contain_text("not opened yet")
    expect(page.get_by_role("heading", name="Portfolio", level=1)).to_be_visible()
    shoot(page, "sponsor-1-home-waiting")

    waiting.get_by_role("link", name=re.compile("Read and acknowledge")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Scorecard")
    expect(page.locator("#cover")).to_contain_text("Health score")
    expect(page.get_by_role("link", name="Download the PDF")).to_be_visible()
    review_url = page.get_by_role("link", name="The review's figures").get_attribute("href")
    comment = page.get_by_label("Comment (optional)")
    counter = page.locator("#comment-counter")
    expect(counter).to_have_text("0 of 2,000 characters")
    shoot(page, "sponsor-2-acknowledge-form")
    comment.fill("Good progress on CSAT — let us discuss LATAM coverage.")
    expect(counter).to_have_text("54 of 2,000 characters")
    page.get_by_role("button", name="Mark as reviewed").click()
    expect(page.locator(".alert-success").first).to_contain_text("marked as reviewed")
    expect(page.locator("#acknowledged")).to_contain_text("let us discuss LATAM coverage")
    expect(page.get_by_role("button", name="Update the comment")).to_be_visible()
    shoot(page, "sponsor-3-acknowledged")

    page.goto("/")
    done = page.locator("#acknowledged")
    expect(done).to_contain_text("Global Learning Services")
    expect(done).to_contain_text("let us discuss LATAM coverage")
    expect(page.locator("#waiting").filter(has_text="Global Learning Services")).to_have_count(0)
    shoot(page, "sponsor-4-home-acknowledged")
    sign_out(page)

    sign_in(page, "lead@example.com")
    page.goto(review_url)
    latest = page.locator(".scorecard-version").first
    expect(latest.locator(".distribution-count")).to_contain_text("1 of 1 acknowledged")
    row = latest.locator(".deliveries-table tbody tr").filter(has_text="Henrik Bauer")
    expect(row).to_contain_text("let us discuss LATAM coverage")
    expect(row.locator("td[data-label='Read']")).to_contain_text("UTC")
    expect(row.locator("td[data-label='Acknowledged']")).to_contain_text("UTC")
    expect(row).to_contain_text("In the app")
    shoot(page, "sponsor-5-lead-distribution")
    sign_out(page)

    # The e-mailed link still works, signed out, and shows the same acknowledgement.
    db.session.expire_all()
    delivery = db.session.scalar(
        sa.select(ScorecardDelivery).where(ScorecardDelivery.email == "sponsor@example.com")
    )
    with app.test_request_context():
        token = delivery_service.acknowledgement_token(delivery.id)
    page.goto(f"/acknowledge/{token}")
    expect(page.get_by_role("status").filter(has_text="Reviewed on")).to_contain_text(
        "let us discuss LATAM coverage"
    )
    expect(page.locator("#comment-counter")).to_have_text("54 of 2,000 characters")
    shoot(page, "sponsor-6-emailed-link")
