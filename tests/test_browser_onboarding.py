"""A new customer in Chromium, from an empty database to a governed partnership (issue 13):
`flask setup` prints a one-time link, the first administrator is created through it, adds
the client and the provider, five regions and a partnership whose lead is invited by
e-mail; the lead accepts and imports an existing contract from a workbook, and the
overview shows it. With SHOTS_DIR set, the pages are photographed at 1366 and 390 px."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect

from mls_tracker.setup.cli import setup_command
from tests.browser_fixtures import shoot, watch_errors
from tests.conftest import text_of
from tests.live_server import LiveServer

pytestmark = pytest.mark.browser

WORKBOOK = Path(__file__).parent / "data" / "contract_import" / "realistic.xlsx"
PASSWORD = "violet-kettle-mountain-42"
REGIONS = [
    ("NA", "North America"),
    ("EMEA", "Europe, Middle East and Africa"),
    ("APAC", "Asia Pacific"),
    ("LATAM", "Latin America"),
    ("INDIA", "India"),
]


@pytest.fixture
def contexts(browser: Browser, live_server: LiveServer, app: Flask) -> Iterator[list]:
    """New browser contexts on the live server (one per person), each failing the test on
    a console error or CSP violation; ``app`` leaves the database empty."""
    made: list[tuple[BrowserContext, list[str]]] = []

    def new() -> Page:
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1366, "height": 768}
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        made.append((context, watch_errors(page)))
        return page

    yield [new]
    try:
        for _, errors in made:
            assert errors == [], "console errors or CSP violations"
    finally:
        for context, _ in made:
            context.close()


def _link_path(text: str, pattern: str) -> str:
    match = re.search(rf"https?://\S+{pattern}\S*", text)
    assert match, text
    return urlsplit(match.group(0)).path


def test_a_new_customer_sets_up_and_imports_a_contract(
    app: Flask, contexts: list, mailbox: list[Message]
) -> None:
    [new_page] = contexts
    result = app.test_cli_runner().invoke(setup_command, [])
    assert result.exit_code == 0, result.output
    setup_path = _link_path(result.output, "/setup/")

    # The first administrator, through the printed link.
    admin = new_page()
    admin.goto(setup_path)
    expect(admin.get_by_role("heading", name="Set up MLS Tracker")).to_be_visible()
    shoot(admin, "onboarding-1-first-admin")
    admin.get_by_label("Your name").fill("Ada Admin")
    admin.get_by_label("E-mail address").fill("ada@acme.example")
    admin.get_by_label("Choose a password").fill(PASSWORD)
    admin.get_by_label("Repeat the password").fill(PASSWORD)
    admin.get_by_role("button", name="Create administrator").click()
    expect(admin).to_have_url(re.compile(r"/admin$"))
    expect(admin.locator("#getting-started-progress")).to_contain_text("of")
    shoot(admin, "onboarding-2-admin-home")

    # The client and the provider.
    admin.get_by_role("navigation", name="Main").get_by_role("link", name="Administration").click()
    admin.locator("#step-organisations").get_by_role("link").click()
    for name, kind in (("Acme Corp", "Client"), ("Brightpath Learning", "Provider")):
        admin.get_by_role("link", name="Add an organisation").first.click()
        admin.get_by_label("Name").fill(name)
        admin.get_by_label(re.compile(f"^{kind} —")).check()
        admin.get_by_role("button", name="Add organisation").click()
        expect(admin.get_by_role("main")).to_contain_text(name)
    shoot(admin, "onboarding-3-organisations")

    # Five regions, each with its code.
    admin.goto("/admin/regions")
    for code, name in REGIONS:
        admin.get_by_role("link", name="Add a region").first.click()
        admin.get_by_label("Code").fill(code)
        admin.get_by_label("Name").fill(name)
        admin.get_by_role("button", name="Add region").click()
        expect(admin.get_by_role("main")).to_contain_text(name)
    shoot(admin, "onboarding-4-regions")

    # The partnership, its lead invited by e-mail.
    admin.goto("/admin")
    admin.locator("#step-partnership").get_by_role("link").click()
    admin.get_by_label("Name", exact=True).fill("Acme × Brightpath learning services")
    admin.get_by_label("Client").select_option(label="Acme Corp")
    admin.get_by_label("Provider").select_option(label="Brightpath Learning")
    admin.get_by_label("Home region").select_option(label="North America (NA)")
    admin.get_by_label("Regions in scope").select_option(
        label=[f"{name} ({code})" for code, name in REGIONS]
    )
    admin.get_by_label("Currency").fill("USD")
    admin.get_by_label("Start date").fill("2024-01-01")
    admin.get_by_label("Lead's e-mail").fill("lena.lead@acme.example")
    admin.get_by_label("Lead's name (optional)").fill("Lena Lead")
    shoot(admin, "onboarding-5-new-partnership")
    admin.get_by_role("button", name="Create partnership and invite the lead").click()
    expect(
        admin.get_by_role("heading", name="Acme × Brightpath learning services", exact=True)
    ).to_be_visible()

    # The lead accepts the invitation from the e-mail, in a browser of their own.
    assert [m["To"] for m in mailbox] == ["lena.lead@acme.example"]
    invitation_path = _link_path(text_of(mailbox[0]), "/invitations/")
    lead = new_page()
    lead.goto(invitation_path)
    lead.get_by_label("Your name").fill("Lena Lead")
    lead.get_by_label("Choose a password").fill(PASSWORD)
    lead.get_by_label("Repeat the password").fill(PASSWORD)
    lead.get_by_role("button", name="Create account and join").click()
    expect(
        lead.get_by_role("heading", name="Acme × Brightpath learning services", exact=True)
    ).to_be_visible()
    checklist = lead.locator("#setup-checklist")
    expect(checklist).to_contain_text("0 of 6 steps done")
    shoot(lead, "onboarding-6-new-overview")

    # The existing contract, from its workbook.
    checklist.get_by_role("link", name="Import a workbook").click()
    expect(lead.get_by_role("heading", name="Import a workbook")).to_be_visible()
    lead.get_by_label("Workbook (.xlsx) or one sheet (.csv)").set_input_files(str(WORKBOOK))
    lead.get_by_role("button", name="Upload and check").click()
    expect(lead.get_by_role("heading", name="Check the workbook")).to_be_visible()
    expect(lead.locator("#counts")).to_contain_text("384")
    shoot(lead, "onboarding-7-preview")
    lead.get_by_role("button", name="Import", exact=True).click()
    expect(lead.get_by_role("heading", name="Import finished")).to_be_visible()
    expect(lead.locator("#import-result")).to_contain_text("SLAs: 16 added")
    expect(lead.locator("#import-result")).to_contain_text("Sponsors: 10 added")
    shoot(lead, "onboarding-8-imported")

    lead.get_by_role("link", name="See the partnership").click()
    expect(lead.locator("#setup-checklist")).to_contain_text("3 of 6 steps done")
    # The workbook's actuals run to December 2025: the 16 SLAs count, this month has none.
    expect(lead.locator("#tile-sla")).to_contain_text("16 missing")
    shoot(lead, "onboarding-9-overview")
    lead.get_by_role("navigation", name=re.compile("sections")).get_by_role(
        "link", name="SLAs"
    ).click()
    expect(lead.get_by_role("main")).to_contain_text("DEL-01")
