"""Downloads: one way to write CSV (formula injection neutralised) and to name files."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

from flask import Response

# A spreadsheet runs a cell that starts with one of these as a formula (QUALITY.md).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\x00")


def slug(name: str) -> str:
    """A name as it goes into a download's file name: "Global Learning" → "global-learning"."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "partnership"


def safe_cell(value: Any) -> Any:
    """The value, with text that a spreadsheet would execute prefixed by a quote."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return buffer.getvalue()


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """A CSV attachment, UTF-8 with a byte-order mark so Excel reads accents correctly."""
    return attachment("\ufeff" + csv_text(header, rows), "text/csv", filename)


def attachment(body: str | bytes, mimetype: str, filename: str) -> Response:
    """A download, never kept in a cache."""
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def scorecard_pdf(partnership_name: str, scorecard: Any) -> Response:
    """An issued scorecard's stored PDF as a download (the page's and the API's); its ETag is
    its SHA-256."""
    from mls_tracker.scorecards.delivery import scorecard_filename

    review = scorecard.review
    name = scorecard_filename(
        partnership_name, review.first_month, review.last_month, scorecard.version
    )
    response = attachment(scorecard.pdf, "application/pdf", name)
    response.set_etag(scorecard.sha256)
    return response
