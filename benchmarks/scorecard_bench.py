"""The scorecard bars of QUALITY.md: one warm scorecard (and its ratio to WeasyPrint alone),
the first one in a fresh worker, a month of the large portfolio (whole, 2 workers) and the
throughput with 1 and 2 workers, and an issued scorecard downloaded again. Each bar is printed
and recorded with ``benchmarks.common.record_bar``.

    .venv/bin/python benchmarks/scorecard_bench.py                 # everything, the month whole
    .venv/bin/python benchmarks/scorecard_bench.py --quick         # the month on 20 partnerships,
                                                                   # extrapolated (labelled so)
    .venv/bin/python benchmarks/scorecard_bench.py --quick --limit 40
    .venv/bin/python benchmarks/scorecard_bench.py --skip-month    # no large portfolio

What is measured:

- **warm**: ``scorecards.issuing.render_pdf(data, meta)`` — figures, charts drawn by kaleido
  (the SVG cache cleared before each, so every chart is really drawn), print HTML, PDF bytes —
  for ≥ 10 distinct demo snapshots (each partnership × several months, built from the demo
  database beforehand), after one unmeasured warm-up. The baseline is WeasyPrint alone
  (``pdf.html_to_pdf`` with the print stylesheets) on the very same final HTML, measured right
  after each.
- **first in a fresh worker**: a new Python process (on a copy of the demo database) starts as
  a worker does — the app created, then the workers' warm-up (``jobs.warm_up_worker``, what
  huey's start-up hook, the command line's forked workers and gunicorn's ``post_worker_init``
  run: Chromium started with plotly.js loaded, WeasyPrint's fonts, the templates) — and then
  issues its first scorecard as a job would: the month's review opened, charts, layout,
  stored. The bar is that first scorecard (warm-up done → stored PDF), median of 3 processes;
  the start-up (spawn → warm) is printed beside it. (On PostgreSQL it runs on the demo database
  itself, so only the first run opens the review.)
- **the month**: ``flask scorecards issue --period <month> --all --workers 2`` on the large
  portfolio (.bench/large.db), in a subprocess, on a month whose reviews and scorecards are
  deleted first — so the run opens the month's reviews, as the first run of a month does;
  measured whole, every partnership. The throughput with 1 worker is measured on a sample
  (``--limit``, 20 by default) of another month and compared with the whole run's.
  ``--quick``: both runs on the sample, the month's time extrapolated (labelled so).
- **download**: an issued scorecard fetched again through ``reviews.download_scorecard``
  (Flask test client, signed in as the lead): p50/p95 of 50 requests, bytes compared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    LEAD_EMAIL,
    PASSWORD,
    ROOT,
    log,
    make_app,
    quiet_logging,
    record_bar,
)

WARM_P50 = 1.5  # seconds
WARM_RATIO = 1.6  # × WeasyPrint alone
FIRST = 3.0  # seconds
MONTH_ALL = 240.0  # seconds for every partnership of the large portfolio
DOWNLOAD = 0.100  # seconds

_results: list[tuple[str, str, bool | None]] = []


def verdict(what: str, figure: str, ok: bool | None, *, where: str = "", note: str = "") -> None:
    """Prints a bar's figure and records it for `make bench`'s table (``record_bar``)."""
    _results.append((what, figure, ok))
    mark = "PASS" if ok else "n/a" if ok is None else "MISS"
    log(f"{mark:4}  {what}: {figure}" + (f" ({note})" if note else ""))
    record_bar(what, figure, ok, where=where, note=note)


def where(size: str, url: str) -> str:
    return f"{size}, {'PostgreSQL' if url.startswith('postgres') else 'SQLite'}"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# --- Warm scorecards -----------------------------------------------------------------------


def demo_snapshots(app: Any, count: int) -> list[Any]:
    """Distinct demo snapshots: each partnership, its last months, as reviews would freeze
    them (computed here, nothing written)."""
    import sqlalchemy as sa

    from mls_tracker.extensions import db
    from mls_tracker.models import Partnership, ReviewKind
    from mls_tracker.periods import Month, utc_today
    from mls_tracker.scorecards.build import build_scorecard_data

    with app.app_context():
        ids = list(db.session.scalars(sa.select(Partnership.id).order_by(Partnership.id)))
        today = utc_today()
        last = Month.of(today).previous()
        snapshots = []
        back = 0
        while len(snapshots) < count:
            month = last.shift(-back)
            for pid in ids:
                snapshots.append(build_scorecard_data(pid, ReviewKind.MONTHLY, month, month, today))
            back += 1
        return snapshots[:count]


def bench_warm(app: Any, samples: int, place: str) -> str:
    from mls_tracker.scorecards import chart_images, pdf
    from mls_tracker.scorecards import issuing as scorecards
    from mls_tracker.scorecards.html import print_stylesheets
    from mls_tracker.scorecards.snapshot import ScorecardMeta

    log(f"== warm scorecard: {samples} distinct demo snapshots ==")
    snapshots = demo_snapshots(app, samples)
    meta = ScorecardMeta(
        version=1, issued_at=dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC), issued_by="Bench"
    )
    scorecards.render_pdf(snapshots[0], meta)  # warm-up: Chromium, fonts, templates
    totals, alone, pages = [], [], []
    for data in snapshots:
        chart_images.clear_cache()
        started = time.perf_counter()
        document = scorecards.render_pdf(data, meta)
        totals.append(time.perf_counter() - started)
        html = scorecards.final_html(data, meta)  # charts now cached: the same HTML
        started = time.perf_counter()
        sheets = print_stylesheets(data.layout)
        again = pdf.html_to_pdf(html, created_at=meta.issued_at, stylesheets=sheets)
        alone.append(time.perf_counter() - started)
        pages.append(pdf.page_count(document))
        assert again == document, "the final HTML is not the one render_pdf laid out"
    p50, base = statistics.median(totals), statistics.median(alone)
    ratios = [t / w for t, w in zip(totals, alone, strict=True)]
    log(
        f"  data → PDF: p50 {p50:.3f} s, p95 {percentile(totals, 0.95):.3f} s, "
        f"min {min(totals):.3f} s; WeasyPrint alone p50 {base:.3f} s; pages {min(pages)}–"
        f"{max(pages)}; per-sample ratio median {statistics.median(ratios):.2f}"
    )
    note = f"{len(snapshots)} distinct snapshots, charts drawn each time"
    verdict("warm scorecard p50 (≤ 1.5 s)", f"{p50:.2f} s", p50 <= WARM_P50, where=place, note=note)
    ratio = p50 / base
    verdict(
        "warm ÷ WeasyPrint alone (≤ 1.6)",
        f"{ratio:.2f} ({p50:.2f} s ÷ {base:.2f} s)",
        ratio <= WARM_RATIO,
        where=place,
        note="same final HTML",
    )
    chart_images.shutdown()
    return f"{p50:.2f} s, ratio {ratio:.2f}"


# --- First scorecard in a fresh process ----------------------------------------------------------

FRESH = """
import sys, time
sys.path.insert(0, {root!r})
from benchmarks.common import make_app, quiet_logging
with quiet_logging():
    app = make_app({url!r})
    from mls_tracker import jobs
    from mls_tracker.periods import Month, utc_today
    from mls_tracker.scorecards.batch import issue_one
    with app.app_context():
        jobs.warm_up_worker()  # what a worker does when it starts, before its first job
    print("WARM", time.time(), flush=True)
    with app.app_context():
        today = utc_today()
        outcome = issue_one(1, Month.of(today).previous(), today, None, False)
    ready = time.time()
    assert outcome.error is None, outcome.error
    print("READY", ready)
