"""Issuing scorecards: a review's frozen figures → charts → print HTML → PDF, stored for good.

A scorecard is a pure function of its snapshot and its meta (version, issue time, issuer):
``render_pdf(load(scorecard.snapshot), scorecard_meta(scorecard))`` gives the same PDF again
(same text; with the reproducible PDF writer and the charts' stable SVG ids, the same bytes).
So that the issuer's name in that meta cannot drift when the user is renamed or deleted, the
stored snapshot carries the meta under the key ``"meta"`` (``scorecard_data.load`` ignores keys
it does not know).

Versions: a review's scorecards are numbered 1, 2, …; two people issuing at once both compute
"previous + 1", the unique constraint (review, version) refuses the second insert and it is
drawn again with the next number.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import has_app_context

from mls_tracker import access, jobs
from mls_tracker.access import Action, can
from mls_tracker.audit import acting_as
from mls_tracker.extensions import db
from mls_tracker.models import Partnership, Review, Scorecard, User, utcnow
from mls_tracker.scorecards import chart_images, pdf
from mls_tracker.scorecards.charts import scorecard_figures
from mls_tracker.scorecards.html import (
    PRINT_STYLESHEETS,
    environment,
    print_stylesheets,
    render_scorecard_html,
)
from mls_tracker.scorecards.snapshot import LAYOUT_VERSION, ScorecardData, ScorecardMeta, dump, load
from mls_tracker.services import webhooks
from mls_tracker.services.errors import NotFound, ValidationFailed
from mls_tracker.services.reviews import check_summary_before_issue, review_data

log = logging.getLogger("mls_tracker.scorecards")

ISSUE_JOB = "scorecard_issue"
ISSUE_ATTEMPTS = 5  # versions tried when others issue the same review at the same moment
STEPS = 4
ISSUE_MESSAGE = "Only a lead of this partnership can issue its scorecard."

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True, slots=True)
class RenderedScorecard:
    pdf: bytes
    pages: int
    sha256: str


@dataclass(frozen=True, slots=True)
class VerifyResult:
    scorecard_id: int
    partnership_id: int
    partnership_name: str
    review_id: int
    version: int
    stored_sha256: str
    actual_sha256: str

    @property
    def ok(self) -> bool:
        return self.stored_sha256 == self.actual_sha256


def _no_progress(done: int, total: int, message: str) -> None:
    pass


# --- Rendering -------------------------------------------------------------------------------


def _chart_svgs(data: ScorecardData) -> dict[str, str]:
    charts = scorecard_figures(data)
    svgs = chart_images.figures_svg([(c.figure, c.width, c.height) for c in charts])
    return {chart.name: svg for chart, svg in zip(charts, svgs, strict=True)}


def final_html(data: ScorecardData, meta: ScorecardMeta) -> str:
    """The print HTML WeasyPrint lays out (charts drawn; with
    ``print_stylesheets(data.layout)``); the benchmark's baseline input."""
    return render_scorecard_html(data, meta, _chart_svgs(data))


def _render(data: ScorecardData, meta: ScorecardMeta, progress: Progress) -> RenderedScorecard:
    progress(1, STEPS, "Drawing charts")
    charts = _chart_svgs(data)
    progress(2, STEPS, "Laying out pages")
    html = render_scorecard_html(data, meta, charts)
    document, pages = pdf.html_to_pdf_pages(
        html, created_at=meta.issued_at, stylesheets=print_stylesheets(data.layout)
    )
    return RenderedScorecard(document, pages, hashlib.sha256(document).hexdigest())


def render_pdf(data: ScorecardData, meta: ScorecardMeta) -> bytes:
    """The scorecard's PDF: a pure function of the data and the meta."""
    return _render(data, meta, _no_progress).pdf


@jobs.warm_up
def warm_up(*, wait_for_chromium: bool = True) -> None:
    """What a fresh worker's first scorecard would otherwise wait for, done when the worker
    starts (job workers, the command line's forked workers, gunicorn's after the fork):
    Chromium started with plotly.js loaded, WeasyPrint's fonts and the print stylesheets
    loaded, the print templates compiled and the ORM's mappers configured — by laying out a
    whole scorecard, the latest one issued drawn again in today's layout (every kind of chart,
    font and table the first real one meets; nothing is stored), or a tiny page and chart
    when none was issued yet. ``wait_for_chromium=False`` (a web worker, which must answer
    at once) lays out the tiny page only and leaves Chromium booting in the background."""
    chart_images.start()  # Chromium boots while the rest warms up
    so.configure_mappers()
    environment().get_template("scorecard.html")
    if wait_for_chromium and _lay_out_a_scorecard():
        return
    pdf.warm_up(PRINT_STYLESHEETS)
    if wait_for_chromium:
        chart_images.warm_up()


