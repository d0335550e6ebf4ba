"""The scorecard bars of QUALITY.md: one warm scorecard (and its ratio to WeasyPrint alone),
the first one in a fresh process, a month of the large portfolio with 1 and 2 workers, and an
issued scorecard downloaded again.

    .venv/bin/python benchmarks/scorecard_bench.py                 # everything
    .venv/bin/python benchmarks/scorecard_bench.py --limit 20      # the month on 20 partnerships
                                                                   # (extrapolated to all, said so)
    .venv/bin/python benchmarks/scorecard_bench.py --skip-month    # no large portfolio

What is measured:

- **warm**: ``scorecards.issuing.render_pdf(data, meta)`` — figures, charts drawn by kaleido
  (the SVG cache cleared before each, so every chart is really drawn), print HTML, PDF bytes —
  for ≥ 10 distinct demo snapshots (each partnership × several months, built from the demo
  database beforehand), after one unmeasured warm-up. The baseline is WeasyPrint alone
  (``pdf.html_to_pdf``) on the very same final HTML, measured right after each.
- **first in a fresh process**: a new Python process (on a copy of the demo database) does
  what the command line does for one partnership — Chromium started, the month's review
  opened, the scorecard issued and stored; from spawn to the stored PDF, median of 3. (On
  PostgreSQL it runs on the demo database itself, so only the first run opens the review.)
- **the month**: ``flask scorecards issue --period <month> --all --workers N`` on the large
  portfolio (.bench/large.db), in a subprocess, for N = 1 and 2, each on its own month whose
  reviews and scorecards are deleted first — so each run opens the month's reviews, as the
  first run of a month does. ``--limit`` issues that many partnerships (``--partnership``
  each) and extrapolates the time to all of them.
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
)

WARM_P50 = 1.5  # seconds
WARM_RATIO = 1.6  # × WeasyPrint alone
FIRST = 5.0  # seconds
MONTH_ALL = 240.0  # seconds for every partnership of the large portfolio
DOWNLOAD = 0.100  # seconds

_results: list[tuple[str, str, bool | None]] = []


def verdict(what: str, figure: str, ok: bool | None) -> None:
    _results.append((what, figure, ok))
    mark = "PASS" if ok else "n/a" if ok is None else "MISS"
    log(f"{mark:4}  {what}: {figure}")


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


def bench_warm(app: Any, samples: int) -> str:
    from mls_tracker.scorecards import chart_images, pdf
    from mls_tracker.scorecards import issuing as scorecards
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
        again = pdf.html_to_pdf(html, created_at=meta.issued_at)
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
    verdict("warm scorecard p50 (≤ 1.5 s)", f"{p50:.2f} s", p50 <= WARM_P50)
    ratio = p50 / base
    verdict("warm ÷ WeasyPrint alone (≤ 1.6)", f"{ratio:.2f}", ratio <= WARM_RATIO)
    chart_images.shutdown()
    return f"{p50:.2f} s, ratio {ratio:.2f}"


# --- First scorecard in a fresh process ----------------------------------------------------------

FRESH = """
import sys, time
sys.path.insert(0, {root!r})
from benchmarks.common import make_app, quiet_logging
with quiet_logging():
    app = make_app({url!r})
    from mls_tracker.periods import Month, utc_today
    from mls_tracker.scorecards.batch import issue_one
    with app.app_context():
        today = utc_today()
        outcome = issue_one(1, Month.of(today).previous(), today, None, False)
    ready = time.time()
    assert outcome.error is None, outcome.error
    print("READY", ready)
"""


def bench_first(url: str, runs: int = 3) -> None:
    """What ``flask scorecards issue --partnership 1`` or a job worker's first issue does, in
    a new process on a copy of the demo database: start Chromium, open the month's review
    (figures computed), issue (charts, layout, stored). Timed from spawn to the stored PDF —
    the process's teardown (closing Chromium) is not part of the wait."""
    import shutil
    import tempfile

    log(f"== first scorecard in a fresh process ({runs} processes) ==")
    walls = []
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
            ready = [line for line in done.stdout.splitlines() if line.startswith("READY")]
            if done.returncode != 0 or not ready:
                log(done.stdout[-1000:] + done.stderr[-2000:])
                verdict("first scorecard in a fresh process (≤ 5 s)", "FAILED", False)
                return
            walls.append(float(ready[0].split()[1]) - spawned)
    log("  spawn → stored PDF: " + ", ".join(f"{w:.2f} s" for w in walls))
    first = statistics.median(walls)
    verdict("first scorecard in a fresh process (≤ 5 s)", f"{first:.2f} s", first <= FIRST)


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


def bench_month(url: str, limit: int | None) -> None:
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
    chosen = ids if limit is None else ids[: max(1, limit)]
    what = "every partnership" if limit is None else f"{len(chosen)} of {len(ids)} (--limit)"
    log(f"== the month, large portfolio: {what} ==")
    last = Month.of(utc_today()).previous()
    rates: dict[int, float] = {}
    for workers, month in ((1, last.shift(-1)), (2, last)):
        _reset_month(app, month)
        args = ["scorecards", "issue", "--period", str(month), "--workers", str(workers)]
        if limit is None:
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
            float(line.split()[1])
            for line in done.stdout.splitlines()
            if line.startswith("SECONDS")
        ]
        if done.returncode != 0 or not seconds:
            log(done.stdout[-1500:] + done.stderr[-1500:])
            verdict(f"month with --workers {workers}", "FAILED", False)
            continue
        elapsed = seconds[0]
        rates[workers] = len(chosen) / elapsed * 60
        log(f"  --workers {workers} ({month}): {summary[0] if summary else ''}")
        whole = elapsed * len(ids) / len(chosen)
        label = "" if limit is None else f" (extrapolated from {len(chosen)})"
        verdict(
            f"all {len(ids)} of a month, --workers {workers}{label} (≤ 4 min on 2 cores)",
            f"{whole:.0f} s, {rates[workers]:.1f} scorecards/min",
            whole <= MONTH_ALL if workers == 2 else None,
        )
    if 1 in rates and 2 in rates:
        grows = rates[2] > rates[1]
        verdict(
            "throughput grows with workers",
            f"{rates[1]:.1f} → {rates[2]:.1f} scorecards/min (×{rates[2] / rates[1]:.2f})",
            grows,
        )


# --- Download again ------------------------------------------------------------------------------


def bench_download(app: Any, requests: int = 50) -> None:
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
        verdict("download again (< 100 ms, byte-identical)", "route missing", None)
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
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=12, help="warm scorecards (≥ 10)")
    parser.add_argument("--limit", type=int, help="issue the month for this many partnerships")
    parser.add_argument("--skip-month", action="store_true", help="no large portfolio run")
    args = parser.parse_args(argv)
    from benchmarks.large_portfolio import ensure_built

    started = time.perf_counter()
    with quiet_logging():
        demo_url, _ = ensure_built("demo")
        app = make_app(demo_url)
        bench_warm(app, max(10, args.samples))
        bench_first(demo_url)
        bench_download(app)
        if not args.skip_month:
            large_url, _ = ensure_built("large")
            bench_month(large_url, args.limit)
    took, load = time.perf_counter() - started, os.getloadavg()[0]
    log(f"== scorecard bars ({took:.0f} s, load average {load:.1f}) ==")
    for what, figure, ok in _results:
        mark = "PASS" if ok else "n/a " if ok is None else "MISS"
        print(f"  {mark}  {what}: {figure}")
    print(json.dumps({"scorecard_bars": [[w, f, ok] for w, f, ok in _results]}))
    return 0 if all(ok is not False for _, _, ok in _results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