"""


def bench_first(url: str, place: str, runs: int = 3) -> None:
    """A job worker's first scorecard, in a new process on a copy of the demo database: the
    process starts as a worker does (app, then the workers' warm-up), then issues as a job
    would — open the month's review (figures computed), charts, layout, stored. Timed from
    the end of the warm-up to the stored PDF (the bar) and from spawn (printed); the process's
    teardown (closing Chromium) is not part of the wait."""
    import shutil
    import tempfile

    log(f"== first scorecard in a fresh worker ({runs} processes) ==")
    walls, startups = [], []
    with tempfile.TemporaryDirectory() as folder:
        for run in range(runs):
            target = url  # PostgreSQL: the demo database itself (the review is reused)
            if url.startswith("sqlite:///"):
                copy = Path(folder) / f"demo-{run}.db"
                shutil.copyfile(url.removeprefix("sqlite:///"), copy)
                target = f"sqlite:///{copy}"
            script = FRESH.format(root=str(ROOT), url=target)
            spawned = time.time()
            done = subprocess.run(  # noqa: S603
                [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True
            )
            lines = done.stdout.splitlines()
            ready = [float(line.split()[1]) for line in lines if line.startswith("READY")]
            warm = [float(line.split()[1]) for line in lines if line.startswith("WARM")]
            if done.returncode != 0 or not ready or not warm:
                log(done.stdout[-1000:] + done.stderr[-2000:])
                verdict("first scorecard in a fresh worker (≤ 3 s)", "FAILED", False, where=place)
                return
            walls.append(ready[0] - warm[0])
            startups.append(warm[0] - spawned)
    log("  worker start-up (spawn → warm): " + ", ".join(f"{w:.2f} s" for w in startups))
    log("  first scorecard (warm → stored PDF): " + ", ".join(f"{w:.2f} s" for w in walls))
    first = statistics.median(walls)
    verdict(
        "first scorecard in a fresh worker (≤ 3 s)",
        f"{first:.2f} s",
        first <= FIRST,
        where=place,
        note=(
            f"median of {runs} processes, from the worker's warm start; the start-up itself "
            f"(spawn → warm) took {statistics.median(startups):.1f} s"
        ),
    )


# --- A month of the large portfolio --------------------------------------------------------------

RUN_MONTH = """
import sys, time
sys.path.insert(0, {root!r})
from benchmarks.common import make_app, quiet_logging
with quiet_logging():
    app = make_app({url!r})
    args = {args!r}
    with app.app_context():
        started = time.perf_counter()
        result = app.test_cli_runner().invoke(args=args)
        print(result.output[-3000:])
        print("SECONDS", time.perf_counter() - started)
        sys.exit(result.exit_code)
"""


def _reset_month(app: Any, month: Any) -> None:
    """Deletes the month's reviews and their scorecards, so the run opens them again."""
    import sqlalchemy as sa

    from mls_tracker.extensions import db
    from mls_tracker.models import Review, Scorecard, ScorecardDelivery

    with app.app_context():
        reviews = sa.select(Review.id).where(
            Review.first_month == month, Review.last_month == month
        )
        cards = sa.select(Scorecard.id).where(Scorecard.review_id.in_(reviews))
        db.session.execute(
            sa.delete(ScorecardDelivery).where(ScorecardDelivery.scorecard_id.in_(cards))
        )
        db.session.execute(sa.delete(Scorecard).where(Scorecard.review_id.in_(reviews)))
        db.session.execute(sa.delete(Review).where(Review.id.in_(reviews)))
        db.session.commit()
        db.engine.dispose()


def _issue_month(url: str, month: Any, chosen: list[int] | None, workers: int) -> float | None:
    """Seconds ``flask scorecards issue`` took for the month (every partnership with
    ``chosen=None``), in a subprocess, after the month's reviews were deleted; None if it
    failed."""
    app = make_app(url)
    _reset_month(app, month)
    args = ["scorecards", "issue", "--period", str(month), "--workers", str(workers)]
    if chosen is None:
        args.append("--all")
    else:
        for pid in chosen:
            args += ["--partnership", str(pid)]
    script = RUN_MONTH.format(root=str(ROOT), url=url, args=args)
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True
    )
    summary = [line for line in done.stdout.splitlines() if line.startswith("Issued ")]
    seconds = [
        float(line.split()[1]) for line in done.stdout.splitlines() if line.startswith("SECONDS")
    ]
    if done.returncode != 0 or not seconds:
        log(done.stdout[-1500:] + done.stderr[-1500:])
        return None
    log(f"  --workers {workers} ({month}): {summary[0] if summary else ''} in {seconds[0]:.1f} s")
    return seconds[0]