_WARM_UP_META = ScorecardMeta(
    version=1, issued_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), issued_by=None
)


def _lay_out_a_scorecard() -> bool:
    """The latest issued scorecard rendered again in today's layout (the PDF is dropped);
    False when there is none, its snapshot cannot be read any more, or no app (no database)."""
    if not has_app_context():
        return False
    stored = db.session.scalar(sa.select(Scorecard.snapshot).order_by(Scorecard.id.desc()).limit(1))
    db.session.rollback()  # no transaction left open in a worker waiting for its first job
    try:
        data = load(stored) if stored else None
    except (ValueError, KeyError, TypeError):
        data = None
    if data is None:
        return False
    render_pdf(dataclasses.replace(data, layout=LAYOUT_VERSION), _WARM_UP_META)
    return True


# --- Issuing ---------------------------------------------------------------------------------


def _meta_json(meta: ScorecardMeta) -> dict[str, Any]:
    return {
        "version": meta.version,
        "issued_at": meta.issued_at.isoformat() if meta.issued_at else None,
        "issued_by": meta.issued_by,
    }


def scorecard_meta(scorecard: Scorecard) -> ScorecardMeta:
    """What the archive printed on an issued scorecard, as it was on the day."""
    stored = (scorecard.snapshot or {}).get("meta")
    if stored:
        return ScorecardMeta(
            version=stored["version"],
            issued_at=dt.datetime.fromisoformat(stored["issued_at"]),
            issued_by=stored["issued_by"],
        )
    return ScorecardMeta(
        version=scorecard.version,
        issued_at=scorecard.issued_at,
        issued_by=scorecard.issued_by.display_name if scorecard.issued_by else None,
    )


def scorecard_data(scorecard: Scorecard) -> ScorecardData:
    """The figures an issued scorecard was drawn from."""
    return load(scorecard.snapshot)


def _review(review_id: int) -> Review:
    review = db.session.get(Review, review_id)
    if review is None:
        raise ValidationFailed("This review does not exist (any more).")
    return review


def _next_version(review_id: int) -> int:
    latest = db.session.scalar(
        sa.select(sa.func.max(Scorecard.version)).where(Scorecard.review_id == review_id)
    )
    return (latest or 0) + 1


def _issue_time() -> dt.datetime:
    # Whole seconds: the PDF's dates have no fractions, and the stored time should be the same.
    return utcnow().astimezone(dt.UTC).replace(microsecond=0)


def _store(
    review_id: int,
    snapshot: dict[str, Any],
    meta: ScorecardMeta,
    rendered: RenderedScorecard,
    issuer_id: int | None,
    provisional: str | None = None,
) -> Scorecard:
    """The rendered PDF stored as the review's version ``meta.version``, committed (an
    ``IntegrityError`` when someone else took that version number meanwhile)."""
    scorecard = Scorecard(
        review_id=review_id,
        version=meta.version,
        issued_at=meta.issued_at,
        issued_by_id=issuer_id,
        sha256=rendered.sha256,
        pdf=rendered.pdf,
        size_bytes=len(rendered.pdf),
        page_count=rendered.pages,
        snapshot={**snapshot, "meta": _meta_json(meta)},
    )
    with acting_as(issuer_id):
        db.session.add(scorecard)
        db.session.flush()
        _announce(scorecard, provisional)
        db.session.commit()
    return scorecard


def _announce(scorecard: Scorecard, provisional: str | None) -> None:
    """``scorecard.issued``, in the transaction that stores the scorecard."""
    review = _review(scorecard.review_id)
    webhooks.emit(
        "scorecard.issued",
        review.partnership_id,
        {
            "scorecard_id": scorecard.id,
            "review_id": review.id,
            "version": scorecard.version,
            "period": {
                "kind": str(review.kind),
                "first_month": str(review.first_month),
                "last_month": str(review.last_month),
            },
            "issued_at": scorecard.issued_at.isoformat().replace("+00:00", "Z"),
            "issued_by_id": scorecard.issued_by_id,
            "sha256": scorecard.sha256,
            "pages": scorecard.page_count,
            "provisional": provisional,
            "download_path": (
                f"/partnerships/{review.partnership_id}/reviews/scorecards/{scorecard.id}.pdf"
            ),
        },
    )


