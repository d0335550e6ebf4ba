"""`make bench`: the page benchmark on the demo and the large portfolio (pages, the cold path,
queries per page), then the survey import benchmark, then the scorecard benchmark; at the end
one table of every bar of QUALITY.md's Speed table, MET / MISSED / not measured.

    .venv/bin/python benchmarks/run_all.py                    # everything
    .venv/bin/python benchmarks/run_all.py --quick            # fewer requests (labelled)
    .venv/bin/python benchmarks/run_all.py --only pages       # one part (pages, import, scorecards)

Databases are built once into .bench/ and reused. Every benchmark records its bars with
``benchmarks.common.record_bar`` into .bench/bars.jsonl, which this script empties first; a
benchmark that records nothing (it failed, or does not exist) shows its bars as not measured.
Other options are passed to the page benchmark (see pages_bench.py --help).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import pages_bench  # noqa: E402
from benchmarks.common import (  # noqa: E402
    BARS_FILE,
    ROOT,
    database_kind,
    database_url,
    ensure_postgres_database,
    log,
    machine_load,
    read_bars,
    record_bar,
    sqlalchemy_url,
)

PARTS = ("pages", "import", "scorecards")
# The bars each child benchmark owns (QUALITY.md's Speed table), shown as not measured when it
# records nothing.
CHILD_BARS = {
    "import": ("survey import: ≥ 20,000 rows/s; ≤ 2 × a bare executemany",),
    "scorecards": (
        "one scorecard, warm: p50 ≤ 1.5 s; ≤ 1.6 × WeasyPrint alone",
        "first scorecard in a fresh worker ≤ 3 s",
        "all scorecards of a month, large portfolio ≤ 4 min, measured whole",
        "an issued scorecard downloaded again over HTTP < 100 ms, byte-identical",
    ),
}
VERDICTS = {True: "MET", False: "MISSED", None: "not measured"}


def run_child(part: str, script: str, env: dict[str, str], quick: bool) -> int:
    """One benchmark in its own process; its bars shown as not measured if it records none."""
    path = ROOT / "benchmarks" / script
    before = len(read_bars())
    sys.stdout.flush()  # before the child writes to the same output
    print()
    log(f"== {part} benchmark (benchmarks/{script}) ==  {machine_load()}")
    if not path.exists():
        status, why = 0, f"benchmarks/{script} does not exist"
        log(why + " — skipped")
    else:
        command = [sys.executable, str(path)]
        if quick and part == "scorecards":
            command += ["--limit", "20"]  # the month extrapolated from 20 (its bar says so)
        status = subprocess.call(command, cwd=ROOT, env=env)  # noqa: S603
        why = f"benchmarks/{script} recorded no bar (exit status {status})"
    if len(read_bars()) == before:
        for bar in CHILD_BARS[part]:
            record_bar(bar, "-", None, where=database_kind(), note=why)
    return status


def print_bars(started_load: str) -> int:
    """The table of every bar recorded; returns how many were missed."""
    bars = read_bars()
    widths = [
        max([len(h)] + [len(str(b[k])) for b in bars])
        for h, k in (("bar", "bar"), ("where", "where"), ("figure", "figure"))
    ]
    widths = [min(w, cap) for w, cap in zip(widths, (62, 40, 44), strict=True)]
    print()
    print(f"== every bar of QUALITY.md's Speed table (database {database_kind()}) ==")
    print(f"at the start of make bench: {started_load}")
    header = (
        f"{'bar':{widths[0]}}  {'where':{widths[1]}}  {'figure':{widths[2]}}  {'verdict':12}  note"
    )
    print(header)
    print("-" * len(header))
    for b in bars:
        print(
            f"{b['bar']:{widths[0]}}  {b['where']:{widths[1]}}  {b['figure']:{widths[2]}}  "
            f"{VERDICTS.get(b['met'], '?'):12}  {b['note']}"
        )
    print("-" * len(header))
    counts = {v: sum(1 for b in bars if b["met"] is k) for k, v in VERDICTS.items()}
    print(
        f"{counts['MET']} met, {counts['MISSED']} missed, {counts['not measured']} not measured "
        f"— at the end: {machine_load()}"
    )
    return counts["MISSED"]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--only", action="append", choices=PARTS)
    parser.add_argument("--quick", action="store_true")
    own, _ = parser.parse_known_args(argv)
    parts = own.only or list(PARTS)
    page_args = [a for i, a in enumerate(argv) if a != "--only" and argv[i - 1 : i] != ["--only"]]

    started = time.perf_counter()
    BARS_FILE.parent.mkdir(exist_ok=True)
    BARS_FILE.write_text("")  # this run's bars only
    started_load = machine_load()
    log(f"make bench on {database_kind()}: {', '.join(parts)}{' (--quick)' * own.quick}")
    log(started_load)
    status = 0
    if "pages" in parts:
        status |= pages_bench.main(page_args)
    if "import" in parts:
        env = dict(os.environ)
        if env.get("BENCH_DATABASE_URL"):
            # import_bench.py takes BENCH_DATABASE_URL as one whole database, which it empties
            # (drop_all) when done: give it its own, never one of the page benchmark's.
            url = database_url("import")
            ensure_postgres_database(url)
            env["BENCH_DATABASE_URL"] = sqlalchemy_url(url)
        status |= run_child("import", "import_bench.py", env, own.quick)
    if "scorecards" in parts:
        # Its own process: it starts Chromium and forks workers, which the page benchmark's
        # process should not carry. Same databases as the page benchmark (demo, large).
        status |= run_child("scorecards", "scorecard_bench.py", dict(os.environ), own.quick)
    print_bars(started_load)
    log(f"make bench finished in {time.perf_counter() - started:.0f} s (exit {status})")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