def bench_month(url: str, sample: int, quick: bool) -> None:
    """The month with 2 workers — whole, or with ``quick`` on ``sample`` partnerships and
    extrapolated — and the throughput with 1 worker on ``sample`` partnerships."""
    import sqlalchemy as sa

    from mls_tracker.extensions import db
    from mls_tracker.models import Partnership, PartnershipStatus
    from mls_tracker.periods import Month, utc_today

    app = make_app(url)
    with app.app_context():
        ids = list(db.session.scalars(
            sa.select(Partnership.id)
            .where(Partnership.status != PartnershipStatus.ENDED)
            .order_by(Partnership.id)
        ))  # fmt: skip
        db.engine.dispose()
    place = where("large", url)
    chosen = ids[: max(1, sample)]
    what = f"{len(chosen)} of {len(ids)} (--quick)" if quick else f"all {len(ids)}"
    log(f"== the month, large portfolio: {what} with 2 workers; 1 worker on {len(chosen)} ==")
    last = Month.of(utc_today()).previous()
    rates: dict[int, float] = {}
    one = _issue_month(url, last.shift(-1), chosen, 1)
    if one is not None:
        rates[1] = len(chosen) / one * 60
    two = _issue_month(url, last, chosen if quick else None, 2)
    bar = f"all {len(ids)} scorecards of a month, 2 workers (≤ 4 min on 2 cores)"
    if two is None:
        verdict(bar, "FAILED", False, where=place)
    else:
        issued = len(chosen) if quick else len(ids)
        rates[2] = issued / two * 60
        whole = two * len(ids) / issued
        note = (
            f"EXTRAPOLATED from {issued} partnerships (--quick), not measured whole"
            if quick
            else "measured whole"
        )
        verdict(
            bar,
            f"{whole:.0f} s, {rates[2]:.1f} scorecards/min",
            whole <= MONTH_ALL,
            where=place,
            note=f"{note}; load average {os.getloadavg()[0]:.1f} at the end",
        )
    if 1 in rates and 2 in rates:
        verdict(
            "scorecard throughput grows with workers",
            f"{rates[1]:.1f} → {rates[2]:.1f} scorecards/min (×{rates[2] / rates[1]:.2f})",
            rates[2] > rates[1],
            where=place,
            note=f"1 worker on {len(chosen)} partnerships, 2 workers on {what}",
        )
    else:
        verdict("scorecard throughput grows with workers", "FAILED", False, where=place)


