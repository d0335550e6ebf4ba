"""Issuing a month's scorecards for many partnerships (``flask scorecards issue``), in this
process or in several forked ones, and checking every stored PDF (``flask scorecards verify``
uses ``issuing.verify_scorecards``).

Workers are forked processes: each disposes of the database connections it inherited and
starts its own kaleido/Chromium on first use (``chart_images`` checks the pid), so nothing is
shared between them but the database.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import multiprocessing.util
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, current_app

from mls_tracker.extensions import db
from mls_tracker.models import (
    DeliveryResult,
    Partnership,
    PartnershipStatus,
    Review,
    ReviewKind,
    Scorecard,
)
from mls_tracker.periods import Month
from mls_tracker.scorecards import chart_images
from mls_tracker.scorecards.delivery import scorecard_filename, send_scorecard
from mls_tracker.scorecards.issuing import issue_scorecard
from mls_tracker.services.errors import DomainError
from mls_tracker.services.reviews import check_summary_before_issue


@dataclass(frozen=True, slots=True)
class Outcome:
    partnership_id: int
    name: str
    scorecard_id: int | None = None
    version: int | None = None
    path: str | None = None
    sent: str | None = None  # "3 sent, 0 failed"
    error: str | None = None


def month_review(partnership_id: int, month: Month, today: dt.date) -> Review:
    """The partnership's review of ``month``, opened now (by the command line) when it has
    none."""
    from mls_tracker.services import reviews

    found = db.session.scalar(
        sa.select(Review).where(
            Review.partnership_id == partnership_id,
            Review.first_month == month,
            Review.last_month == month,
        )
    )
    if found is not None:
        return found
    return reviews.open_review(
        None, partnership_id, kind=ReviewKind.MONTHLY, first_month=month, today=today
    )


def _send(scorecard: Scorecard, base_url: str | None) -> str:
    deliveries = send_scorecard(None, scorecard, base_url=base_url)
    sent = sum(1 for d in deliveries if d.result is DeliveryResult.SENT)
    return f"{sent} sent, {len(deliveries) - sent} failed"


def issue_one(
    partnership_id: int,
    month: Month,
    today: dt.date,
    out: str | None,
    send: bool,
    base_url: str | None = None,
) -> Outcome:
    """Opens (if needed) and issues one partnership's scorecard of the month. Never raises:
    a failure is the outcome's ``error``."""
    name = db.session.scalar(sa.select(Partnership.name).where(Partnership.id == partnership_id))
    if name is None:
        return Outcome(partnership_id, f"#{partnership_id}", error="no such partnership")
    try:
        chart_images.start()  # Chromium boots while the month's figures are computed
        review = month_review(partnership_id, month, today)
        # Nobody confirms at the command line: a summary written for other figures waits.
        check_summary_before_issue(review, confirmed=False)
        scorecard = issue_scorecard(None, review)
        path = None
        if out is not None:
            target = Path(out) / scorecard_filename(name, month, month, scorecard.version)
            target.write_bytes(scorecard.pdf)
            path = str(target)
        sent = _send(scorecard, base_url) if send else None
        return Outcome(partnership_id, name, scorecard.id, scorecard.version, path, sent)
    except (DomainError, OSError) as error:
        db.session.rollback()
        return Outcome(partnership_id, name, error=str(error))
    except Exception as error:  # one partnership's bug must not stop the month
        db.session.rollback()
        current_app.logger.exception("issuing partnership %s failed", partnership_id)
        return Outcome(partnership_id, name, error=f"unexpected error: {error!r}")


# --- Worker processes --------------------------------------------------------------------------

_worker_app: Flask | None = None


def _worker_start() -> None:
    """In a freshly forked worker: its own database connections (the pool it inherited is
    the parent's and is dropped without closing the parent's sockets)."""
    assert _worker_app is not None
    with _worker_app.app_context():
        db.engine.dispose(close=False)
    # A pool's worker leaves through os._exit, past atexit: close its Chromium on the way.
    multiprocessing.util.Finalize(None, chart_images.shutdown, exitpriority=10)


def _worker_issue(
    partnership_id: int, month: str, today: str, out: str | None, send: bool, base_url: str | None
) -> Outcome:
    assert _worker_app is not None
    with _worker_app.app_context():
        try:
            return issue_one(
                partnership_id,
                Month.parse(month),
                dt.date.fromisoformat(today),
                out,
                send,
                base_url,
            )
        finally:
            db.session.remove()


def _run_in_workers(
    app: Flask,
    ids: list[int],
    month: Month,
    today: dt.date,
    out: str | None,
    send: bool,
    base_url: str | None,
    n: int,
) -> Iterator[Outcome]:
    global _worker_app
    _worker_app = app
    db.session.remove()
    db.engine.dispose()  # nothing open to inherit
    pool = ProcessPoolExecutor(
        max_workers=n,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_worker_start,
    )
    try:
        futures = [
            pool.submit(_worker_issue, pid, str(month), today.isoformat(), out, send, base_url)
            for pid in ids
        ]
        for future in as_completed(futures):
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        _worker_app = None


def issue_month(
    ids: Sequence[int],
    month: Month,
    today: dt.date,
    *,
    out: str | None = None,
    send: bool = False,
    base_url: str | None = None,
    workers: int = 1,
) -> Iterator[Outcome]:
    """Issues the month's scorecard of each partnership, one outcome per partnership as it
    finishes (in order with one worker; as they come with several forked workers)."""
    ids = list(ids)
    if workers == 1:
        return (issue_one(pid, month, today, out, send, base_url) for pid in ids)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return _run_in_workers(app, ids, month, today, out, send, base_url, workers)


# --- Which partnerships --------------------------------------------------------------------------


def partnerships_to_issue(partnership_ids: Sequence[int], everyone: bool) -> list[int]:
    """The given partnerships (each once, in the order given), or with ``everyone`` every
    partnership that has not ended and is not archived (an archived one is read-only)."""
    if everyone:
        return list(
            db.session.scalars(
                sa.select(Partnership.id)
                .where(
                    Partnership.status != PartnershipStatus.ENDED,
                    Partnership.archived_at.is_(None),
                )
                .order_by(Partnership.id)
            )
        )
    return list(dict.fromkeys(partnership_ids))


def issued_for(ids: Sequence[int], month: Month) -> set[int]:
    """Of these partnerships, those whose review of ``month`` has an issued scorecard."""
    return set(
        db.session.scalars(
            sa.select(Review.partnership_id)
            .join(Scorecard, Scorecard.review_id == Review.id)
            .where(
                Review.partnership_id.in_(list(ids)),
                Review.first_month == month,
                Review.last_month == month,
            )
        )
    )
