"""The survey import in Chromium on the demo data: a lead uploads a file, corrects one
choice-text number, checks and previews it, imports it, and finds it in the history.
With SHOTS_DIR set, every page is also photographed at 1366 and 390 px wide."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from mls_tracker.services import survey_import as service
from tests.browser_fixtures import shoot, sign_in

pytestmark = pytest.mark.browser

CSV = (
    "response_id,submitted_at,program,region,rating,recommend,comment\n"
    'BR-1,2026-03-11T14:05:00Z,Data Literacy,EMEA,Very satisfied,9,"Great, practical"\n'
    "BR-2,2026-03-12T09:30:00+02:00,Data Literacy,APAC,Satisfied,10,\n"
    "BR-3,2026-03-13T16:45:00Z,Leadership,emea,4,7,Too long\n"
)


def test_lead_uploads_maps_previews_and_imports(page: Page, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(service, "clock", lambda: dt.datetime(2027, 1, 15, tzinfo=dt.UTC))
    path = tmp_path / "march-responses.csv"
    path.write_text(CSV, encoding="utf-8")

    sign_in(page, "lead@example.com")
    page.goto("/partnerships/")
    page.get_by_role("link", name="Global Learning Services").click()
    partnership_url = page.url.rstrip("/")
    page.goto(partnership_url + "/satisfaction/imports/new")
    expect(page.get_by_role("heading", name="Import survey responses")).to_be_visible()
    shoot(page, "1-upload")
    page.get_by_label("Survey file (CSV or XLSX)").set_input_files(str(path))
    page.get_by_role("button", name="Upload and map the columns").click()

    expect(page.get_by_role("heading", name="Map the columns")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Format: Generic"))).to_be_visible()
    page.get_by_label("Satisfied", exact=True).fill("3")
    shoot(page, "2-mapping")
    page.get_by_role("button", name="Check the whole file").click()

    expect(page.get_by_role("heading", name="Check and preview")).to_be_visible()
    expect(page.locator("#count-new")).to_have_text("3")
    expect(page.locator("#preview-table")).to_contain_text("12 Mar 2026 07:30")
    shoot(page, "3-preview")
    page.get_by_role("button", name="Import 3 responses").click()

    expect(page.locator("#import-result")).to_contain_text("3 responses added")
    shoot(page, "4-result")
    page.get_by_role("link", name="Import history").click()
    expect(page.locator("#import-history")).to_contain_text("march-responses.csv")
    shoot(page, "5-history")
    page.locator("#import-history").get_by_role("link", name=re.compile("^Undo")).first.click()
    expect(page.get_by_role("heading", name="Undo the import of")).to_be_visible()
    shoot(page, "6-undo")
