"""The health score and its four parts for each partnership and last month, as three readers
see them: the overview page, the issued scorecard's snapshot (JSON) and its PDF — a Markdown
table for the closing note of issue 15 ("Done when").

Nothing is computed here: each column is read from what that reader is given. The overview
is rendered by the app (test client, signed in as the demo's lead) and its tiles are read
from the HTML; the snapshot is the issued scorecard's stored JSON, printed as stored; the PDF
is the issued scorecard's bytes through ``pdftotext -layout``, its cover read.

Usage, on the demo (``MLS_INSTANCE_PATH`` / ``DATABASE_URL`` as for ``flask``)::

    .venv/bin/flask --app wsgi demo load --reset
    .venv/bin/python scripts/demo_figures_table.py [--no-issue]

A partnership whose last month has no issued scorecard yet (the demo leaves last month a
draft) has it issued first, as ``make run`` does (``flask scorecards issue --period last
--all --missing-only``); ``--no-issue`` leaves it out instead.
"""

from __future__ import annotations

import argparse
import html
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import url_for
from flask.testing import FlaskClient

from mls_tracker import create_app
from mls_tracker.demo import DEMO_PASSWORD
from mls_tracker.extensions import db
from mls_tracker.models import Partnership, PartnershipStatus, Review, Scorecard
from mls_tracker.periods import Month, utc_today
from mls_tracker.scorecards import batch, chart_images

LEAD = "lead@example.com"
PARTS = ("sla", "satisfaction", "actions", "coverage")
# The PDF cover's column headings of the four parts, in the order of PARTS.
PDF_HEADINGS = ("SLA ATTAINMENT", "SATISFACTION", "ACTION PLAN HEALTH", "SPONSOR COVERAGE")
HEADERS = (
    "Health",
    "SLA attainment",
    "Learner satisfaction",
    "Action plan health",
    "Sponsor coverage",
)
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def _text(fragment: str) -> str:
    """A piece of HTML as a reader sees it: tags dropped, white space made one."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


class _FreshContextClient(FlaskClient):
    """Each request in an app context of its own (a fresh ``g``), as in production, while
    the script holds one open to read the database (``tests/conftest.py`` does the same)."""

    def open(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        with self.application.app_context():
            return super().open(*args, **kwargs)


def _sign_in(client: Any) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = _CSRF.search(page)
    if token is None:
        raise SystemExit("No CSRF token on /login")
    answer = client.post(
        "/login", data={"email": LEAD, "password": DEMO_PASSWORD, "csrf_token": token.group(1)}
    )
    if answer.status_code != 302:
        raise SystemExit(f"Signing in as {LEAD} failed ({answer.status_code}): is the demo loaded?")


def overview_figures(client: Any, partnership_id: int) -> tuple[str, list[str]]:
    """(the month the overview reviews, [health, four parts]) as the overview page shows them."""
    with client.application.test_request_context():
        url = url_for("partnerships.show", partnership_id=partnership_id)
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"The overview of #{partnership_id} answered {response.status_code}")
    page = response.get_data(as_text=True)
    month = re.search(r'id="reviewed-month"[^>]*>.*?<strong>(.*?)</strong>', page, re.S)

    def tile(key: str) -> str:
        found = re.search(
            rf'id="tile-{key}".*?class="ov-tile-figure[^"]*"[^>]*>(.*?)</div>', page, re.S
        )
        return _text(found.group(1)) if found else "(no tile)"

    return (_text(month.group(1)) if month else "?"), [tile(k) for k in ("health", *PARTS)]


def snapshot_figures(snapshot: dict[str, Any]) -> list[str]:
    """[health, four parts] as the scorecard's stored JSON holds them (values as stored)."""
    health = snapshot.get("health") or {}
    score = "null" if health.get("score") is None else str(health["score"])
    shown = [f"{score} ({health['rag']})" if health.get("rag") else score]
    tiles = {tile["key"]: tile for tile in snapshot.get("tiles") or []}
    for key in PARTS:
        value = tiles.get(key, {}).get("value", "(no tile)")
        shown.append("null" if value is None else str(value))
    return shown


