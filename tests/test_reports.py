"""The scorecard's print template: what it shows, what it escapes, its preview, its PDF pages."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
import subprocess
from html.parser import HTMLParser

import pytest

from mls_tracker import assets
from mls_tracker.scorecards.html import render_scorecard_html
from mls_tracker.scorecards.snapshot import ActionRow, dump, load
from tests.scorecard_samples import DRAFT_META, ISSUED_META, empty_data, sample_data

SECTION_HEADINGS = (
    "Executive summary",
    "Service levels",
    "Learner satisfaction",
    "Action plan",
    "Sponsorship & governance",
)
HOSTILE_TITLE = '<img src="file:///etc/passwd">'
HOSTILE_SUMMARY = "First paragraph <script>alert('x')</script> & more.\n\nSecond paragraph."


class _Page(HTMLParser):
    """The document's visible text and every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style", "title", "template"):
            self._hidden += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style", "title", "template"):
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.text.append(data)


def parse(document: str) -> _Page:
    page = _Page()
    page.feed(document)
    return page


def text_of(document: str) -> str:
    return re.sub(r"\s+", " ", " ".join(parse(document).text))


def render(data=None, meta=ISSUED_META, charts=None, **kwargs) -> str:
    return render_scorecard_html(data or sample_data(), meta, charts or {}, **kwargs)


def fake_asset_url(name: str) -> str:
    return f"/assets/test/{name}"


def hostile_data():
    data = sample_data(executive_summary=HOSTILE_SUMMARY)
    action = ActionRow(HOSTILE_TITLE, "provider", "<b>Mallory</b>", None, "open", "high", True)
    actions = dataclasses.replace(data.actions, open_items=(action, *data.actions.open_items))
    return dataclasses.replace(data, actions=actions)


# --- What the HTML shows ---------------------------------------------------------------------


def test_every_section_and_the_key_figures_are_shown():
    text = text_of(render())
    for heading in SECTION_HEADINGS:
        assert heading in text
    for figure in (
        "Northwind Global Learning Partnership",
        "Northwind Traders",
        "Contoso Learning Services",
        "October 2026",
        "Version 3",
        "4 November 2026 by Olivia Bennett",
        "75 / 100",
        "Amber",
        "81.8%",  # SLA attainment
        "87.4%",  # CSAT
        "n = 1,146",
        "95% CI 84.5–88.9%",
        "+44.6",  # NPS
        "± 6.3",
        "58.3%",  # action plan health
        "19 days",
        "75%",  # sponsor coverage
        "Confidential — Northwind Traders and Contoso Learning Services",
    ):
        assert figure in text, figure


def test_the_cover_shows_each_change_and_whether_it_is_better():
    text = text_of(render())
    assert "▲ +3 points up since September 2026 · better" in text  # health 72 → 75
    assert "▲ +9.1 points up · better" in text  # SLA attainment 72.7 → 81.8
    assert "▼ −8.4 points down · worse" in text  # action plan health 66.7 → 58.3
    assert "= No change" in text  # coverage 75 → 75
    assert "change since September 2026" in text


def test_every_sla_is_a_row_with_its_status_in_words_and_a_sparkline():
    data = sample_data()
    document = render(data)
    text = text_of(document)
    for row in data.slas.rows:
        assert f"{row.code} {row.name}" in text
    # Exceptions first (issue 19): the at-risk threshold and the gap stand beside the target.
    assert (
        "SLA-02 Help-desk first-contact resolution ✖ Breached Target At risk Actual "
        "Gap to target Out of target Last 6 months ≥ 80% ≥ 75% 72.8% −7.2 pts below target" in text
    )
    assert "Missing: no actual entered (never counted as met) — 1 SLA: SLA-12 Cost per" in text
    assert "Ticket categories changed with the LMS migration" in text
    measured = [row for row in data.slas.rows if row.status in ("met", "at risk", "breached")]
    assert document.count('<svg class="spark"') == len(measured)  # the unmeasured: a list


