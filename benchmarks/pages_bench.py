"""Page benchmark: every HTML page served by gunicorn on 127.0.0.1, against a hello-world route.

    .venv/bin/python benchmarks/pages_bench.py                       # demo and large portfolio
    .venv/bin/python benchmarks/pages_bench.py --sizes demo          # one size
    .venv/bin/python benchmarks/pages_bench.py --requests 100 --concurrency 4
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/mls_bench .venv/bin/python ...

For each size: build (or reuse) the database, start gunicorn (2 workers, one per core, gthread)
on the benchmark's own WSGI module, sign in as the lead who is a member of every partnership,
check that every page answers 200, then measure hello-world and each page with the same
concurrency and print p50, p95, requests/s, the ratio to hello-world, and PASS/MISS against
the bars of QUALITY.md (p95 < 100 ms, ratio >= 15 %). Afterwards, in-process: the number of
SQL queries each page makes at every size (it must not grow with the data), and a profile
(slowest SQL, top Python functions) of each page that missed a bar on the largest size.
Exits non-zero when a page fails to answer 200 (a benchmark failure, not a miss).
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import os
import pstats
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    LEAD_EMAIL,
    PASSWORD,
    PASSWORD_SALT,
    ROOT,
    log,
    make_app,
    quiet_logging,
)
from benchmarks.large_portfolio import ensure_built  # noqa: E402

# The pages measured: GET routes with these endpoints (those missing are reported and skipped),
# plus every GET route of a blueprint named in PAGE_PREFIXES once it exists.
PAGE_ENDPOINTS = (
    "partnerships.index",
    "actions.mine",
    "partnerships.show",
    "sponsors.index",
    "expectations.index",
    "slas.index",
    "satisfaction.index",
    "survey_imports.index",
    "meetings.index",
    "actions.index",
    "changes.index",
    "wins.index",
    "reviews.index",
)
PAGE_PREFIXES = ("dashboard.", "portfolio.")

P95_BAR_MS = 100.0
RATIO_BAR = 0.15

_CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


# --------------------------------------------------------------------------- pages


@dataclass
class Page:
    endpoint: str
    url: str


def discover_pages(app: Any, partnership_id: int) -> tuple[list[Page], list[str]]:
    """The pages to measure, and notes on endpoints that were skipped."""
    from flask import url_for

    notes: list[str] = []
    rules = {}
    for rule in app.url_map.iter_rules():
        wanted = rule.endpoint in PAGE_ENDPOINTS or rule.endpoint.startswith(PAGE_PREFIXES)
        if wanted and "GET" in (rule.methods or ()):
            rules.setdefault(rule.endpoint, rule)
    pages: list[Page] = []
    order = list(PAGE_ENDPOINTS) + sorted(e for e in rules if e not in PAGE_ENDPOINTS)
    with app.test_request_context():
        for endpoint in order:
            rule = rules.get(endpoint)
            if rule is None:
                notes.append(f"{endpoint}: no such GET route in this app — skipped")
                continue
            arguments = set(rule.arguments)
            if not arguments:
                pages.append(Page(endpoint, url_for(endpoint)))
            elif arguments == {"partnership_id"}:
                pages.append(Page(endpoint, url_for(endpoint, partnership_id=partnership_id)))
            else:
                notes.append(f"{endpoint}: needs {sorted(arguments)} — skipped")
    return pages, notes


def middle_partnership(app: Any) -> int:
    import sqlalchemy as sa

    from mls_tracker.extensions import db
    from mls_tracker.models import Partnership

    with app.app_context():
        ids = db.session.scalars(sa.select(Partnership.id).order_by(Partnership.id)).all()
        db.session.remove()
    if not ids:
        raise SystemExit("the benchmark database holds no partnership")
    return ids[len(ids) // 2]


# --------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn serving benchmarks/bench_wsgi.py on 127.0.0.1, production settings."""

    def __init__(self, url: str, workers: int, threads: int) -> None:
        self.port = free_port()
        self.instance = tempfile.TemporaryDirectory(prefix="mls-bench-")
        env = dict(os.environ)
        env.update(
            MLS_ENV="production",
            SESSION_COOKIE_SECURE="0",  # plain http on loopback
            DATABASE_URL=url,
            SECRET_KEY=secrets.token_urlsafe(32),
            SECURITY_PASSWORD_SALT=PASSWORD_SALT,
            MLS_INSTANCE_PATH=self.instance.name,
            MAIL_SUPPRESS_SEND="1",
        )
        env.pop("HUEY_IMMEDIATE", None)
        self.log = open(Path(self.instance.name) / "gunicorn.log", "w+")  # noqa: SIM115
        command = [
            str(Path(sys.executable).parent / "gunicorn"),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            "gthread",
            "--keep-alive",
            "30",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--chdir",
            str(ROOT),
            "--log-level",
            "warning",
            "benchmarks.bench_wsgi:app",
        ]
        self.process = subprocess.Popen(  # noqa: S603
            command, env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited early:\n{self.output()}")
            try:
                status, _, _ = request_once(self.port, "GET", "/__hello")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"gunicorn did not answer within 60 s:\n{self.output()}")

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        self.instance.cleanup()