def pdf_figures(pdf: bytes) -> list[str]:
    """[health, four parts] as the scorecard's PDF prints them on its cover."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scorecard.pdf"
        path.write_bytes(pdf)
        # Fixed arguments and our own temporary file; pdftotext from poppler-utils, as the
        # PDF tests use it.
        command = ["pdftotext", "-layout", "-f", "1", "-l", "1", str(path), "-"]
        done = subprocess.run(command, check=True, capture_output=True, text=True)  # noqa: S603, S607
        text = done.stdout
    lines = text.splitlines()
    shown = [_pdf_health(lines), *_pdf_parts(lines)]
    return shown


def _pdf_health(lines: list[str]) -> str:
    """The score under "PARTNERSHIP HEALTH" and the RAG word below it (left column)."""
    start = next((i for i, line in enumerate(lines) if "PARTNERSHIP HEALTH" in line), None)
    if start is None:
        return "(no health)"
    column = lines[start].index("PARTNERSHIP HEALTH") + len("PARTNERSHIP HEALTH") + 8
    words = []
    for line in lines[start + 1 :]:
        left = line[:column].strip()
        if left.startswith(("▲", "▼", "=", "Change", "No previous")):
            break  # the change since the previous review: not the score
        if left and left != "/ 100":
            words.append(left)
        if len(words) == 2:
            break
    return " ".join(words) if words else "(none)"


def _pdf_parts(lines: list[str]) -> list[str]:
    """The first line of figures under the four parts' headings, cut at the headings' columns."""
    for index, line in enumerate(lines):
        if all(heading in line for heading in PDF_HEADINGS):
            starts = [line.index(heading) for heading in PDF_HEADINGS]
            figures = next((f for f in lines[index + 1 :] if f.strip()), "")
            ends = [*starts[1:], None]
            return [figures[a:b].strip() or "(blank)" for a, b in zip(starts, ends, strict=True)]
    return ["(no parts)"] * len(PARTS)


def _issued_scorecard(partnership_id: int, month: Month) -> Scorecard | None:
    """The latest issued version of the partnership's review of the month."""
    return db.session.scalar(
        sa.select(Scorecard)
        .join(Review, Review.id == Scorecard.review_id)
        .where(
            Review.partnership_id == partnership_id,
            Review.first_month == month,
            Review.last_month == month,
        )
        .order_by(Scorecard.version.desc())
        .limit(1)
    )


def _issue_missing(ids: list[int], month: Month) -> None:
    """Last month's scorecard of each partnership that has none, as `make run` issues it."""
    missing = [pid for pid in ids if pid not in batch.issued_for(ids, month)]
    if not missing:
        return
    print(f"Issuing {month.label} for {len(missing)} partnership(s) first…", file=sys.stderr)
    for outcome in batch.issue_month(missing, month, utc_today()):
        if outcome.error:
            raise SystemExit(f"Issuing {outcome.name} failed: {outcome.error}")


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--no-issue",
        action="store_true",
        help="do not issue last month's scorecard where there is none",
    )
    args = parser.parse_args(argv)
    app = create_app()
    month = Month.of(utc_today()).previous()
    with app.app_context():
        partnerships = db.session.execute(
            sa.select(Partnership.id, Partnership.name)
            .where(Partnership.status != PartnershipStatus.ENDED)
            .order_by(Partnership.name)
        ).all()
        if not partnerships:
            raise SystemExit("No partnership: load the demo first (flask demo load).")
        try:
            if not args.no_issue:
                _issue_missing([pid for pid, _ in partnerships], month)
            app.test_client_class = _FreshContextClient
            client = app.test_client()
            _sign_in(client)
            print(
                f"Health and its four parts, {month.label}: overview page / snapshot JSON / PDF\n"
            )
            print(_row(["Partnership", "Read from", *HEADERS]))
            print(_row(["---"] * (2 + len(HEADERS))))
            for pid, name in partnerships:
                shown_month, page = overview_figures(client, pid)
                where = "overview page" + (
                    f" ({shown_month})" if shown_month != month.label else ""
                )
                print(_row([name, where, *page]))
                scorecard = _issued_scorecard(pid, month)
                if scorecard is None:
                    print(_row([name, "snapshot JSON", *["(not issued)"] * len(HEADERS)]))
                    print(_row([name, "PDF", *["(not issued)"] * len(HEADERS)]))
                    continue
                version = f"v{scorecard.version}"
                stored = snapshot_figures(scorecard.snapshot)
                print(_row([name, f"snapshot JSON ({version})", *stored]))
                print(_row([name, f"PDF ({version})", *pdf_figures(scorecard.pdf)]))
        finally:
            chart_images.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
