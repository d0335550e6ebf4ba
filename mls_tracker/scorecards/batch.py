"""Issuing a month's scorecards for many partnerships (``flask scorecards issue``), in this
process or in several forked ones, and checking every stored PDF (``flask scorecards verify``
uses ``issuing.verify_scorecards``).

Files (``--out``): each PDF is written atomically — a temporary file in the same folder,
flushed to disk, then renamed over the final name — so a full disk or a crash never leaves a
truncated PDF under a scorecard's name. A scorecard is issued (stored in the archive) before
its file is written: when only the file fails, the outcome says "issued, file not written"
(``file_error``), and ``write_missing_files`` writes it later from the archive without issuing
anything again.

Workers are forked processes: each disposes of the database connections it inherited and
starts its own kaleido/Chromium on first use (``chart_images`` checks the pid), so nothing is
shared between them but the database.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import multiprocessing
import multiprocessing.util
import os
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, current_app

from mls_tracker import jobs
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
    error: str | None = None  # not issued
    file_error: str | None = None  # issued (in the archive), but its file was not written


@dataclass(frozen=True, slots=True)
class FileRepair:
    """An archived scorecard whose file was missing or incomplete in the ``--out`` folder:
    written again from the archive (``error`` is None) or not (why)."""

    partnership_id: int
    name: str
    scorecard_id: int
    version: int
    path: str
    error: str | None = None


def _os_reason(error: OSError) -> str:
    return error.strerror or str(error)


def write_atomically(target: Path, data: bytes) -> None:
    """``data`` under ``target``, all of it or nothing: written to a temporary file in the same
    folder, flushed to disk (fsync), then renamed over ``target``. On any error the temporary
    file is removed and ``target`` is left as it was; the ``OSError`` propagates."""
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        _remove_quietly(temporary)
        raise
    os.close(fd)
    try:
        os.replace(temporary, target)
    except BaseException:
        _remove_quietly(temporary)
        raise
    try:  # the rename itself survives a crash once the folder is flushed too
        folder = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(folder)
    finally:
        os.close(folder)


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def file_is_complete(target: Path, sha256: str, size: int) -> bool:
    """Whether ``target`` holds exactly the archived bytes (size, then SHA-256)."""
    try:
        if target.stat().st_size != size:
            return False
        return hashlib.sha256(target.read_bytes()).hexdigest() == sha256
    except OSError:
        return False


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
    a failure is the outcome's ``error``; a scorecard issued whose file could not be written
    is the outcome's ``file_error`` (it is in the archive: not a failure to issue)."""
    name = db.session.scalar(sa.select(Partnership.name).where(Partnership.id == partnership_id))
    if name is None:
        return Outcome(partnership_id, f"#{partnership_id}", error="no such partnership")
    try:
        chart_images.start()  # Chromium boots while the month's figures are computed
        review = month_review(partnership_id, month, today)
        # Nobody confirms at the command line: a summary written for other figures waits.
        check_summary_before_issue(review, confirmed=False)
        scorecard = issue_scorecard(None, review)
    except (DomainError, OSError) as error:
        db.session.rollback()
        return Outcome(partnership_id, name, error=str(error))
    except Exception as error:  # one partnership's bug must not stop the month
        db.session.rollback()
        current_app.logger.exception("issuing partnership %s failed", partnership_id)
        return Outcome(partnership_id, name, error=f"unexpected error: {error!r}")
    # Issued and committed: whatever happens to its file or its e-mails, it is in the archive.
    path, file_error = None, None
    if out is not None:
        target = Path(out) / scorecard_filename(name, month, month, scorecard.version)
        path = str(target)
        try:
            write_atomically(target, scorecard.pdf)
        except OSError as error:
            file_error = _os_reason(error)
    try:
        sent = _send(scorecard, base_url) if send else None
    except Exception as error:
        db.session.rollback()
        current_app.logger.exception("sending partnership %s's scorecard failed", partnership_id)
        sent = f"not sent: {error}"
    return Outcome(
        partnership_id, name, scorecard.id, scorecard.version, path, sent, file_error=file_error
    )


def write_missing_files(ids: Sequence[int], month: Month, out: str) -> list[FileRepair]:
    """For each of these partnerships whose review of ``month`` has an issued scorecard: its
    latest version's file in ``out``, written from the archive when it is missing or does not
    hold the archived bytes (a truncated or stale file). Issues nothing. One ``FileRepair``
    per file written or not written; complete files are left alone."""
    latest = (
        sa.select(
            Review.partnership_id,
            Partnership.name,
            Scorecard.id,
            Scorecard.version,
            Scorecard.sha256,
            Scorecard.size_bytes,
        )
        .join(Scorecard, Scorecard.review_id == Review.id)
        .join(Partnership, Partnership.id == Review.partnership_id)
        .where(
            Review.partnership_id.in_(list(ids)),
            Review.first_month == month,
            Review.last_month == month,
        )
        .order_by(Review.partnership_id, Scorecard.version.desc())
    )
    repairs: list[FileRepair] = []
    seen: set[int] = set()
    for row in db.session.execute(latest).all():
        if row.partnership_id in seen:
            continue
        seen.add(row.partnership_id)
        target = Path(out) / scorecard_filename(row.name, month, month, row.version)
        if file_is_complete(target, row.sha256, row.size_bytes):
            continue
        pdf = db.session.scalar(sa.select(Scorecard.pdf).where(Scorecard.id == row.id))
        error = None
        try:
            write_atomically(target, pdf or b"")
        except OSError as failure:
            error = _os_reason(failure)
        repairs.append(
            FileRepair(row.partnership_id, row.name, row.id, row.version, str(target), error)
        )
    return repairs


# --- Worker processes --------------------------------------------------------------------------

_worker_app: Flask | None = None


def _worker_start() -> None:
    """In a freshly forked worker: its own database connections (the pool it inherited is
    the parent's and is dropped without closing the parent's sockets)."""
    assert _worker_app is not None
    with _worker_app.app_context():
        db.engine.dispose(close=False)
        # Warm before the first partnership: Chromium, WeasyPrint's fonts, the templates.
        jobs.warm_up_worker()
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
