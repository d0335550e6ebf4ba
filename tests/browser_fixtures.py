"""Fixtures and steps shared by the browser tests: the app served on 127.0.0.1, one
Chromium per module, a page on the demo data that fails the test on any console error or CSP
violation, and signing in and out through the navbar."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect, sync_playwright

from mls_tracker.chromium import CHROMIUM_ARGS, CHROMIUM_PATH
from mls_tracker.demo import DEMO_PASSWORD
from tests.demo_snapshot import demo_database
from tests.live_server import LiveServer


@pytest.fixture(scope="module")
def live_server(session_app: Flask) -> Iterator[LiveServer]:
    with LiveServer(session_app) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM_PATH.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM_PATH} is missing; `make test` installs it")
        pytest.skip(f"{CHROMIUM_PATH} is not installed (`make test` installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM_PATH), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def demo(app: Flask) -> None:
    demo_database(issued_months=0)  # no scorecards: a browser test issues its own


def watch_errors(page: Page) -> list[str]:
    """The page's script errors, console errors and warnings (CSP violations among them), as
    they happen: a browser test asserts the list is empty at its end."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type in {"error", "warning"} else None)
    return errors


def shoot(page: Page, name: str) -> None:
    """With SHOTS_DIR set, the whole page photographed at 1366 and 390 px wide."""
    folder = os.environ.get("SHOTS_DIR")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("load")
    for width, height in ((1366, 768), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=f"{folder}/{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 768})


@pytest.fixture
def page(browser: Browser, live_server: LiveServer, demo: None) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 768})
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        yield page
        assert errors == [], "console errors or CSP violations"
    finally:
        context.close()


def sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/portfolio$"))


def sign_out(page: Page) -> None:
    page.wait_for_load_state("load")  # the menu opens once Bootstrap's script has run
    page.locator("#user-menu").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))