def request_once(port: int, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


# --------------------------------------------------------------------------- the client


class Session:
    """Cookies shared by the client's connections (one signed-in browser session)."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}
        self.lock = threading.Lock()

    def header(self) -> str:
        with self.lock:
            return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def update(self, response: http.client.HTTPResponse) -> None:
        for value in response.headers.get_all("Set-Cookie") or ():
            jar = SimpleCookie()
            jar.load(value)
            with self.lock:
                for name, morsel in jar.items():
                    if morsel.value:
                        self.cookies[name] = morsel.value
                    else:
                        self.cookies.pop(name, None)


def fetch(
    conn: http.client.HTTPConnection,
    session: Session | None,
    method: str,
    path: str,
    body: str | None = None,
) -> tuple[int, str | None, bytes]:
    headers = {"Accept": "text/html"}
    if session is not None:
        headers["Cookie"] = session.header()
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if session is not None:
        session.update(response)
    return response.status, response.getheader("Location"), data


def sign_in(port: int, email: str, password: str) -> Session:
    session = Session()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        status, _, body = fetch(conn, session, "GET", "/login")
        match = _CSRF_RE.search(body.decode())
        if status != 200 or not match:
            raise SystemExit(f"GET /login answered {status} without a CSRF token")
        form = urllib.parse.urlencode(
            {"email": email, "password": password, "csrf_token": match.group(1)}
        )
        status, location, _ = fetch(conn, session, "POST", "/login", form)
        if status != 302 or (location or "").rstrip("/").endswith("/login"):
            raise SystemExit(f"signing in as {email} failed: {status} → {location}")
    finally:
        conn.close()
    return session


@dataclass
class Result:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.latencies_ms)

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")

    @property
    def p95(self) -> float:
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else float("nan")
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[94]

    @property
    def rps(self) -> float:
        return self.n / self.wall_s if self.wall_s else 0.0


def load(
    port: int,
    session: Session | None,
    path: str,
    *,
    requests: int,
    concurrency: int,
    max_seconds: float,
    min_requests: int,
    name: str = "",
) -> Result:
    """``requests`` GETs of ``path`` over ``concurrency`` keep-alive connections (fewer when
    the page is so slow that ``max_seconds`` pass first, but at least ``min_requests``)."""
    result = Result(name or path)
    lock = threading.Lock()
    issued = 0
    start = time.perf_counter()
    deadline = start + max_seconds

    def worker() -> None:
        nonlocal issued
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            while True:
                with lock:
                    over_time = time.perf_counter() > deadline and issued >= min_requests
                    if issued >= requests or over_time:
                        return
                    issued += 1
                began = time.perf_counter()
                try:
                    status, location, _ = fetch(conn, session, "GET", path)
                except (OSError, http.client.HTTPException) as error:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    with lock:
                        result.failures.append(f"{type(error).__name__}: {error}")
                    continue
                elapsed = (time.perf_counter() - began) * 1000
                with lock:
                    result.latencies_ms.append(elapsed)
                    if status != 200:
                        result.failures.append(f"{status} → {location}")
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.wall_s = time.perf_counter() - start
    return result


# --------------------------------------------------------------------------- one size over HTTP


@dataclass
class SizeReport:
    size: str
    hello: Result
    pages: list[tuple[Page, Result, Result]]  # page, its figures, hello-world around it
    notes: list[str]
    broken: list[str]
    floor: Result | None = None


def bench_size(size: str, url: str, args: argparse.Namespace) -> SizeReport:
    with quiet_logging():
        app = make_app(url)
        partnership_id = middle_partnership(app)
        pages, notes = discover_pages(app, partnership_id)
    log(
        f"{size}: gunicorn --workers {args.workers} --threads {args.threads}; "
        f"partnership {partnership_id}; {len(pages)} pages"
    )
    server = Server(url, args.workers, args.threads)
    broken: list[str] = []
    try:
        session = sign_in(server.port, LEAD_EMAIL, PASSWORD)
        # Every page must answer 200 to the signed-in lead: a 500 or a redirect to the
        # sign-in page means the figures below would measure the wrong thing.
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        for page in pages:
            status, location, _ = fetch(conn, session, "GET", page.url)
            if status != 200:
                broken.append(f"{page.endpoint} {page.url}: {status} → {location or ''}")
        conn.close()
        common = {
            "concurrency": args.concurrency,
            "max_seconds": args.max_seconds,
            "min_requests": args.min_requests,
        }
        warm = {**common, "requests": args.warmup, "max_seconds": args.max_seconds / 4}
        hello_run = {**common, "requests": args.hello_requests, "max_seconds": 5.0}
        load(server.port, None, "/__hello", **warm)
        hellos: list[Result] = []
        results: list[tuple[Page, Result, Result]] = []
        # The floor of any signed-in page: /healthz (one SELECT 1) with the session cookie,
        # i.e. the session check, loading the user and the security headers.
        load(server.port, session, "/healthz", **warm)
        floor = load(server.port, session, "/healthz", **hello_run)
        floor.name = "signed-in /healthz"
        # The machine is shared and its load drifts: hello-world is measured right before
        # and right after each page, and the page's ratio is against the mean of the two.
        hellos.append(load(server.port, None, "/__hello", **hello_run))
        for page in pages:
            load(server.port, session, page.url, **warm)
            result = load(server.port, session, page.url, requests=args.requests, **common)
            result.name = page.endpoint
            hellos.append(load(server.port, None, "/__hello", **hello_run))
            around = Result("hello", hellos[-2].latencies_ms + hellos[-1].latencies_ms)
            around.wall_s = hellos[-2].wall_s + hellos[-1].wall_s
            results.append((page, result, around))
            mark = "!" if result.failures else " "
            log(
                f"  {mark} {page.endpoint:24} p95 {result.p95:8.1f} ms  {result.rps:7.1f}/s  "
                f"(hello {around.rps:.0f}/s)"
            )
    finally:
        server.stop()
    merged = Result("hello", [x for h in hellos for x in h.latencies_ms])
    merged.wall_s = sum(h.wall_s for h in hellos)
    return SizeReport(size, merged, results, notes, broken, floor)


def print_report(report: SizeReport) -> list[str]:
    """The table of one size; returns the endpoints that missed a bar."""
    hello = report.hello
    print()
    print(
        f"== pages, {report.size} ==  hello-world over the run: p50 {hello.p50:.1f} ms, "
        f"p95 {hello.p95:.1f} ms, {hello.rps:.0f} requests/s ({hello.n} requests); "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    header = (
        f"{'page':26} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>8} {'hello/s':>8} "
        f"{'ratio':>7}  verdict"
    )
    print(header)
    print("-" * len(header))
    missed = []
    for page, result, before in report.pages:
        ratio = result.rps / before.rps if before.rps else 0.0
        misses = []
        if not result.p95 < P95_BAR_MS:
            misses.append("p95")
        if ratio < RATIO_BAR:
            misses.append("ratio")
        if result.failures:
            misses.append(f"{len(result.failures)} FAILED")
        verdict = "PASS" if not misses else "MISS (" + ", ".join(misses) + ")"
        if misses:
            missed.append(page.endpoint)
        print(
            f"{page.endpoint:26} {result.n:4d} {result.p50:8.1f} {result.p95:8.1f} "
            f"{result.rps:8.1f} {before.rps:8.0f} {ratio:6.1%}  {verdict}"
        )
    if report.floor is not None:
        floor = report.floor
        print(
            f"{'(floor: signed-in /healthz)':26} {floor.n:4d} {floor.p50:8.1f} {floor.p95:8.1f} "
            f"{floor.rps:8.1f} {hello.rps:8.0f} {floor.rps / hello.rps:6.1%}  reference"
        )
    print(f"bars: p95 < {P95_BAR_MS:.0f} ms; requests/s >= {RATIO_BAR:.0%} of hello-world's")
    for note in report.notes:
        print(f"note: {note}")
    for page, result, _ in report.pages:
        if result.failures:
            print(f"FAILURE {page.endpoint}: {sorted(set(result.failures))[:3]}")
    for line in report.broken:
        print(f"BENCHMARK FAILURE — page does not answer 200: {line}")
    return missed


# --------------------------------------------------------------------------- in-process


class QueryRecorder:
    """Counts and times every SQL statement the engine executes."""

    def __init__(self, engine: Any) -> None:
        import sqlalchemy as sa

        self.engine = engine
        self.count = 0
        self.by_statement: dict[str, list[float]] = defaultdict(list)
        self._started: list[float] = []
        self._sa = sa

    def __enter__(self) -> QueryRecorder:
        self._sa.event.listen(self.engine, "before_cursor_execute", self._before)
        self._sa.event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._sa.event.remove(self.engine, "before_cursor_execute", self._before)
        self._sa.event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, *_args: Any) -> None:
        self.count += 1
        self._started.append(time.perf_counter())

    def _after(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        began = self._started.pop() if self._started else time.perf_counter()
        key = " ".join(statement.split())
        self.by_statement[key].append((time.perf_counter() - began) * 1000)


def signed_in_client(app: Any) -> Any:
    client = app.test_client()
    body = client.get("/login").get_data(as_text=True)
    token = _CSRF_RE.search(body)
    assert token, "no CSRF token on /login"
    response = client.post(
        "/login", data={"email": LEAD_EMAIL, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert response.status_code == 302, response.status_code
    return client


def count_queries(url: str) -> dict[str, int | str]:
    """Queries per page (the second request of each, so one-off work is not counted)."""
    from mls_tracker.extensions import db

    with quiet_logging():
        app = make_app(url)
        partnership_id = middle_partnership(app)
        pages, _ = discover_pages(app, partnership_id)
        client = signed_in_client(app)
        counts: dict[str, int | str] = {}
        with app.app_context():
            engine = db.engine
        for page in pages:
            client.get(page.url)
            with QueryRecorder(engine) as recorder:
                response = client.get(page.url)
            counts[page.endpoint] = (
                recorder.count if response.status_code == 200 else f"{response.status_code}!"
            )
        with app.app_context():
            db.engine.dispose()
    return counts


def profile_pages(url: str, endpoints: list[str], repeat: int = 3) -> None:
    """Where the time of each slow page goes: SQL by statement, Python by function."""
    from mls_tracker.extensions import db

    with quiet_logging():
        app = make_app(url)
        partnership_id = middle_partnership(app)
        pages = [p for p in discover_pages(app, partnership_id)[0] if p.endpoint in endpoints]
        client = signed_in_client(app)
        with app.app_context():
            engine = db.engine
        for page in pages:
            client.get(page.url)  # warm
            with QueryRecorder(engine) as plain:
                began = time.perf_counter()
                for _ in range(repeat):
                    client.get(page.url)
                plain_ms = (time.perf_counter() - began) * 1000 / repeat
            plain_sql = sum(sum(v) for v in plain.by_statement.values()) / repeat
            profiler = cProfile.Profile()
            with QueryRecorder(engine) as recorder:
                began = time.perf_counter()
                profiler.enable()
                for _ in range(repeat):
                    client.get(page.url)
                profiler.disable()
                total_ms = (time.perf_counter() - began) * 1000 / repeat
            sql_ms = sum(sum(v) for v in recorder.by_statement.values()) / repeat
            print()
            print(
                f"-- {page.endpoint} {page.url}: {plain_ms:.0f} ms a request in-process, "
                f"{plain.count // repeat} queries taking {plain_sql:.1f} ms, "
                f"{plain_ms - plain_sql:.0f} ms Python (request, view, template)"
            )
            print(
                f"   under cProfile: {total_ms:.0f} ms a request "
                f"(under cProfile), {recorder.count // repeat} queries, "
                f"{sql_ms:.0f} ms in SQL ({sql_ms / total_ms:.0%}), "
                f"{total_ms - sql_ms:.0f} ms in Python"
            )
            slowest = sorted(recorder.by_statement.items(), key=lambda kv: -sum(kv[1]))[:5]
            for statement, times in slowest:
                print(
                    f"   SQL {sum(times) / repeat:7.1f} ms  ×{len(times) // repeat:<4} "
                    f"{statement[:150]}"
                )
            stats = pstats.Stats(profiler)
            rows = []
            for (filename, line, function), (_cc, calls, tottime, cumtime, _) in (
                stats.stats.items()  # type: ignore[attr-defined]
            ):
                if "/mls_tracker/" in filename or "/templates/" in filename:
                    where = filename.split("/work/main/")[-1]
                    rows.append((cumtime, tottime, calls, f"{where}:{line} {function}"))
            rows.sort(reverse=True)
            for cumtime, tottime, calls, name in rows[:8]:
                print(
                    f"   py  cum {cumtime * 1000 / repeat:7.1f} ms  own "
                    f"{tottime * 1000 / repeat:6.1f} ms  calls {calls // repeat:<7} {name}"
                )
            top_own = sorted(
                stats.stats.items(),  # type: ignore[attr-defined]
                key=lambda kv: -kv[1][2],
            )[:5]
            for (filename, line, function), (_cc, calls, tottime, _cum, _) in top_own:
                where = filename.split("site-packages/")[-1].split("/work/main/")[-1]
                print(
                    f"   own {tottime * 1000 / repeat:7.1f} ms  calls {calls // repeat:<8} "
                    f"{where}:{line} {function}"
                )
        with app.app_context():
            db.engine.dispose()


def print_counts(table: dict[str, dict[str, int | str]]) -> list[str]:
    sizes = list(table)
    endpoints: list[str] = []
    for counts in table.values():
        endpoints += [e for e in counts if e not in endpoints]
    print()
    print("== SQL queries per page (second request, in-process) ==")
    header = f"{'page':26} " + " ".join(f"{s:>8}" for s in sizes) + "  constant?"
    print(header)
    print("-" * len(header))
    growing = []
    for endpoint in endpoints:
        values = [table[s].get(endpoint, "-") for s in sizes]
        numbers = [v for v in values if isinstance(v, int)]
        constant = len(set(numbers)) <= 1 and len(numbers) == len(values)
        if not constant:
            growing.append(endpoint)
        print(
            f"{endpoint:26} "
            + " ".join(f"{v!s:>8}" for v in values)
            + ("  yes" if constant else "  NO — grows with the data")
        )
    return growing


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", nargs="+", default=["demo", "large"], choices=("demo", "small", "large")
    )
    parser.add_argument(
        "--count-sizes",
        nargs="+",
        default=["demo", "small", "large"],
        choices=("demo", "small", "large"),
        help="sizes whose queries per page are counted (in-process)",
    )
    parser.add_argument("--requests", type=int, default=200, help="requests per page")
    parser.add_argument("--hello-requests", type=int, default=500, help="before each page")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=20.0, help="per page at most")
    parser.add_argument("--min-requests", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args(argv)

    urls: dict[str, str] = {}
    for size in dict.fromkeys([*args.sizes, *args.count_sizes]):
        urls[size], _ = ensure_built(size)

    failed = False
    missed_of: dict[str, list[str]] = {}
    for size in args.sizes:
        report = bench_size(size, urls[size], args)
        missed_of[size] = print_report(report)
        failed |= bool(report.broken) or any(r.failures for _, r, _ in report.pages)

    counts = {size: count_queries(urls[size]) for size in args.count_sizes}
    growing = print_counts(counts)
    if growing:
        print("query counts that grow with the data (bugs): " + ", ".join(growing))

    largest = args.sizes[-1]
    if not args.no_profile and missed_of.get(largest):
        print()
        print(f"== where the time goes, pages that missed a bar on {largest} ==")
        profile_pages(urls[largest], missed_of[largest])
    if failed:
        print("\nBENCHMARK FAILED: some page did not answer 200 (see above)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
