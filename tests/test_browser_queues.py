"""The queues and the inbox in Chromium on the demo data, each walked by the role that uses it:
the lead verifies an item, confirms an actual and confirms a survey import from their queues;
the provider closes an item returned to them and one due this week; the provider opens a
notification from the inbox (it lands on the item and is read). Each time the item leaves the
queue and the navigation's count drops."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from mls_tracker.extensions import db
from mls_tracker.models import CLOSED_STATUSES, ActionItem, ActionStatus, Partnership, User
from mls_tracker.periods import utc_today
from mls_tracker.services import actions
from mls_tracker.services import survey_import as imports
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
    page.get_by_role("link", name="Verify as done").click()
    expect(page.locator("#confirm-warning")).to_contain_text("cannot be taken back")
    shoot(page, "confirm-verify")
    page.get_by_role("button", name="Verify as done").click()
    expect(page.get_by_role("status")).to_contain_text("Verified as done.")
    page.get_by_role("link", name="Back to the queue").click()
    expect(page.get_by_role("heading", name="Awaiting my verification")).to_be_visible()
    expect(page.locator(f"#{row_id}")).to_have_count(0)
    assert _waiting(page) == waiting - 1
    assert _count(page, "queues") == before - 1


def _open_queue(page: Page, title: str) -> tuple[int, int]:
    """The queue ``title`` of the signed-in user; (its length, the navigation's count)."""
    page.get_by_role("link", name=re.compile(r"^Queues")).click()
    page.locator(".queue-tabs").get_by_role("link", name=re.compile(f"^{title}")).click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    return _waiting(page), _count(page, "queues")


def _first_row(page: Page, title: str | None = None) -> tuple[str, str]:
    """The id of the first row (or of the first row titled ``title``), and a click on its
    link."""
    rows = page.locator("#queue-table tbody tr")
    row = (
        rows.filter(has=page.get_by_role("link", name=title, exact=True)) if title else rows
    ).first
    row_id = row.get_attribute("id") or ""
    link = row.locator("a").first
    title = link.inner_text()
    link.click()
    return row_id, title


def _left_the_queue(page: Page, row_id: str, waiting: int, before: int) -> None:
    """Back on the queue: the row is gone, one fewer waits, and the navigation counts fewer
    (an overdue item closed from "Returned to me" leaves "Due this week or overdue" too)."""
    expect(page.locator(f"#{row_id}")).to_have_count(0)
    assert _waiting(page) == waiting - 1
    assert _count(page, "queues") < before


def test_the_lead_confirms_an_actual_from_the_queue(page: Page) -> None:
    sign_in(page, "lead@example.com")
    waiting, before = _open_queue(page, "Actuals to confirm")
    assert waiting >= 1 and before >= waiting
    shoot(page, "queue-actuals")
    row_id, title = _first_row(page)
    expect(page.get_by_role("heading", name=re.compile("^Actuals for"))).to_be_visible()
    page.get_by_label(f"Confirm {title.split(' — ')[0]}", exact=True).check()
    page.get_by_role("button", name="Save actuals").click()
    # Saved from the page the queue opened: back on the queue.
    expect(page.get_by_role("heading", name="Actuals to confirm")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("1 confirmed")
    _left_the_queue(page, row_id, waiting, before)


def test_the_lead_confirms_a_survey_import_from_the_queue(page: Page) -> None:
    provider = db.session.scalar(sa.select(User).where(User.email == "provider@example.com"))
    partnership = db.session.scalar(
        sa.select(Partnership).where(Partnership.name == "Global Learning Services")
    )
    staged = imports.stage_upload(
        provider,
        partnership.id,
        io.BytesIO(b"response_id,submitted_at,rating\nQ1,2026-03-01,4\nQ2,2026-03-02,5\n"),
        "provider-march.csv",
    )
    imports.commit_upload(
        provider, staged, imports.default_mapping(imports.open_staged(staged), None)
    )
    db.session.remove()

    sign_in(page, "lead@example.com")
    waiting, before = _open_queue(page, "Survey imports to confirm")
    assert waiting >= 1 and before >= waiting
    shoot(page, "queue-imports")
    row_id, _ = _first_row(page, "provider-march.csv")
    expect(page.locator("#import-history")).to_contain_text("provider-march.csv")
    page.get_by_role("button", name="Confirm the import of provider-march.csv").click()
    expect(page.get_by_role("heading", name="Survey imports to confirm")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Import of provider-march.csv confirmed")
    _left_the_queue(page, row_id, waiting, before)


def _close_from_the_queue(page: Page, title: str) -> None:
    """The provider opens the queue's first item, marks it done and goes back to the queue."""
    waiting, before = _open_queue(page, title)
    assert waiting >= 1 and before >= waiting
    row_id, item = _first_row(page)
    expect(page.get_by_role("heading", name=item)).to_be_visible()
    form = page.locator("#update-form")
    form.get_by_label("Status").select_option("done")
    form.get_by_label("Progress note").fill("Delivered; the report is on the portal.")
    page.get_by_role("button", name="Post update").click()
    expect(page.get_by_role("status")).to_contain_text("Update posted.")
    page.get_by_role("link", name="Back to the queue").click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    _left_the_queue(page, row_id, waiting, before)


def test_the_provider_closes_an_item_returned_to_them(page: Page) -> None:
    lead = db.session.scalar(sa.select(User).where(User.email == "lead@example.com"))
    provider = db.session.scalar(sa.select(User).where(User.email == "provider@example.com"))
    item = db.session.scalar(
        sa.select(ActionItem)
        .where(ActionItem.owner_id == provider.id, ActionItem.status == ActionStatus.DONE)
        .order_by(ActionItem.id)
        .limit(1)
    )
    actions.reopen_action(
        lead, item, reason="The APAC figures are missing.", expected_version=item.version
    )
    db.session.remove()

    sign_in(page, "provider@example.com")
    _close_from_the_queue(page, "Returned to me")


def test_the_provider_closes_an_item_due_this_week(page: Page) -> None:
    sign_in(page, "provider@example.com")
    _close_from_the_queue(page, "Due this week or overdue")


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
    page.get_by_role("link", name="Back to the inbox").click()
    expect(page.locator(".inbox-unread")).to_have_count(0)
    page.get_by_role("link", name=re.compile(r"^Queues")).click()
    expect(page.get_by_role("heading", name="Returned to me")).to_be_visible()
    page.get_by_role("link", name=re.compile(r"^Due this week")).click()
    shoot(page, "queue-due")
    sign_out(page)
