"""The meeting workflow in Chromium on the demo data: the lead plans a meeting and sees an
overdue item on its agenda, holds it with attendance and three actions; the provider marks one
done with a note; the lead verifies it; the next meeting's agenda carries the other two."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from mls_tracker.periods import Month, utc_today
from tests.browser_fixtures import sign_in, sign_out

pytestmark = pytest.mark.browser

ACTIONS = ("Publish the LMS outage report", "Train the APAC coordinators", "Renew the SSO cert")


def open_meetings(page: Page) -> None:
    page.goto("/partnerships/")
    page.get_by_role("link", name="Global Learning Services").click()
    page.get_by_role("link", name="Meetings", exact=True).click()
    expect(page.get_by_role("heading", name="Governance meetings")).to_be_visible()


def test_plan_hold_act_verify_and_carry_to_the_next_meeting(page: Page) -> None:
    today = utc_today()

    # The lead plans today's meeting; its agenda shows an overdue action with its carry count.
    sign_in(page, "lead@example.com")
    open_meetings(page)
    page.get_by_role("link", name="Plan a meeting").click()
    page.get_by_label("Date and start time").fill(f"{today.isoformat()} 10:00")
    page.get_by_label("Kind of meeting").select_option("monthly")
    page.get_by_label("Month reviewed").fill(str(Month.of(today).previous()))
    # The demo has planned this month's meeting already: this one is kept as an extra meeting.
    page.get_by_label("This is an extra meeting").check()
    page.get_by_role("button", name="Plan meeting").click()
    expect(page.get_by_role("status")).to_contain_text("Meeting planned")
    overdue = page.locator(".agenda-item-overdue").first
    expect(overdue.locator(".badge-overdue")).to_have_text("Overdue")
    overdue_title = overdue.locator(".agenda-item-title").inner_text().removeprefix("OVERDUE")
    overdue_title = overdue_title.replace("Overdue", "", 1).strip()
    detail = overdue.locator(".agenda-item-detail").inner_text()
    match = re.search(r"carried (\d+)×", detail)
    carried_before = int(match.group(1)) if match else 0
    meeting_url = page.url

    # Hold it: attendance and minutes.
    page.get_by_role("link", name="Hold the meeting").click()
    page.get_by_label(re.compile(r"^Dana Whitfield")).check()
    page.get_by_label(re.compile(r"^Ravi Menon")).check()
    page.get_by_label("Minutes").fill("Reviewed last month's SLAs and the open actions.")
    page.get_by_label("Challenges raised").fill("LMS outages\nAPAC onboarding backlog")
    page.get_by_role("button", name="Record as held").click()
    expect(page.get_by_role("status")).to_contain_text("Meeting recorded as held")
    expect(page.locator("#attendance")).to_contain_text("Present")
    expect(page.locator("#challenges")).to_contain_text("APAC onboarding backlog")

    # Three actions of the meeting, through the action pages.
    for title in ACTIONS:
        page.goto(meeting_url)
        page.get_by_role("link", name="Add an action").click()
        page.get_by_label("Title").fill(title)
        page.get_by_role("button", name="Add action").click()
        expect(page.get_by_role("status")).to_contain_text(f"Action “{title}” added.")
    page.goto(meeting_url)
    for title in ACTIONS:
        expect(page.locator("#actions")).to_contain_text(title)
    done_url = page.locator("#actions").get_by_role("link", name=ACTIONS[0]).get_attribute("href")
    sign_out(page)

    # The provider marks the first one done with a note.
    sign_in(page, "provider@example.com")
    page.goto(done_url)
    page.locator("#update-form").get_by_label("Status").select_option("done")
    page.locator("#update-form").get_by_label("Progress note").fill("Report sent to all leads.")
    page.get_by_role("button", name="Post update").click()
    expect(page.get_by_role("status")).to_contain_text("Update posted.")
    sign_out(page)

    # The lead verifies it, approves the minutes and refreshes the next meeting's agenda.
    sign_in(page, "lead@example.com")
    page.goto(done_url)
    page.get_by_role("link", name="Verify as done").click()
    page.get_by_role("button", name="Verify as done").click()
    expect(page.get_by_role("status")).to_contain_text("Verified as done.")
    page.goto(meeting_url)
    page.get_by_role("link", name="Approve the minutes…").click()
    page.get_by_role("button", name="Approve and lock the minutes").click()
    expect(page.get_by_role("status")).to_contain_text("Minutes approved")
    expect(page.get_by_role("link", name="Edit the record")).to_have_count(0)

    open_meetings(page)
    page.locator("#next-meeting a").click()
    page.get_by_role("button", name="Refresh from the data").click()
    expect(page.get_by_role("status")).to_contain_text("Agenda refreshed")
    agenda = page.locator("#agenda")
    for title in ACTIONS[1:]:
        expect(agenda).to_contain_text(title)
    expect(agenda).not_to_contain_text(ACTIONS[0])
    carried = agenda.locator(".agenda-item", has_text=overdue_title).first
    expect(carried).to_contain_text(f"carried {carried_before + 1}×")