def test_satisfaction_shows_n_intervals_and_low_samples_by_region_and_program():
    text = text_of(render())
    assert "North America 512 4.38 89.1% 84.8–91.2% +48.2 ± 9.5" in text
    assert "LATAM 7 3.86 71.4%" in text
    assert text.count("○ Low sample") >= 2  # LATAM and the coaching pilot, n < 10
    assert "Executive Coaching Pilot 8 4.75 100%" in text


def test_the_action_plan_lists_every_open_item_once_with_owner_and_due_date():
    data = sample_data()
    document = render(data)
    text = text_of(document)
    assert "Overdue (8)" in text
    assert "Due before the next review on 26 Nov 2026" in text
    titles = [row.title for row in data.actions.open_items]
    for title in titles:
        assert title in text
    overdue_row = (
        "Recover help-desk first-contact resolution: retrain tier-1 agents on the new LMS "
        "ticket categories and publish a revised knowledge-base index Priya Raman Provider "
        "3 Oct 2026 ✖ Overdue"
    )
    assert overdue_row in text
    action_bodies = re.findall(r'<table class="actions">.*?</table>', document, re.DOTALL)
    listed = sum(body.count("<tr") - 1 for body in action_bodies)  # minus each header row
    assert listed == len(titles)


def test_governance_marks_the_coverage_gap_and_engagement_in_words():
    text = text_of(render())
    assert "LATAM No sponsor" in text
    assert "✖ Gap No active client sponsor" in text
    assert "Mei Lin , HR Director APAC ✖ Low engagement · 0 of 3 · 104 days ago" in text
    assert "9 of 11 (82%)" in text  # meeting attendance
    assert "Monthly reporting pack within five working days of month end" in text
    assert "LMS migration to the cloud platform" in text
    assert "EMEA learner advisory panel launched" in text


def test_a_draft_says_so_and_names_no_issuer():
    text = text_of(render(meta=DRAFT_META))
    assert "DRAFT — not issued" in text
    assert "Not issued · figures of 3 November 2026" in text
    assert "Olivia Bennett" not in text


def test_components_left_out_of_the_health_score_are_named():
    data = sample_data()
    health = dataclasses.replace(
        data.health,
        left_out=("Satisfaction (CSAT)",),
        weights=(
            ("SLA attainment", 53.3),
            ("Action plan health", 26.7),
            ("Sponsor coverage", 20.0),
        ),
    )
    text = text_of(render(dataclasses.replace(data, health=health)))
    assert (
        "Health score = SLA attainment 53.3% · Action plan health 26.7% · Sponsor coverage 20%. "
        "Left out for want of data: Satisfaction (CSAT) — the other weights are re-normalised."
    ) in text


def test_the_executive_summary_keeps_its_paragraphs():
    document = render()
    summary = re.search(r'<div class="summary-text">(.*?)</div>', document, re.DOTALL)
    assert summary is not None
    paragraphs = re.findall(r"<p>(.*?)</p>", summary.group(1), re.DOTALL)
    assert len(paragraphs) == 4
    assert paragraphs[0].startswith("October was the strongest month")
    assert "since August &amp; its engagement" in paragraphs[3]


# --- Escaping --------------------------------------------------------------------------------


@pytest.mark.parametrize("preview", [False, True])
def test_user_text_is_shown_as_text_never_as_markup(preview):
    document = render(hostile_data(), preview=preview, asset_url=fake_asset_url)
    assert HOSTILE_TITLE not in document
    assert "<script>alert" not in document
    assert "<b>Mallory</b>" not in document
    text = text_of(document)
    assert HOSTILE_TITLE in text
    assert "First paragraph <script>alert('x')</script> & more." in text
    assert "<b>Mallory</b>" in text
    img_sources = [attrs.get("src") or "" for tag, attrs in parse(document).tags if tag == "img"]
    assert not any(src.startswith("file:") for src in img_sources)


