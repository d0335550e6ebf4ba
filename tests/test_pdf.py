"""The one PDF entry point: nothing fetched but data: URIs and report assets, fonts embedded,
the same HTML and time giving the same bytes."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import re
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mls_tracker.scorecards import pdf

ISSUED = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


class Listener:
    """A TCP socket on loopback that records every connection made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def test_the_file_system_and_the_network_are_out_of_reach(listener, tmp_path, caplog):
    base = f"http://127.0.0.1:{listener.port}"
    html = f"""<!doctype html><html><head>
      <link rel="stylesheet" href="file:///etc/passwd">
      <link rel="stylesheet" href="{base}/style.css">
      <style>
        @import url("{base}/imported.css");
        @import url("file:///etc/passwd");
        body {{ background: url(file:///etc/passwd); }}
        h1 {{ background-image: url("{base}/bg.png"); }}
        @font-face {{ font-family: Leak; src: url({base}/font.woff2); }}
      </style></head><body>
      <h1>Action items</h1>
      <img src="file:///etc/passwd" alt="">
      <img src="{base}/x">
      <object data="file:///etc/passwd"></object>
      <embed src="{base}/embed">
      <svg width="10" height="10"><image href="file:///etc/passwd" width="10" height="10"/>
        <image href="{base}/svg-image" width="10" height="10"/></svg>
      <p>Still rendered</p>
    </body></html>"""
    with caplog.at_level(logging.WARNING, logger="mls_tracker.scorecards.pdf"):
        data = pdf.html_to_pdf(html)
    text = pdf_text(data, tmp_path)
    assert "Action items" in text and "Still rendered" in text
    assert "root:" not in text and b"root:x:0:0" not in data
    assert listener.connections == 0
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert any("file:///etc/passwd" in message for message in refused)
    assert any(f"{base}/x" in message for message in refused)


def test_a_title_written_as_markup_is_escaped_text_before_it_reaches_the_renderer(tmp_path):
    """What the print template does with a user's text (autoescape): shown, never fetched."""
    from markupsafe import escape

    title = '<img src="file:///etc/passwd">'
    data = pdf.html_to_pdf(f"<p>{escape(title)}</p>")
    assert '<img src="file:///etc/passwd">' in pdf_text(data, tmp_path)


def test_data_uris_and_report_assets_are_fetched(tmp_path, monkeypatch):
    reports = tmp_path / "reports"
    (reports / "css").mkdir(parents=True)
    (reports / "css" / "print.css").write_text("p.marked::after { content: ' from the asset'; }")
    (tmp_path / "secret.css").write_text("p::before { content: 'SECRET'; }")
    monkeypatch.setattr(pdf, "REPORTS_DIR", reports)
    css = base64.b64encode(b"p.data::after { content: ' from a data uri'; }").decode()
    html = f"""<link rel="stylesheet" href="mls-report:css/print.css">
      <link rel="stylesheet" href="mls-report:../secret.css">
      <link rel="stylesheet" href="mls-report:/etc/passwd">
      <link rel="stylesheet" href="mls-report:missing.css">
      <link rel="stylesheet" href="data:text/css;base64,{css}">
      <p class="marked">Styled</p><p class="data">Also</p>"""
    text = pdf_text(pdf.html_to_pdf(html), tmp_path)
    assert "Styled from the asset" in text
    assert "Also from a data uri" in text
    assert "SECRET" not in text


@pytest.mark.parametrize(
    "name", ["../pyproject.toml", "/etc/passwd", "a/../../x", "", "missing.css", ".", "a\\b"]
)
def test_asset_names_outside_reports_are_refused(name):
    with pytest.raises(pdf.RefusedURL):
        pdf.asset_path(name)


def test_the_same_html_and_time_give_the_same_bytes_and_dates(tmp_path):
    html = "<h1>Scorecard</h1><p>Acme × Learnco — Ünïcode text</p>"
    first = pdf.html_to_pdf(html, created_at=ISSUED)
    assert pdf.html_to_pdf(html, created_at=ISSUED) == first
    later = pdf.html_to_pdf(html, created_at=ISSUED + dt.timedelta(days=1))
    assert later != first
    path = tmp_path / "dated.pdf"
    path.write_bytes(first)
    info = subprocess.run(
        ["pdfinfo", "-isodates", str(path)], check=True, capture_output=True, text=True
    ).stdout
    assert "2026-11-02T09:30:00" in info  # CreationDate and ModDate are the issue time
    assert info.count("2026-11-02T09:30:00") == 2


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        pdf.html_to_pdf("<p>x</p>", created_at=dt.datetime(2026, 1, 1))  # noqa: DTZ001


def test_every_font_is_embedded(tmp_path):
    html = """<style>h1 { font-family: serif } p { font-family: sans-serif }
      code { font-family: monospace }</style>
      <h1>Heading</h1><p>Body <b>bold</b> <i>italic</i></p><code>mono</code>"""
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf.html_to_pdf(html))
    listing = subprocess.run(
        ["pdffonts", str(path)], check=True, capture_output=True, text=True
    ).stdout.splitlines()[2:]
    assert listing, "no fonts at all"
    for line in listing:
        assert line.split()[-5] == "yes", line  # the "emb" column
    subprocess.run(["qpdf", "--check", str(path)], check=True, capture_output=True)


@pytest.mark.parametrize("pages", [1, 2, 9])
def test_the_page_count_is_read_from_the_pdf(tmp_path, pages):
    html = "<p>one</p>" + '<p style="break-before: page">more</p>' * (pages - 1)
    data, laid_out = pdf.html_to_pdf_pages(html)
    path = tmp_path / "pages.pdf"
    path.write_bytes(data)
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True)
    assert re.search(rf"^Pages:\s+{pages}$", info.stdout, re.MULTILINE), info.stdout
    assert laid_out == pages == pdf.page_count(data)
