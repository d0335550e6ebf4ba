"""The pages as a person sees them, in headless Chromium against a live server."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from tests import factories
from tests.live_server import LiveServer

pytestmark = pytest.mark.browser

# Chromium reports CSP violations in the console already; this makes them unmistakable
# (and also catches violations the console would word differently).
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
});
"""


@pytest.fixture
def browser_page(browser: Browser, live_server: LiveServer, app: Flask) -> Iterator[Page]:
    """A fresh page (its own cookies) whose relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 768})
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def console_errors(browser_page: Page) -> list[str]:
    """Console errors and uncaught exceptions of ``browser_page``, as they happen."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in {"error", "warning"}:
            errors.append(f"{message.type}: {message.text} ({browser_page.url})")

    browser_page.on("console", on_console)
    browser_page.on("pageerror", lambda error: errors.append(f"exception: {error}"))
    return errors


def sign_in(page: Page, email: str, password: str = factories.PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_lead_signs_in_and_sees_only_their_partnerships(
    world: factories.World, browser_page: Page
) -> None:
    page = browser_page
    page.goto("/partnerships/")
    expect(page.get_by_role("heading", name="Sign in to MLS Tracker")).to_be_visible()

    sign_in(page, "lead@test.example")

    expect(page).to_have_url(re.compile(r"/portfolio$"))  # the home page after sign-in
    page.get_by_role("link", name="Partnerships", exact=True).click()
    expect(page).to_have_url(re.compile(r"/partnerships/$"))
    expect(page.get_by_role("heading", name="Partnerships")).to_be_visible()
    expect(page.get_by_role("link", name="Global Learning")).to_be_visible()
    expect(page.get_by_text("Other Programme")).to_have_count(0)
    row = page.get_by_role("row").filter(has_text="Global Learning")
    expect(row).to_contain_text("Lead")
    expect(row).to_contain_text("USD 1,200,000")
    expect(row).to_contain_text("1 Jan 2025")
    expect(page.get_by_role("button", name=re.compile("Lead"))).to_be_visible()


def test_wrong_password_shows_one_generic_error_and_keeps_the_email(
    world: factories.World, browser_page: Page
) -> None:
    page = browser_page
    sign_in(page, "lead@test.example", "not-the-password")

    expect(page).to_have_url(re.compile(r"/login"))
    alert = page.get_by_role("alert")
    expect(alert).to_have_count(1)
    expect(alert).to_be_visible()
    wrong_password_message = alert.inner_text().strip()
    assert wrong_password_message
    expect(page.locator(".invalid-feedback")).to_have_count(0)
    expect(page.get_by_label("E-mail address")).to_have_value("lead@test.example")
    expect(page.get_by_label("Password")).to_have_value("")

    # Generic: an unknown address gets exactly the same words, so nobody learns who has
    # an account.
    sign_in(page, "nobody@test.example", "not-the-password")
    expect(page.get_by_role("alert")).to_have_count(1)
    expect(page.get_by_role("alert")).to_have_text(wrong_password_message)
    expect(page.get_by_label("E-mail address")).to_have_value("nobody@test.example")


def test_sign_out_from_the_navbar_ends_the_session(
    world: factories.World, browser_page: Page
) -> None:
    page = browser_page
    sign_in(page, "lead@test.example")
    expect(page).to_have_url(re.compile(r"/portfolio$"))  # the home page after sign-in
    # The URL changes before the page's scripts run; the menu opens once Bootstrap's have.
    page.wait_for_load_state("load")

    page.get_by_role("button", name=re.compile("Lead")).click()
    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("heading", name="Sign in to MLS Tracker")).to_be_visible()

    page.goto("/partnerships/")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("heading", name="Sign in to MLS Tracker")).to_be_visible()
    expect(page.get_by_text("Global Learning")).to_have_count(0)


def test_list_and_partnership_pages_have_no_console_errors(
    world: factories.World, browser_page: Page, console_errors: list[str]
) -> None:
    page = browser_page
    sign_in(page, "lead@test.example")
    expect(page.get_by_role("link", name="Global Learning")).to_be_visible()  # the portfolio
    page.goto("/partnerships/")
    page.get_by_role("link", name="Status").click()  # a sortable column
    expect(page).to_have_url(re.compile(r"sort=status"))

    page.get_by_role("link", name="Global Learning").click()
    expect(page.get_by_role("heading", name="Global Learning", level=1)).to_be_visible()
    page.get_by_role("link", name="People", exact=True).click()  # the facts moved to this tab
    expect(page.get_by_text("EMEA").first).to_be_visible()
    expect(page.get_by_role("link", name="Invite someone")).to_be_visible()
    page.get_by_role("button", name=re.compile("Lead")).click()  # Bootstrap's JavaScript runs
    expect(page.get_by_role("link", name="Change password")).to_be_visible()

    assert console_errors == []


def test_pages_fit_a_phone_screen(
    world: factories.World, browser: Browser, live_server: LiveServer
) -> None:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        sign_in(page, "lead@test.example")
        expect(page.get_by_role("link", name="Global Learning")).to_be_visible()
        partnership_url = page.get_by_role("link", name="Global Learning").get_attribute("href")
        for url in ["/portfolio", "/partnerships/", partnership_url, "/nowhere"]:
            page.goto(url)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{url} scrolls sideways by {overflow}px at 390px wide"
    finally:
        context.close()
