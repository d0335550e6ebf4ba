"""``flask scorecards issue`` (a month's scorecards, in several processes if asked) and
``flask scorecards verify`` (every stored PDF against its SHA-256).

Workers are forked processes: each disposes of the database connections it inherited and
starts its own kaleido/Chromium on first use (``chart_images`` checks the pid), so nothing is
shared between them but the database.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import multiprocessing.util
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup

from mls_tracker.extensions import db
from mls_tracker.models import (
    DeliveryResult,
    Partnership,
    PartnershipStatus,
    Review,
    ReviewKind,
    Scorecard,
)
from mls_tracker.periods import Month, utc_today
from mls_tracker.scorecards import chart_images
from mls_tracker.scorecards import issuing as scorecards
from mls_tracker.scorecards.delivery import scorecard_filename, send_scorecard
from mls_tracker.services.errors import DomainError

scorecards_cli = AppGroup("scorecards", help="Issued PDF scorecards.")


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
        scorecard = scorecards.issue_scorecard(None, review)
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
):
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


def _partnership_ids(partnership_ids: tuple[int, ...], everyone: bool) -> list[int]:
    if everyone:
        return list(
            db.session.scalars(
                sa.select(Partnership.id)
                .where(Partnership.status != PartnershipStatus.ENDED)
                .order_by(Partnership.id)
            )
        )
    return list(dict.fromkeys(partnership_ids))


def _issued_for(ids: list[int], month: Month) -> set[int]:
    """Of these partnerships, those whose review of ``month`` has an issued scorecard."""
    return set(
        db.session.scalars(
            sa.select(Review.partnership_id)
            .join(Scorecard, Scorecard.review_id == Review.id)
            .where(
                Review.partnership_id.in_(ids),
                Review.first_month == month,
                Review.last_month == month,
            )
        )
    )


@scorecards_cli.command("issue")
@click.option(
    "--period",
    required=True,
    help="The month, YYYY-MM (a complete month), or 'last' for the last complete month.",
)
@click.option(
    "--partnership", "partnership_ids", type=int, multiple=True, help="A partnership id (repeat)."
)
@click.option("--all", "everyone", is_flag=True, help="Every partnership that has not ended.")
@click.option("--send", is_flag=True, help="E-mail each one to the partnership's sponsors.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, writable=True, path_type=Path),
    help="Also write each PDF into this folder.",
)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 32))
@click.option(
    "--missing-only",
    is_flag=True,
    help="Skip partnerships whose month already has an issued scorecard (safe to run again).",
)
@click.option(
    "--base-url",
    default=None,
    help="Where the app is served, for the acknowledgement links in the e-mails "
    "(default: SERVER_NAME if set, else http://localhost:5000).",
)
def issue_command(
    period: str,
    partnership_ids: tuple[int, ...],
    everyone: bool,
    send: bool,
    out: Path | None,
    workers: int,
    missing_only: bool,
    base_url: str | None,
) -> None:
    """Issue a new version of the month's scorecard for each partnership, opening the
    month's review where there is none."""
    today = utc_today()
    try:
        month = Month.of(today).previous() if period == "last" else Month.parse(period)
    except ValueError as error:
        raise click.BadParameter(
            "write the month as YYYY-MM, or 'last' for the last complete month",
            param_hint="--period",
        ) from error
    if month >= Month.of(today):
        raise click.BadParameter(
            f"{month.label} is not over yet: choose {Month.of(today).previous()} or earlier.",
            param_hint="--period",
        )
    if everyone == bool(partnership_ids):
        raise click.UsageError("Give --partnership ID (one or more) or --all.")
    ids = _partnership_ids(partnership_ids, everyone)
    if missing_only:
        issued = _issued_for(ids, month)
        if issued:
            click.echo(f"Skipping {len(issued)} partnership(s) already issued for {month.label}.")
        ids = [pid for pid in ids if pid not in issued]
        if not ids:
            click.echo("Nothing to issue.")
            return
    if not ids:
        raise click.ClickException("No partnership to issue a scorecard for.")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    folder = str(out) if out is not None else None
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    started = time.perf_counter()
    outcomes: list[Outcome] = []
    if workers == 1:
        results = (issue_one(pid, month, today, folder, send, base_url) for pid in ids)
    else:
        results = _run_in_workers(app, ids, month, today, folder, send, base_url, workers)
    with click.progressbar(
        length=len(ids), label=f"Issuing {month.label} scorecards", show_pos=True
    ) as bar:
        for outcome in results:
            outcomes.append(outcome)
            bar.update(1)
    _summary(outcomes, time.perf_counter() - started, workers)
    if any(outcome.error for outcome in outcomes):
        raise SystemExit(1)


def _summary(outcomes: list[Outcome], seconds: float, workers: int) -> None:
    issued = [o for o in outcomes if o.error is None]
    failed = [o for o in outcomes if o.error is not None]
    for outcome in sorted(issued, key=lambda o: o.name):
        line = f"  issued  {outcome.name} (#{outcome.partnership_id}): v{outcome.version}"
        if outcome.path:
            line += f" → {outcome.path}"
        if outcome.sent:
            line += f"; {outcome.sent}"
        click.echo(line)
    for outcome in sorted(failed, key=lambda o: o.name):
        click.echo(f"  FAILED  {outcome.name} (#{outcome.partnership_id}): {outcome.error}")
    rate = len(issued) / seconds * 60 if seconds > 0 else 0.0
    click.echo(
        f"Issued {len(issued)}, failed {len(failed)} in {seconds:.1f} s "
        f"({rate:.1f} scorecards/min, {workers} worker{'s' if workers != 1 else ''})."
    )


@scorecards_cli.command("verify")
def verify_command() -> None:
    """Check every stored scorecard's bytes against its SHA-256; exit 1 on any mismatch."""
    results = scorecards.verify_scorecards()
    bad = [result for result in results if not result.ok]
    for result in bad:
        click.echo(
            f"MISMATCH scorecard #{result.scorecard_id} ({result.partnership_name}, "
            f"review #{result.review_id}, v{result.version}): stored {result.stored_sha256}, "
            f"file hashes to {result.actual_sha256}"
        )
    click.echo(f"Checked {len(results)} scorecards: {len(results) - len(bad)} ok, {len(bad)} bad.")
    if bad:
        raise SystemExit(1)


def register_cli(app: Flask) -> None:
    app.cli.add_command(scorecards_cli)