# --- Download again ------------------------------------------------------------------------------


def bench_download(app: Any, place: str, requests: int = 50) -> None:
    import sqlalchemy as sa

    from mls_tracker.extensions import db
    from mls_tracker.models import Partnership
    from mls_tracker.periods import Month, utc_today
    from mls_tracker.scorecards import issuing as scorecards
    from mls_tracker.scorecards.batch import month_review

    log(f"== an issued scorecard downloaded again ({requests} requests) ==")
    with app.app_context():
        pid = db.session.scalar(sa.select(Partnership.id).order_by(Partnership.id))
        review = month_review(pid, Month.of(utc_today()).previous(), utc_today())
        scorecard = scorecards.issue_scorecard(None, review)
        scorecard_id, stored = scorecard.id, scorecard.pdf
        db.session.remove()
    from mls_tracker.scorecards import chart_images

    chart_images.shutdown()
    client = app.test_client()
    body = client.get("/login").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', body)
    assert token, "no CSRF token on /login"
    form = {"email": LEAD_EMAIL, "password": PASSWORD, "csrf_token": token.group(1)}
    assert client.post("/login", data=form).status_code == 302
    with app.test_request_context():
        from flask import url_for

        try:
            url = url_for(
                "reviews.download_scorecard", partnership_id=pid, scorecard_id=scorecard_id
            )
        except Exception:  # noqa: BLE001 - the route is the pages helper's
            url = None
    if url is None:
        verdict("download again (< 100 ms, byte-identical)", "route missing", None, where=place)
        return
    times, same = [], True
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        same = same and response.status_code == 200 and response.data == stored
    p50, p95 = statistics.median(times), percentile(times, 0.95)
    log(f"  {url}: p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, {len(stored):,} bytes")
    verdict(
        "download again (< 100 ms, byte-identical)",
        f"p95 {p95 * 1000:.1f} ms, {'identical' if same else 'DIFFERENT'}",
        p95 < DOWNLOAD and same,
        where=place,
        note=f"{requests} requests, Flask test client, {len(stored):,} bytes",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=12, help="warm scorecards (≥ 10)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the month on --limit partnerships, extrapolated (labelled so), not measured whole",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=20,
        help="partnerships of the 1-worker run (and of the 2-worker run with --quick); 20",
    )
    parser.add_argument("--skip-month", action="store_true", help="no large portfolio run")
    args = parser.parse_args(argv)
    from benchmarks.large_portfolio import ensure_built

    started = time.perf_counter()
    with quiet_logging():
        demo_url, _ = ensure_built("demo")
        app = make_app(demo_url)
        place = where("demo", demo_url)
        bench_warm(app, max(10, args.samples), place)
        bench_first(demo_url, place)
        bench_download(app, place)
        if not args.skip_month:
            large_url, _ = ensure_built("large")
            bench_month(large_url, args.limit, args.quick)
    took, load = time.perf_counter() - started, os.getloadavg()[0]
    log(f"== scorecard bars ({took:.0f} s, load average {load:.1f}) ==")
    for what, figure, ok in _results:
        mark = "PASS" if ok else "n/a " if ok is None else "MISS"
        print(f"  {mark}  {what}: {figure}")
    print(json.dumps({"scorecard_bars": [[w, f, ok] for w, f, ok in _results]}))
    # A missed bar is a figure in the table, not a failure (benchmarks/README.md): a failed
    # scorecard or a crash is (they raise or exit before this).
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
