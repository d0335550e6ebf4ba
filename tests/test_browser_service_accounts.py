"""An administrator manages an integration's service account in Chromium, on the demo: from
the administration home to a new account, its first token (shown once), revoking it and
deactivating the account — no console error, no CSP violation. With SHOTS_DIR set, each
page is photographed at 1366 and 390 px."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser_fixtures import shoot, sign_in

pytestmark = pytest.mark.browser


def test_an_admin_creates_a_service_account_gives_it_a_token_and_revokes_it(page: Page):
    sign_in(page, "admin@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Administration").click()
    shoot(page, "service-accounts-0-admin-home")
    page.locator("#admin-sections").get_by_role("link", name="Service accounts").click()
    expect(page.get_by_role("heading", name="Service accounts", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="No service accounts yet")).to_be_visible()
    shoot(page, "service-accounts-1-empty")

    page.get_by_role("link", name="Create a service account").first.click()
    page.get_by_role("button", name="Create service account").click()
    expect(page.locator("#name-error")).to_contain_text("Name the service account")
    expect(page.locator("#partnership_id-error")).to_contain_text("Choose the partnership")
    shoot(page, "service-accounts-2-new-refused")
    page.get_by_label("Name", exact=True).fill("Power BI refresh")
    page.get_by_label("Partnership", exact=True).select_option(label="Global Learning Services")
    page.get_by_label("Role in that partnership").select_option("viewer")
    page.get_by_role("button", name="Create service account").click()
    expect(page.get_by_role("heading", name=re.compile("Power BI refresh"))).to_be_visible()

    page.get_by_label("Name", exact=True).fill("Nightly export")
    page.get_by_label("Scope").select_option("write")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#token-value")
    expect(token).to_have_text(re.compile(r"^mls_\S{40,}$"))
    raw = token.inner_text()
    shoot(page, "service-accounts-3-token-shown-once")
    page.goto(page.url.rsplit("/tokens", 1)[0])  # the account page again
    expect(page.locator("#token-value")).to_have_count(0)
    expect(page.locator("#tokens")).to_contain_text(raw[:12])
    assert raw not in page.content()

    page.get_by_role("link", name=re.compile("Revoke… Nightly export")).click()
    expect(page.get_by_role("heading", name="Revoke the token “Nightly export”?")).to_be_visible()
    shoot(page, "service-accounts-4-revoke")
    page.get_by_role("button", name="Revoke the token").click()
    expect(page.locator("#tokens")).to_contain_text("Revoked")

    page.get_by_role("link", name="Deactivate…").click()
    page.get_by_role("button", name="Deactivate").click()
    expect(page.locator("#deactivated-note")).to_be_visible()
    shoot(page, "service-accounts-5-account")

    page.goto("/admin/users")  # the people page leads there too
    shoot(page, "service-accounts-6-people")
    page.get_by_role("main").get_by_role("link", name="Service accounts").click()
    row = page.locator("#service-accounts-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Global Learning Services")
    expect(row).to_contain_text("Deactivated")
    shoot(page, "service-accounts-7-list")