def issue_scorecard(
    user: User | None, review: Review, *, progress: Progress | None = None
) -> Scorecard:
    """Freezes the review's figures and summary into a new version of its scorecard (PDF,
    SHA-256, snapshot), committed: snapshot → charts → HTML → PDF → stored. ``user=None``:
    the command line."""
    report = progress or _no_progress
    review_id, partnership_id = review.id, review.partnership_id
    if user is not None:
        access.require(user, Action.MANAGE, partnership_id, message=ISSUE_MESSAGE)
    chart_images.start()  # Chromium boots while the figures are gathered
    report(0, STEPS, "Computing figures")
    # Printed in today's layout, whenever its figures were computed; stored with it.
    data = dataclasses.replace(review_data(review), layout=LAYOUT_VERSION)
    snapshot = dump(data)
    issuer_id = user.id if user is not None else None
    issuer_name = user.display_name if user is not None else None
    for attempt in range(ISSUE_ATTEMPTS):
        version = _next_version(review_id)
        meta = ScorecardMeta(version=version, issued_at=_issue_time(), issued_by=issuer_name)
        rendered = _render(data, meta, report)
        report(3, STEPS, f"Storing version {version}")
        try:
            scorecard = _store(review_id, snapshot, meta, rendered, issuer_id, data.provisional)
        except sa.exc.IntegrityError:
            db.session.rollback()
            if attempt == ISSUE_ATTEMPTS - 1:
                raise
            log.info("version %s of review %s taken meanwhile; trying the next", version, review_id)
            continue
        log.info(
            "scorecard issued: review=%s partnership=%s version=%s pages=%s by=%s",
            review_id,
            partnership_id,
            version,
            rendered.pages,
            issuer_id,
        )
        report(STEPS, STEPS, f"Issued version {version} ({rendered.pages} pages)")
        return scorecard
    raise AssertionError("unreachable")


def submit_issue(user: User, review_id: int, *, confirm_stale_summary: bool = False) -> int:
    """Queues issuing a new version of the review's scorecard; the job's id. A summary
    written for other figures (the review was refreshed since) is issued only when the
    lead confirms it."""
    review = _review(review_id)
    access.require(user, Action.MANAGE, review.partnership_id, message=ISSUE_MESSAGE)
    check_summary_before_issue(review, confirmed=confirm_stale_summary)
    return jobs.submit(
        ISSUE_JOB,
        partnership_id=review.partnership_id,
        user_id=user.id,
        params={"review_id": review_id},
    )


@jobs.handler(ISSUE_JOB)
def run_issue(ctx: jobs.JobContext) -> dict[str, Any]:
    user = ctx.acting_user()
    review = _review(int(ctx.params["review_id"]))
    scorecard = issue_scorecard(user, review, progress=ctx.progress)
    return {
        "scorecard_id": scorecard.id,
        "version": scorecard.version,
        "pages": scorecard.page_count,
        "sha256": scorecard.sha256,
    }


# --- The archive -----------------------------------------------------------------------------


def scorecard_for_download(user: User, partnership_id: int, scorecard_id: int) -> Scorecard:
    """An issued scorecard of a partnership the user may see, its review loaded, its PDF and
    snapshot loaded when first read; 404 for anything else (another partnership's, a missing
    one, a non-member), so nobody learns what exists."""
    if not can(user, Action.VIEW, partnership_id):
        raise NotFound()
    # One query with its review; the PDF and the snapshot (tens to hundreds of KB) are read
    # only when asked for (the download, the snapshot), not for the metadata.
    scorecard = db.session.scalar(
        sa.select(Scorecard)
        .join(Review, Review.id == Scorecard.review_id)
        .where(Scorecard.id == scorecard_id, Review.partnership_id == partnership_id)
        .options(
            so.defer(Scorecard.pdf),
            so.defer(Scorecard.snapshot),
            so.contains_eager(Scorecard.review),
        )
    )
    if scorecard is None:
        raise NotFound()
    return scorecard


def verify_scorecards() -> list[VerifyResult]:
    """Every stored scorecard's bytes hashed again and compared with its stored SHA-256."""
    rows: Iterable[Any] = db.session.execute(
        sa.select(
            Scorecard.id,
            Review.partnership_id,
            Partnership.name,
            Scorecard.review_id,
            Scorecard.version,
            Scorecard.sha256,
            Scorecard.pdf,
        )
        .join(Review, Scorecard.review_id == Review.id)
        .join(Partnership, Review.partnership_id == Partnership.id)
        .order_by(Scorecard.id)
        .execution_options(yield_per=20)
    )
    return [
        VerifyResult(
            scorecard_id=row.id,
            partnership_id=row.partnership_id,
            partnership_name=row.name,
            review_id=row.review_id,
            version=row.version,
            stored_sha256=row.sha256,
            actual_sha256=hashlib.sha256(row.pdf or b"").hexdigest(),
        )
        for row in rows
    ]
