"""A review in Chromium on the demo data: a lead opens a review, writes the summary, issues
the scorecard (the job runs in a background thread, so the progress bar shows), finds it in
the archive and downloads the PDF. With SHOTS_DIR set, every review page is also photographed
at 1366 and 390 px wide."""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page, expect

from mls_tracker import jobs
from mls_tracker.extensions import db
from mls_tracker.models import Scorecard
from tests.browser_fixtures import shoot, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def background_jobs(app: Flask, monkeypatch) -> None:
    """Jobs run a moment later in a thread, as a worker would, instead of inside the request."""
    queue = app.extensions["mls_jobs"]

    def later(job_id: int) -> None:
        def run() -> None:
            time.sleep(1.5)
            with app.app_context():
                jobs._execute(job_id)

        threading.Thread(target=run, daemon=True).start()

    monkeypatch.setattr(queue, "task", later)


def test_lead_opens_writes_issues_and_downloads(page: Page, app: Flask, background_jobs) -> None:
    failed: list[str] = []  # named here, where the console only says "404"
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    sign_in(page, "lead@example.com")
    page.goto("/partnerships/")
    page.get_by_role("link", name="Global Learning Services").click()
    page.locator(".partnership-nav").get_by_role("link", name="Reviews").click()
    expect(page.get_by_role("heading", name="Reviews", exact=True)).to_be_visible()
    shoot(page, "reviews-1-index-empty")

    period = page.get_by_label("Period")
    label = period.locator("option:checked").inner_text()
    page.get_by_role("button", name="Open review").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(label)
    expect(page.locator("#tile-health")).to_contain_text("Health score")

    page.get_by_role("textbox", name="Executive summary").fill(
        "A solid month: satisfaction up, two SLAs to recover.\n\nThe APAC backlog is the risk."
    )
    page.get_by_role("button", name="Save summary").click()
    expect(page.locator(".flash-messages")).to_contain_text("Summary and featured wins saved")
    shoot(page, "reviews-2-draft")

    page.get_by_role("link", name="Issue version 1").click()
    expect(page.locator("#confirm-warning")).to_contain_text("This cannot be undone.")
    page.get_by_role("button", name="Issue version 1").click()
    expect(page.get_by_role("heading", name="Issuing the scorecard…")).to_be_visible()
    expect(page.locator(".job-progress .progress")).to_be_visible()
    shoot(page, "reviews-3-progress")
    expect(page.get_by_role("heading", name="Scorecard issued")).to_be_visible(timeout=90_000)
    expect(page.locator("#job-result")).to_contain_text("Version 1 of the scorecard is issued")
    shoot(page, "reviews-4-issued")

    page.get_by_role("link", name="Back to the review").click()
    archive = page.locator("#archive")
    expect(archive).to_contain_text("Version 1")
    shoot(page, "reviews-5-archive")
    with page.expect_download() as download_info:
        archive.get_by_role("link", name="Download v1").click()
    download = download_info.value
    assert re.fullmatch(
        r"global-learning-services-scorecard-.+-v1\.pdf", download.suggested_filename
    )
    body = Path(download.path()).read_bytes()
    stored = db.session.scalar(sa.select(Scorecard.pdf))
    assert body == stored and body.startswith(b"%PDF-")
    expect(archive).to_contain_text(hashlib.sha256(body).hexdigest()[:12])

    if os.environ.get("SHOTS_DIR"):
        page.get_by_role("link", name="Send to sponsors").first.click()
        expect(page.get_by_role("heading", name="Send the scorecard")).to_be_visible()
        shoot(page, "reviews-6-send")
        page.go_back()
        october = page.url.split("#")[0]
        page.goto(october.rsplit("/", 1)[0] + "/")
        page.get_by_role("button", name="Open review").click()  # the month before
        page.goto(october + "/compare")
        shoot(page, "reviews-7-compare")
        page.goto(october.rsplit("/", 1)[0] + "/")
        shoot(page, "reviews-8-index")
        # Its own page: the print template links no icon, so Chromium's /favicon.ico 404
        # would count as a console error of this one.
        preview = page.context.new_page()
        preview.goto(october + "/preview")
        shoot(preview, "reviews-9-preview")
    assert failed == []
