"""Forms in Chromium (issue 20), on the log-a-win form of the demo: the error summary takes the
focus and links to each field, the title counts its characters, the date is typed as pages
show it and the calendar button writes the day it picks back in that format."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from mls_tracker.formatting import day
from mls_tracker.periods import utc_today
from tests.browser_fixtures import shoot, sign_in

pytestmark = pytest.mark.browser


def test_log_a_win_typing_its_date_with_a_counter_and_the_error_summary(page: Page) -> None:
    typed = utc_today() - dt.timedelta(days=2)
    picked = utc_today() - dt.timedelta(days=3)
    sign_in(page, "lead@example.com")
    page.goto("/partnerships/")
    page.get_by_role("link", name="Global Learning Services").click()
    page.get_by_role("link", name="Wins", exact=True).click()
    page.get_by_role("link", name="Log a win").click()
    date = page.get_by_label("Date of the win")
    expect(date).to_have_value(day(utc_today()))

    # Every problem at once, in a summary that takes the focus and leads to each field.
    date.fill("")
    page.get_by_role("button", name="Log win").click()
    summary = page.locator("#form-errors")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading")).to_have_text("There are 2 problems")
    shoot(page, "win-form-errors")
    summary.get_by_role("link", name="Enter a title for the win.").click()
    expect(page.get_by_label("Title")).to_be_focused()

    page.get_by_label("Title").press_sequentially("Onboarding time halved")
    expect(page.locator("#title-counter")).to_have_text("22 of 200 characters")
    date.fill(day(typed))
    expect(page.get_by_role("button", name="Calendar")).to_be_visible()
    shoot(page, "win-form-date-counter")
    # What the native picker does when a day is chosen in it (headless Chromium draws none).
    page.locator("#won_on-ctr .date-picker-native").evaluate(
        "(picker, value) => { picker.value = value; picker.dispatchEvent(new Event('change')); }",
        picked.isoformat(),
    )
    expect(date).to_have_value(day(picked))
    page.get_by_role("button", name="Log win").click()
    expect(page.get_by_role("heading", name="Onboarding time halved")).to_be_visible()
    expect(page.locator("p.lead-text").first).to_contain_text(day(picked))
