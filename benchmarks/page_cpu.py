"""In-process cost of each page against the signed-in floor: CPU time and SQL statements per
request, with the Flask test client on a benchmark database, signed in as the benchmark's lead.

    .venv/bin/python benchmarks/page_cpu.py                        # demo, every page
    .venv/bin/python benchmarks/page_cpu.py --size large --requests 100
    .venv/bin/python benchmarks/page_cpu.py --pages reviews.show,accounts.account
    .venv/bin/python benchmarks/page_cpu.py --html /tmp/after      # also each page's HTML

The HTTP benchmark's throughput bar (``pages_bench.py``: requests/s ≥ 50 % of ``/healthz``
with the same session) is a ratio of costs: a page passes when it costs at most about twice
the floor, client included. CPU time (``time.process_time``, this process only) of the same
requests in-process is that ratio without the HTTP client, the sockets and the other
processes on the machine, so it moves far less with the load: use it to find and check a
page's cost, and the HTTP benchmark to confirm. The floor is measured before and after the
pages and pooled. Each page is warmed first (its remembered parts filled), so this is the
revisit — what a user clicking through the pages costs.

``--html DIR`` writes each page's HTML (the second view) with CSRF tokens masked, to compare
a page before and after a change (``diff -r``): run it from a checkout of each version on the
same database (``--database-url``).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import log, machine_load, make_app, quiet_logging  # noqa: E402
from benchmarks.large_portfolio import ensure_built  # noqa: E402
from benchmarks.pages_bench import (  # noqa: E402
    QueryRecorder,
    discover_pages,
    middle_partnership,
    signed_in_client,
)

FLOOR = "/healthz"
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def masked(html: str) -> str:
    """The page with its CSRF token, wherever it appears, replaced by the same text."""
    for token in set(_TOKEN.findall(html)):
        html = html.replace(token, "TOKEN")
    return html


def cost(client: Any, engine: Any, url: str, requests: int) -> tuple[float, float]:
    """(CPU milliseconds, SQL statements) per request of ``url``, over ``requests`` views."""
    with QueryRecorder(engine) as recorder:
        began = time.process_time()
        for _ in range(requests):
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
        spent = time.process_time() - began
    return spent * 1000 / requests, recorder.count / requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="demo", choices=("demo", "small", "large"))
    parser.add_argument("--database-url", help="this database instead of the size's own")
    parser.add_argument("--requests", type=int, default=200, help="views of each page")
    parser.add_argument("--pages", help="endpoints, comma-separated (default: every page)")
    parser.add_argument("--html", type=Path, help="write each page's HTML (tokens masked) here")
    args = parser.parse_args(argv)

    url, _ = ensure_built(args.size, url=args.database_url)
    from mls_tracker.extensions import db

    with quiet_logging():
        app = make_app(url)
        pages = discover_pages(app, middle_partnership(app))[0]
        if args.pages:
            wanted = set(args.pages.split(","))
            pages = [page for page in pages if page.endpoint in wanted]
        client = signed_in_client(app)
        with app.app_context():
            engine = db.engine
        if args.html:
            args.html.mkdir(parents=True, exist_ok=True)
        print(f"== in-process cost per request, {args.size} ==  {machine_load()}")
        for _ in range(20):
            client.get(FLOOR)
        before = cost(client, engine, FLOOR, args.requests * 2)
        rows = []
        for page in pages:
            client.get(page.url)
            html = client.get(page.url).get_data(as_text=True)
            if args.html:
                (args.html / f"{page.endpoint}.html").write_text(masked(html))
            rows.append((page.endpoint, *cost(client, engine, page.url, args.requests)))
        after = cost(client, engine, FLOOR, args.requests * 2)
        with app.app_context():
            db.engine.dispose()
    floor_ms = (before[0] + after[0]) / 2
    print(
        f"floor {FLOOR}: {floor_ms:.2f} ms CPU a request (before {before[0]:.2f}, "
        f"after {after[0]:.2f}), {before[1]:.0f} queries"
    )
    print(f"{'page':<26} {'CPU ms':>7} {'×floor':>7} {'queries':>8}")
    for endpoint, ms, queries in rows:
        print(f"{endpoint:<26} {ms:7.2f} {ms / floor_ms:7.2f} {queries:8.1f}")
    print(f"(end: {machine_load()}; ×floor ≤ 2 is about ≥ 50 % of the floor over HTTP)")
    log("done")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