# --- Charts ----------------------------------------------------------------------------------


def test_print_embeds_each_chart_as_an_svg_data_image():
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="680" height="260"><text>{}</text></svg>'
    svgs = {
        name: svg.format(name)
        for name in ("health_trend", "sla_attainment", "satisfaction_trend", "nps_trend")
    }
    document = render(charts=svgs)
    sources = [attrs["src"] for tag, attrs in parse(document).tags if tag == "img"]
    assert len(sources) == 4
    prefix = "data:image/svg+xml;base64,"
    assert all(src.startswith(prefix) for src in sources)
    decoded = {base64.b64decode(src[len(prefix) :]).decode() for src in sources}
    assert decoded == set(svgs.values())
    assert "<script" not in document


def test_preview_links_its_assets_and_needs_no_inline_script_or_style():
    document = render(preview=True, asset_url=fake_asset_url)
    tags = parse(document).tags
    for tag, attrs in tags:
        assert "style" not in attrs, tag
        assert not any(name.startswith("on") for name in attrs), tag
        if tag == "script":
            assert attrs.get("src") or attrs.get("type") == "application/json", attrs
    assert "<style" not in document
    sources = {attrs.get("src") for tag, attrs in tags if tag == "script"} - {None}
    assert sources == {"/assets/test/plotly.min.js", "/assets/test/charts.js"}
    links = {attrs["href"] for tag, attrs in tags if tag == "link"}
    assert {"/assets/test/scorecard.css", "/assets/test/plotly.css"} <= links
    assert "Preview — a draft" in text_of(document)
    assert "mls-report:" not in document


def test_preview_draws_the_snapshot_charts_with_plotly():
    document = render(preview=True, asset_url=fake_asset_url)
    charts = [attrs for tag, attrs in parse(document).tags if "data-chart" in attrs]
    assert {attrs["data-chart"] for attrs in charts} >= {
        "sla_attainment-chart-data",
        "satisfaction_trend-chart-data",
        "action_flow-chart-data",
    }
    for attrs in charts:
        assert f'<script type="application/json" id="{attrs["data-chart"]}">' in document


def test_an_empty_preview_draws_no_chart_and_says_why():
    document = render(empty_data(), DRAFT_META, preview=True, asset_url=fake_asset_url)
    assert "data-chart=" not in document
    assert "chart-placeholder" not in document
    assert "No health history yet." in text_of(document)


def test_a_preview_needs_an_asset_url():
    with pytest.raises(ValueError, match="asset_url"):
        render(preview=True)


# --- Determinism and empty sections ------------------------------------------------------


def test_the_same_input_gives_the_same_html_even_from_a_stored_snapshot():
    data = sample_data()
    first = render(data, charts={"sla_attainment": "<svg/>"})
    assert render(data, charts={"sla_attainment": "<svg/>"}) == first
    assert render(load(dump(data)), charts={"sla_attainment": "<svg/>"}) == first


def test_an_empty_partnership_says_so_in_every_section():
    document = render(empty_data(), meta=DRAFT_META)
    text = text_of(document)
    for heading in SECTION_HEADINGS:
        assert heading in text
    for words in (
        "Not enough data",
        "No component has data yet.",
        "Left out for want of data: SLA attainment, Satisfaction (CSAT), Action plan health, "
        "Sponsor coverage.",
        "No executive summary was written for this review.",
        "No wins featured in this review.",
        "No SLA measured in this period.",
        "No learner satisfaction measured in this period.",
        "No open action items at the end of this period.",
        "No region in scope yet, so no sponsor coverage to show.",
        "No governance meeting was held in this period.",
        "No expectation is due for revisiting.",
        "No change planned or made in this period.",
        "No win recorded in this period.",
    ):
        assert words in text, words
    assert "<tbody>" not in document.split('class="parties"', 1)[1]  # no empty tables
    assert "<img" not in document


