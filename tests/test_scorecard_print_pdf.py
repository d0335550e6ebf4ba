"""The scorecard as an accessible PDF (issue 19): tagged (PDF/UA-1) with its language, title and
the client as author; every chart and sparkline with alternative text drawn from its data; the
same snapshot renders the same bytes, and a snapshot stored before issue 19 still renders."""

from __future__ import annotations

import logging
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mls_tracker.periods import Month
from mls_tracker.scorecards import chart_images
from mls_tracker.scorecards import issuing as scorecards
from mls_tracker.scorecards.chart_text import chart_text, trend_sentence
from mls_tracker.scorecards.charts import scorecard_figures
from mls_tracker.scorecards.html import CHART_TITLES
from mls_tracker.scorecards.snapshot import dump, load
from tests.scorecard_samples import ISSUED_META, sample_data


@pytest.fixture(scope="module", autouse=True)
def _forget_the_charts():
    yield  # the server draws on for the next module (tests/conftest.py)
    chart_images.clear_cache()


@pytest.fixture(scope="module")
def issued() -> tuple[str, bytes, list[str]]:
    """The sample scorecard's print HTML and PDF, and what WeasyPrint complained of."""
    complaints: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            complaints.append(record.getMessage())

    handler = Catch(logging.WARNING)
    logging.getLogger("weasyprint").addHandler(handler)
    try:
        data = sample_data()
        html = scorecards.final_html(data, ISSUED_META)
        document = scorecards.render_pdf(data, ISSUED_META)
    finally:
        logging.getLogger("weasyprint").removeHandler(handler)
    return html, document, complaints


def _tool(args: list[str], document: bytes, tmp_path: Path, *after: str) -> str:
    path = tmp_path / "card.pdf"
    path.write_bytes(document)
    run = subprocess.run([*args, str(path), *after], check=True, capture_output=True, text=True)
    return run.stdout


def test_the_pdf_is_tagged_with_language_title_and_the_client_as_author(issued, tmp_path):
    _, document, complaints = issued
    info = _tool(["pdfinfo"], document, tmp_path)
    fields = dict(re.findall(r"^([A-Za-z ]+):\s+(.*)$", info, re.M))
    assert fields["Tagged"] == "yes"
    assert fields["Title"] == "Northwind Global Learning Partnership · October 2026 · Scorecard"
    assert fields["Author"] == "Northwind Traders"  # the client, not the provider
    assert fields["PDF version"] == "1.7"
    _tool(["qpdf", "--check"], document, tmp_path)  # raises on a damaged file
    # WeasyPrint logs an error for a figure without alt text or a document without a language.
    assert not [c for c in complaints if "alt" in c or "lang" in c], complaints


def test_the_structure_tree_carries_the_language_and_each_figures_words(issued, tmp_path):
    _, document, _ = issued
    (tmp_path / "in.pdf").write_bytes(document)
    subprocess.run(
        ["qpdf", "--qdf", "--object-streams=disable", str(tmp_path / "in.pdf"),
         str(tmp_path / "out.pdf")],
        check=True,
    )  # fmt: skip
    raw = (tmp_path / "out.pdf").read_bytes()
    assert b"/Lang (en)" in raw and b"/StructTreeRoot" in raw
    assert b"/Alt (SLA attainment by month, Nov 2025 to Oct 2026: from 90.9% in Nov 2025" in raw
    assert b"/Alt (Last 6 months: May 2026 82% met; Jun 2026 81.4% met; Jul 2026 79% at" in raw


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str | None]] = []
        self.svgs = 0
        self.titled_svgs = 0
        self._in_svg = False

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))
        elif tag == "svg":
            self.svgs += 1
            self._in_svg = True
        elif tag == "title" and self._in_svg:
            self.titled_svgs += 1

    def handle_endtag(self, tag):
        if tag == "svg":
            self._in_svg = False


def test_every_image_and_sparkline_in_the_print_html_has_alternative_text(issued):
    html, _, _ = issued
    found = _Images()
    found.feed(html)
    data = sample_data()
    drawn = {chart.name for chart in scorecard_figures(data)}  # the sample has no delivery
    assert len(found.images) == len(drawn) >= 5  # every chart of the sample is drawn
    for image in found.images:
        assert image.get("alt") and len(image["alt"]) > 40, image.get("alt")
    alts = {image["alt"] for image in found.images}
    for name, title in CHART_TITLES.items():
        if name in drawn:
            assert chart_text(name, title, data) in alts
    assert found.svgs == found.titled_svgs > 0


def test_a_trend_sentence_names_first_last_lowest_highest_and_gaps():
    months = [Month(2025, 11).shift(i) for i in range(12)]
    values = [61, 58, None, 54, 66, 70, 80, 75, None, 69, 71, 72]
    points = list(zip(months, values, strict=True))
    assert trend_sentence("Health score", points, str) == (
        "Health score by month, Nov 2025 to Oct 2026: from 61 in Nov 2025 to 72 in Oct 2026, "
        "lowest 54 in Feb 2026, highest 80 in May 2026; no figure for 2 months."
    )
    one = [(months[0], None), (months[1], 40.0)]
    assert trend_sentence("NPS", one, str) == (
        "NPS by month, Nov 2025 to Dec 2025: only Dec 2025, 40.0; no figure for 1 month."
    )
    # first and last are the extremes: no lowest/highest clause
    assert trend_sentence("X", [(months[0], 1.0), (months[1], 2.0)], str) == (
        "X by month, Nov 2025 to Dec 2025: from 1.0 in Nov 2025 to 2.0 in Dec 2025."
    )
    assert trend_sentence("X", [], str) == "X by month: no figures."
    assert chart_text("delivery_volumes", "Delivery volumes", sample_data()) == (
        "Delivery volumes."  # a chart this module does not know: its title
    )


def test_the_same_snapshot_renders_the_same_bytes(issued):
    _, document, _ = issued
    chart_images.clear_cache()  # the charts drawn again, as years later
    again = scorecards.render_pdf(load(dump(sample_data())), ISSUED_META)
    assert again == document


def test_a_snapshot_stored_before_issue_19_still_renders(tmp_path):
    stored = dump(sample_data())
    for row in stored["slas"]["rows"]:
        del row["recovery"]
    stored.pop("logo", None)
    document = scorecards.render_pdf(load(stored), ISSUED_META)
    text = " ".join(_tool(["pdftotext", "-layout"], document, tmp_path, "-").split())
    assert "Needs attention: 2 breached, 2 at risk" in text
    assert "No recovery action recorded." in text
    assert re.search(r"^Tagged:\s+yes$", _tool(["pdfinfo"], document, tmp_path), re.M)
