"""The partnership overview in Chromium on the demo data: the lead sees the health score and
the four tiles, every chart draws, nothing sticks out at phone width, and the CSP holds
(the ``page`` fixture fails on any console error or violation)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from mls_tracker.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser

TILES = ("tile-health", "tile-sla", "tile-satisfaction", "tile-actions", "tile-coverage")


def sign_in(page: Page, email: str) -> None:
    """Sign in wherever the home page is (the partnership list or the portfolio)."""
    page.goto("/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def open_overview(page: Page) -> None:
    page.goto("/partnerships/")
    page.get_by_role("link", name="Global Learning Services").first.click()
    # plotly.js is large: on a busy machine the first visit takes a while to parse it.
    heading = page.get_by_role("heading", name="Global Learning Services", level=1)
    expect(heading).to_be_visible(timeout=30_000)
    page.wait_for_load_state("load", timeout=30_000)


def test_the_lead_sees_the_tiles_and_every_chart_drawn(page: Page) -> None:
    sign_in(page, "lead@example.com")
    open_overview(page)
    for tile in TILES:
        expect(page.locator(f"#{tile}")).to_be_visible()
    expect(page.locator("#tile-sla")).to_contain_text("SLA attainment")
    expect(page.locator("#reviewed-month")).to_contain_text("the last complete month")
    expect(page.get_by_role("heading", name="Needs attention")).to_be_visible()
    expect(page.get_by_role("link", name="Health weights")).to_be_visible()
    charts = page.locator("[data-chart]")
    count = charts.count()
    assert count == 7
    for index in range(count):
        chart = charts.nth(index)
        chart.scroll_into_view_if_needed()
        expect(chart.locator(".plot-container svg").first).to_be_attached(timeout=15_000)
    expect(page.get_by_role("link", name="Download data of Health score (CSV)")).to_be_visible()


def test_the_overview_fits_a_phone(page: Page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "sponsor@example.com")
    open_overview(page)
    expect(page.locator("#tile-health")).to_be_visible()
    expect(page.get_by_role("link", name="Health weights")).to_have_count(0)
    expect(page.locator("[data-chart] .plot-container").first).to_be_attached(timeout=15_000)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the overview scrolls sideways by {overflow}px at 390px wide"