# --- The PDF ---------------------------------------------------------------------------------


def html_to_pdf(document: str) -> bytes:
    """The print HTML laid out as issuing does: with the print stylesheets, which the print
    HTML does not link."""
    from mls_tracker.scorecards import pdf
    from mls_tracker.scorecards.html import PRINT_STYLESHEETS

    return pdf.html_to_pdf(document, stylesheets=PRINT_STYLESHEETS)


def pdf_pages(data: bytes, tmp_path) -> list[str]:
    path = tmp_path / "scorecard.pdf"
    path.write_bytes(data)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    return text.split("\f")[:-1]


@pytest.fixture(scope="module")
def sample_pdf() -> bytes:
    return html_to_pdf(render())


def test_the_pdf_has_every_section_and_figure(sample_pdf, tmp_path):
    pages = pdf_pages(sample_pdf, tmp_path)
    text = re.sub(r"\s+", " ", " ".join(pages))
    for heading in SECTION_HEADINGS:
        assert heading in text
    for figure in ("75 / 100", "81.8%", "87.4%", "+44.6", "58.3%", "SLA-12", "LATAM", "Gap"):
        assert figure in text, figure
    assert len(pages) >= 5


def test_the_cover_has_no_page_number_and_the_others_do(sample_pdf, tmp_path):
    pages = pdf_pages(sample_pdf, tmp_path)
    total = len(pages)
    assert "Page 1 of" not in pages[0]
    assert "Northwind Global Learning Partnership" in pages[0]
    for number, page in enumerate(pages[1:], start=2):
        assert f"Page {number} of {total}" in page
        assert "Northwind Global Learning Partnership · October 2026" in page  # running header
        assert "Confidential — Northwind Traders and Contoso Learning Services" in page


def test_the_pdf_embeds_its_fonts_and_is_well_formed(sample_pdf, tmp_path):
    path = tmp_path / "scorecard.pdf"
    path.write_bytes(sample_pdf)
    fonts = subprocess.run(
        ["pdffonts", str(path)], capture_output=True, check=True, text=True
    ).stdout.splitlines()[2:]
    assert fonts
    assert all(line.split()[-5] == "yes" for line in fonts), fonts  # the "emb" column
    subprocess.run(["qpdf", "--check", str(path)], capture_output=True, check=True)


def test_a_hostile_action_title_neither_leaks_nor_reaches_out(tmp_path):
    document = render(hostile_data())
    pages = pdf_pages(html_to_pdf(document), tmp_path)
    text = " ".join(pages)
    assert HOSTILE_TITLE in text
    assert "root:x:0:0" not in text


def test_the_empty_scorecard_renders_without_empty_tables(tmp_path):
    pages = pdf_pages(html_to_pdf(render(empty_data(), meta=DRAFT_META)), tmp_path)
    text = re.sub(r"\s+", " ", " ".join(pages))
    assert "DRAFT — not issued" in text
    assert "No SLA measured in this period." in text
    assert "Page 1 of" not in pages[0]


# --- Serving the preview's assets ------------------------------------------------------------


def test_report_assets_are_served_under_their_hash_with_an_immutable_cache(app, client):
    body = (assets.REPORTS_DIR / "scorecard.css").read_bytes()
    digest = hashlib.sha256(body).hexdigest()[:16]
    with app.test_request_context():
        url = assets.report_asset_url("scorecard.css")
        assert url == f"/assets/report/scorecard-{digest}.css"
        assert assets.report_asset_url("plotly.min.js") == assets.plotly_js_url()
        assert assets.report_asset_url("charts.js").endswith("/js/charts.js")
        with pytest.raises(KeyError):
            assets.report_asset_url("scorecard.html")  # templates are not assets
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "text/css"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.data == body
    assert client.get("/assets/report/scorecard-0000000000000000.css").status_code == 404
