"""Print layouts (issue 18): a scorecard is printed in the layout its snapshot names. One issued
before issue 18 stored none and is printed as it was (layout 1: ``scorecard.css`` alone); one
issued now stores ``LAYOUT_VERSION`` (layout 2: ``print-2.css`` too, tables with fixed column
widths), whenever its review's figures were computed. A fresh worker warms up by laying out the
latest issued scorecard."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import Scorecard
from mls_tracker.scorecards import chart_images, pdf
from mls_tracker.scorecards import issuing as scorecards
from mls_tracker.scorecards.html import PRINT_STYLESHEETS, print_stylesheets
from mls_tracker.scorecards.snapshot import FIRST_LAYOUT, LAYOUT_VERSION, dump, load
from tests.scorecard_samples import ISSUED_META, sample_data
from tests.test_scorecards import make_review, pdf_pages, pdf_text, words


@pytest.fixture(scope="module", autouse=True)
def _stop_the_chart_server():
    yield
    chart_images.shutdown()


def _before_issue_18() -> dict:
    stored = dump(sample_data())
    del stored["layout"]
    return stored


def _images(document: bytes, tmp_path: Path) -> list[list[str]]:
    """``pdfimages -list``: one row per image drawn (page, num, type, width, height, …)."""
    path = tmp_path / "images.pdf"
    path.write_bytes(document)
    listing = subprocess.run(
        ["pdfimages", "-list", str(path)], check=True, capture_output=True, text=True
    ).stdout
    return [line.split() for line in listing.splitlines()[2:] if line.strip()]


def test_a_snapshot_stored_before_issue_18_is_printed_as_it_was(tmp_path):
    data = load(_before_issue_18())
    assert data.layout == FIRST_LAYOUT == 1
    html = scorecards.final_html(data, ISSUED_META)
    assert "data:image/svg+xml;base64," in html
    document = scorecards.render_pdf(data, ISSUED_META)
    # Layout 1 is the print of before: scorecard.css alone, the charts drawn from their SVG.
    assert print_stylesheets(FIRST_LAYOUT) == ("scorecard.css",)
    alone = pdf.html_to_pdf(html, created_at=ISSUED_META.issued_at, stylesheets=("scorecard.css",))
    assert document == alone
    assert "Overdue at month end" in words(pdf_text(document, tmp_path))  # a chart's legend
    assert _images(document, tmp_path) == []  # no raster image: every chart is vector


def test_a_scorecard_printed_now_has_every_word_of_the_old_print_and_no_more_pages(tmp_path):
    data = sample_data()
    assert data.layout == LAYOUT_VERSION == 2
    now = scorecards.render_pdf(data, ISSUED_META)
    before = scorecards.render_pdf(dataclasses.replace(data, layout=1), ISSUED_META)
    assert pdf_pages(now, tmp_path) <= pdf_pages(before, tmp_path)
    text = words(pdf_text(now, tmp_path, "now.pdf"))

    def opening(words_of: str) -> str:  # a long text wraps in its cell: its first words
        return " ".join(words_of.split()[:2])

    for row in data.actions.open_items:
        assert opening(row.title) in text
    for row in data.slas.rows:
        assert opening(row.name) in text
    for row in data.governance.coverage:
        for sponsor in row.client + row.provider:
            assert sponsor.name in text
    for win in data.governance.wins:
        assert opening(win.title) in text
    # The charts are drawn from their SVG as before (vector: their lettering is text).
    assert "Overdue at month end" in text and _images(now, tmp_path) == []


def test_an_issued_scorecard_stores_todays_layout_even_for_older_figures(world, tmp_path):
    review = make_review(world)
    review.snapshot = {k: v for k, v in review.snapshot.items() if k != "layout"}
    db.session.commit()
    scorecard = scorecards.issue_scorecard(world.lead, review)
    assert scorecard.snapshot["layout"] == LAYOUT_VERSION
    chart_images.clear_cache()  # drawn again, as years later
    again = scorecards.render_pdf(load(scorecard.snapshot), scorecards.scorecard_meta(scorecard))
    assert again == scorecard.pdf


def test_a_worker_warms_up_by_laying_out_the_latest_scorecard_and_stores_nothing(
    world, monkeypatch
):
    laid_out: list[tuple[str, tuple[str, ...]]] = []
    real = pdf.html_to_pdf_pages

    def watch(html, **options):
        laid_out.append((html, tuple(options.get("stylesheets", ()))))
        return real(html, **options)

    monkeypatch.setattr(pdf, "html_to_pdf_pages", watch)
    scorecards.warm_up()  # nothing issued yet: a tiny page
    assert len(laid_out) == 1 and "Warm-up" in laid_out[0][0]
    assert laid_out[0][1] == PRINT_STYLESHEETS

    scorecards.issue_scorecard(world.lead, make_review(world))
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Scorecard))
    laid_out.clear()
    scorecards.warm_up()
    assert len(laid_out) == 1
    html, sheets = laid_out[0]
    assert world.partnership.name in html and sheets == PRINT_STYLESHEETS
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Scorecard)) == count
