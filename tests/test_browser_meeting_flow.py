"""The daily flow of a meeting in Chromium on the demo data: a second monthly meeting for the
same month is refused next to its field and kept once ticked as extra; its time is shown in the
lead's zone; "Add an action" returns to the meeting on Cancel and on save; approving the minutes
goes through a page that says what locks, after which the meeting offers no edits."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from mls_tracker.formatting import day
from mls_tracker.periods import Month, utc_today
from tests.browser_fixtures import shoot, sign_in
from tests.test_browser_meetings import open_meetings

pytestmark = pytest.mark.browser


def test_plan_an_extra_meeting_add_an_action_and_approve_with_confirmation(page: Page) -> None:
    today = utc_today()
    sign_in(page, "lead@example.com")
    open_meetings(page)
    expect(page.locator("#meeting-counts")).to_contain_text(re.compile(r"\d+ meetings, 1 planned"))
    shoot(page, "meetings-list")

    # The demo has planned the meeting reviewing last month: a second one is refused…
    page.get_by_role("link", name="Plan a meeting").click()
    page.get_by_label("Date and start time").fill(f"{today.isoformat()} 10:30")
    page.get_by_label("Length in minutes").fill("45")
    page.get_by_label("Place or video link").fill("https://meet.example.com/gls-extra")
    page.get_by_label("Month reviewed").fill(str(Month.of(today).previous()))
    page.get_by_role("button", name="Plan meeting").click()
    error = page.locator("#reviewed_month").locator("xpath=..")
    expect(error).to_contain_text("There is already a monthly meeting reviewing")
    expect(page.get_by_label("Date and start time")).to_have_value(f"{day(today)} 10:30")
    shoot(page, "meeting-form-duplicate")
    # … unless it is meant.
    page.get_by_label("This is an extra meeting").check()
    page.get_by_role("button", name="Plan meeting").click()
    expect(page.get_by_role("status")).to_contain_text("Meeting planned")
    expect(page.locator("h1")).to_contain_text("Extra meeting")
    expect(page.locator("#meeting-when")).to_have_text(re.compile(rf"{day(today)} 10:30–11:15 \S+"))
    meeting_url = page.url
    shoot(page, "meeting-page")

    # Sending the invitations asks first, listing who gets one.
    page.get_by_role("link", name="Send invitations").click()
    expect(page.locator("#invitation-recipients")).to_contain_text("lead@example.com")
    shoot(page, "meeting-invitations")
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(meeting_url)

    # Add an action: Cancel comes back to the meeting…
    page.get_by_role("link", name="Add an action").click()
    page.get_by_label("Title").fill("Not this one")
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(re.compile(re.escape(meeting_url) + r"(#actions)?$"))
    # … and so does saving.
    page.get_by_role("link", name="Add an action").click()
    page.get_by_label("Title").fill("Send the outage timeline")
    page.get_by_role("button", name="Add action").click()
    expect(page).to_have_url(re.compile(re.escape(meeting_url) + r"(#actions)?$"))
    expect(page.get_by_role("status")).to_contain_text("Action “Send the outage timeline” added.")
    expect(page.locator("#actions")).to_contain_text("Send the outage timeline")
    expect(page.locator("#actions")).not_to_contain_text("Not this one")

    # Held, then approved through the confirmation page.
    page.get_by_role("link", name="Hold the meeting").click()
    page.get_by_label("Minutes").fill("Agreed the outage timeline.")
    page.get_by_role("button", name="Record as held").click()
    page.get_by_role("link", name="Approve the minutes…").click()
    expect(page.locator("#confirm-warning")).to_contain_text("This cannot be undone.")
    shoot(page, "meeting-approve")
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(meeting_url)
    expect(page.get_by_role("link", name="Edit the record")).to_be_visible()
    page.get_by_role("link", name="Approve the minutes…").click()
    page.get_by_role("button", name="Approve and lock the minutes").click()
    expect(page.get_by_role("status")).to_contain_text("Minutes approved")
    expect(page.get_by_role("link", name="Add an action")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit the record")).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("Approve the minutes"))).to_have_count(0)
