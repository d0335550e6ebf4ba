"""The queues and the inbox in Chromium on the demo data: the lead verifies an item from their
verification queue (it leaves the queue, the count drops); the provider opens a notification
from the inbox (it lands on the item and is read)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from mls_tracker.extensions import db
from mls_tracker.models import CLOSED_STATUSES, ActionItem, ActionStatus, User
from mls_tracker.periods import utc_today
from mls_tracker.services import actions
from tests.browser_fixtures import shoot, sign_in, sign_out

pytestmark = pytest.mark.browser


def _count(page: Page, which: str) -> int:
    badge = page.locator(f"#nav-{which}-count")
    return int(re.sub(r"\D", "", badge.inner_text())) if badge.count() else 0


def _waiting(page: Page) -> int:
    found = re.search(r"(\d+) waiting", page.locator(".lead-text").first.inner_text())
    return int(found.group(1)) if found else 0


def test_the_lead_verifies_from_the_queue(page: Page) -> None:
    sign_in(page, "lead@example.com")
    page.get_by_role("link", name=re.compile(r"^Queues")).click()
    expect(page.get_by_role("heading", name="Awaiting my verification")).to_be_visible()
    before = _count(page, "queues")
    waiting = _waiting(page)
    assert waiting >= 1 and before >= waiting
    shoot(page, "queue-verification")
    row = page.locator("#queue-table tbody tr").first
    row_id = row.get_attribute("id")
    first = row.locator("a").first
    title = first.inner_text()
    first.click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    page.get_by_role("button", name="Verify as done").click()
    page.get_by_role("link", name=re.compile(r"^Queues")).click()
    expect(page.locator(f"#{row_id}")).to_have_count(0)
    assert _waiting(page) == waiting - 1
    assert _count(page, "queues") == before - 1
    page.get_by_role("link", name=re.compile(r"^Actuals to confirm")).click()
    expect(page.get_by_role("heading", name="Actuals to confirm")).to_be_visible()
    shoot(page, "queue-actuals")


def test_the_provider_opens_a_notification(page: Page) -> None:
    lead = db.session.scalar(sa.select(User).where(User.email == "lead@example.com"))
    provider = db.session.scalar(sa.select(User).where(User.email == "provider@example.com"))
    item = db.session.scalar(
        sa.select(ActionItem)
        .where(ActionItem.owner_id == provider.id, ActionItem.status.not_in(CLOSED_STATUSES))
        .order_by(ActionItem.id)
        .limit(1)
    )
    actions.post_update(
        lead,
        item,
        today=utc_today(),
        status=ActionStatus.BLOCKED
        if item.status != ActionStatus.BLOCKED
        else ActionStatus.IN_PROGRESS,
        note="Blocked until the venue is booked",
        evidence_url=None,
        expected_version=item.version,
    )
    title = item.title
    db.session.remove()

    sign_in(page, "provider@example.com")
    assert _count(page, "inbox") == 1
    page.get_by_role("link", name=re.compile(r"^Inbox")).click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    shoot(page, "inbox")
    page.get_by_role("button", name=re.compile("Blocked until the venue is booked")).click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    assert _count(page, "inbox") == 0
    page.get_by_role("link", name=re.compile(r"^Inbox")).click()
    expect(page.locator(".inbox-unread")).to_have_count(0)
    page.get_by_role("link", name=re.compile(r"^Queues")).click()
    expect(page.get_by_role("heading", name="Returned to me")).to_be_visible()
    page.get_by_role("link", name=re.compile(r"^Due this week")).click()
    shoot(page, "queue-due")
    sign_out(page)
