"""The SLA workflow in Chromium on the demo data: a lead defines an SLA, the provider
proposes last month's actual, the lead confirms it and the grid follows."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from mls_tracker.services.slas import this_month
from tests.browser_fixtures import sign_in, sign_out
from tests.live_server import LiveServer

pytestmark = pytest.mark.browser

# Elements (outside the grid's own scrolling box) that stick out of a 390 px screen.
WIDER_THAN_THE_SCREEN = """() => [...document.querySelectorAll('body *')]
  .filter(el => !el.closest('.sla-grid-scroll') && el.getBoundingClientRect().right > 392)
  .slice(0, 8).map(el => el.tagName + '.' + el.className)"""


def open_grid(page: Page) -> None:
    page.goto("/partnerships/")
    page.get_by_role("link", name="Global Learning Services").click()
    page.get_by_role("link", name="SLAs", exact=True).click()
    expect(page.get_by_role("heading", name="Actuals by month")).to_be_visible()
    page.wait_for_load_state("load")  # the stylesheets, before anything is measured


def test_define_propose_confirm_and_see_the_grid_follow(page: Page) -> None:
    last = this_month().previous()
    applies_from = this_month().shift(-4)

    sign_in(page, "lead@example.com")
    open_grid(page)
    page.get_by_role("link", name="New SLA").click()
    page.get_by_label("Name").fill("Learner onboarding call within two days")
    page.get_by_label("Code").fill("onb-99")
    page.get_by_label("Unit").select_option("%")
    page.get_by_label("Direction").select_option("higher is better")
    page.get_by_label("Target", exact=True).fill("90")
    page.get_by_label("At-risk threshold").fill("85")
    page.get_by_label("Target applies from").fill(str(applies_from))
    page.get_by_role("button", name="Create SLA").click()
    expect(
        page.get_by_role("heading", name="Learner onboarding call within two days")
    ).to_be_visible()
    expect(page.locator("#target-history")).to_contain_text(f"{applies_from.label} – now")
    sign_out(page)

    sign_in(page, "provider@example.com")
    open_grid(page)
    page.get_by_role("link", name=f"Enter actuals for {last.label}").click()
    page.get_by_label(f"ONB-99 actual for {last.label}").fill("93.5")
    page.get_by_role("button", name="Save actuals").click()
    expect(page.get_by_text("a lead will confirm them")).to_be_visible()
    cell = page.locator(f'tr[data-sla="ONB-99"] td[data-month="{last}"]')
    expect(cell).to_contain_text("93.5%")
    expect(cell).to_contain_text("met")
    expect(cell).to_contain_text("proposed")
    sign_out(page)

    sign_in(page, "lead@example.com")
    open_grid(page)
    page.get_by_role("link", name=f"Enter actuals for {last.label}").click()
    page.get_by_label("Confirm ONB-99").check()
    page.get_by_role("button", name="Save actuals").click()
    expect(page.get_by_text(f"Saved for {last.label}: 1 confirmed.")).to_be_visible()
    cell = page.locator(f'tr[data-sla="ONB-99"] td[data-month="{last}"]')
    expect(cell).to_contain_text("93.5%")
    expect(cell).to_contain_text("● met")
    expect(cell).not_to_contain_text("proposed")
    expect(cell).not_to_have_class(re.compile("is-proposed"))


def test_the_grid_fits_a_phone_and_scrolls_inside_its_box(
    browser: Browser, live_server: LiveServer, demo: None
) -> None:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        sign_in(page, "sponsor@example.com")
        open_grid(page)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        wide = page.evaluate(WIDER_THAN_THE_SCREEN)
        assert overflow <= 0, f"the SLA page scrolls sideways by {overflow}px {wide}"
        box = page.locator(".sla-grid-scroll")
        assert box.evaluate("el => el.scrollWidth > el.clientWidth"), "the grid scrolls in its box"
        name = page.locator("tbody th.sla-col").first
        before = name.bounding_box()["x"]
        box.evaluate("el => el.scrollBy(200, 0)")
        assert name.bounding_box()["x"] == before, "the SLA name column stays put"
    finally:
        context.close()
