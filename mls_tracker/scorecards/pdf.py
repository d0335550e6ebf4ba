"""HTML to PDF with WeasyPrint — the only module that imports it.

The print templates (``reports/``) are rendered from user text, so the renderer must not be a
way to read the server's files or reach the network: its URL fetcher answers only ``data:``
URIs and ``mls-report:<name>``, a file under ``reports/``; everything else (``file:``,
``http:``, ``https:``, redirects, relative URLs) is refused and logged, and the element is
drawn without it.

A stylesheet named in ``stylesheets`` (a report asset, ``scorecard.css``) is parsed once per
process and handed to WeasyPrint ready-made, rather than linked from the HTML and parsed again
for every document (~8 % of a scorecard's layout). It is a user-origin sheet then, not an author
one; with no author sheet beside it the cascade is the same (the PDF bytes are the same — a test
compares them).

The PDF is tagged (PDF/UA-1, ``PDF_VARIANT``): document language, title, a structure tree in
reading order, and alternative text for every image (an ``<img>``'s ``alt``, an inline SVG's
``<title>``). The output is reproducible: the same HTML and ``created_at`` give the same bytes (the
document's dates come from ``created_at``, never the clock, and the PDF identifier is a hash
of the content), so an issued scorecard rendered again from its snapshot can be compared byte
for byte. WeasyPrint embeds (subsets of) every font it uses.
"""

from __future__ import annotations

import datetime as dt
import logging
import mimetypes
import re
import zlib
from collections.abc import Sequence
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import weasyprint
from weasyprint.urls import URLFetcher, URLFetcherResponse

log = logging.getLogger("mls_tracker.scorecards.pdf")

REPORTS_DIR = Path(__file__).resolve().parents[2] / "reports"
ASSET_SCHEME = "mls-report:"
# WeasyPrint's accessible variant: tagged, PDF 1.7, with its XMP conformance mark (issue 19).
PDF_VARIANT = "pdf/ua-1"
_ASSET_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$")


class RefusedURL(ValueError):
    """The PDF renderer was asked for something other than a data: URI or a report asset."""


def asset_path(name: str) -> Path:
    """The file under ``reports/`` an ``mls-report:`` name stands for; RefusedURL for a name
    that is absolute, climbs out (``..``), is oddly spelled or does not exist."""
    if not _ASSET_NAME.match(name) or ".." in PurePosixPath(name).parts:
        raise RefusedURL(f"not a report asset name: {name!r}")
    root = REPORTS_DIR.resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise RefusedURL(f"no such report asset: {name!r}")
    return path


class _AssetFetcher(URLFetcher):
    """WeasyPrint's fetcher, narrowed to data: URIs and the application's report assets."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols={"data"}, allow_redirects=False, timeout=1)

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        try:
            if url.startswith(ASSET_SCHEME):
                name = url.removeprefix(ASSET_SCHEME).split("#", 1)[0]
                path = asset_path(name)
                kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": kind})
            if url[:5].lower() == "data:":
                return super().fetch(url, headers)
            raise RefusedURL("only data: URIs and mls-report: assets are fetched")
        except RefusedURL as refusal:
            log.warning("PDF renderer refused %.200r: %s", url, refusal)
            raise


def _w3c(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("created_at must be timezone-aware")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@cache
def stylesheet(name: str) -> weasyprint.CSS:
    """The report asset ``name`` (a stylesheet) parsed, once per process."""
    url = ASSET_SCHEME + name
    return weasyprint.CSS(
        string=asset_path(name).read_text(encoding="utf-8"),
        base_url=url,
        url_fetcher=_AssetFetcher(),
    )


def warm_up(stylesheets: Sequence[str] = ("scorecard.css",)) -> None:
    """Loads what the first PDF of a process would otherwise wait for — WeasyPrint's fonts
    (fontconfig, Pango) and the scorecard's stylesheets — by laying out a small page. For a
    worker just started (job workers, gunicorn workers after the fork)."""
    html_to_pdf_pages(
        '<html lang="en"><title>Warm-up</title><p>Warm-up <b>bold</b> <i>italic</i></p>'
        "<table><tr><td>1</td></tr></table></html>",
        stylesheets=stylesheets,
    )


def html_to_pdf(
    html: str, *, created_at: dt.datetime | None = None, stylesheets: Sequence[str] = ()
) -> bytes:
    """The PDF of an HTML document (print CSS and assets as ``mls-report:`` URLs).

    ``created_at`` (aware) becomes the document's creation and modification date; without
    it the PDF has no dates. ``stylesheets`` names report stylesheets applied besides those
    the HTML links. The same arguments always give the same bytes."""
    return html_to_pdf_pages(html, created_at=created_at, stylesheets=stylesheets)[0]


def html_to_pdf_pages(
    html: str, *, created_at: dt.datetime | None = None, stylesheets: Sequence[str] = ()
) -> tuple[bytes, int]:
    """``html_to_pdf`` and the number of pages laid out."""
    stamp = _w3c(created_at) if created_at is not None else None
    sheets = [stylesheet(name) for name in stylesheets]
    document = weasyprint.HTML(string=html, url_fetcher=_AssetFetcher()).render(stylesheets=sheets)
    # Dates from the clock or from <meta> in the (user-influenced) HTML are not wanted.
    document.metadata.created = stamp
    document.metadata.modified = stamp
    # Tagged (PDF/UA-1): the structure tree gives reading order, headings, tables and each
    # figure's alternative text; the language is the HTML's, the title the <title>'s.
    return document.write_pdf(pdf_identifier=True, pdf_variant=PDF_VARIANT), len(document.pages)


_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.DOTALL)
_PAGES_COUNT = re.compile(
    rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)|/Count\s+(\d+)[^>]*?/Type\s*/Pages\b"
)


def page_count(data: bytes) -> int:
    """The number of pages of a PDF this module wrote (its page tree's count; WeasyPrint
    keeps the tree in compressed object streams, so those are opened)."""
    chunks = [data]
    for match in _STREAM.finditer(data):
        try:
            chunks.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue  # an image or font stream that is not deflated
    counts = [int(a or b) for chunk in chunks for a, b in _PAGES_COUNT.findall(chunk)]
    if not counts:
        raise ValueError("no page tree found in the PDF")
    return max(counts)
