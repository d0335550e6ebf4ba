"""`make bench`: the page benchmark on the demo and the large portfolio, then the import
benchmark when it exists, then the scorecard benchmark. Databases are built once into .bench/
and reused."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import pages_bench  # noqa: E402
from benchmarks.common import (  # noqa: E402
    ROOT,
    database_url,
    ensure_postgres_database,
    log,
    sqlalchemy_url,
)


def main() -> int:
    started = time.perf_counter()
    status = pages_bench.main(sys.argv[1:])
    import_bench = ROOT / "benchmarks" / "import_bench.py"
    if import_bench.exists():
        sys.stdout.flush()  # before the child writes to the same output
        print()
        log("== survey import benchmark (benchmarks/import_bench.py) ==")
        env = dict(os.environ)
        if env.get("BENCH_DATABASE_URL"):
            # import_bench.py takes BENCH_DATABASE_URL as one whole database, which it empties
            # (drop_all) when done: give it its own, never one of the page benchmark's.
            url = database_url("import")
            ensure_postgres_database(url)
            env["BENCH_DATABASE_URL"] = sqlalchemy_url(url)
        command = [sys.executable, str(import_bench)]
        status |= subprocess.call(command, cwd=ROOT, env=env)  # noqa: S603
    else:
        log("benchmarks/import_bench.py does not exist yet — import benchmark skipped")
    sys.stdout.flush()
    print()
    log("== scorecard benchmark (benchmarks/scorecard_bench.py) ==")
    # Its own process: it starts Chromium and forks workers, which the page benchmark's
    # process should not carry. Same databases as the page benchmark (demo, large).
    command = [sys.executable, str(ROOT / "benchmarks" / "scorecard_bench.py")]
    status |= subprocess.call(command, cwd=ROOT)  # noqa: S603
    log(f"make bench finished in {time.perf_counter() - started:.0f} s (exit {status})")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
