"""Shared pieces of the benchmarks: paths, database URLs, the app for in-process work, the
gunicorn server every HTTP benchmark starts, the bars met / missed."""

from __future__ import annotations

import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / ".bench"  # gitignored: built databases and the benchmark's instance folder

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mls_tracker.config import normalise_database_url as sqlalchemy_url  # noqa: E402, F401
from mls_tracker.demo import DEMO_PASSWORD as PASSWORD  # noqa: E402, F401

# Every benchmark user signs in with the demo password; the large portfolio's "lead" is a
# member of all of its partnerships (the portfolio page's worst case), the demo's of all three.
LEAD_EMAIL = "lead@example.com"
# Flask-Security HMACs passwords with the salt before hashing them: the server must use the
# salt the data was built with, or nobody can sign in.
PASSWORD_SALT = "bench-salt"  # noqa: S105

SIZES = ("demo", "small", "large")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def database_url(size: str) -> str:
    """The benchmark database of a size: a SQLite file in .bench/, or a PostgreSQL database
    ``<BENCH_DATABASE_URL>_<size>`` on the server BENCH_DATABASE_URL names."""
    base = os.environ.get("BENCH_DATABASE_URL")
    if base:
        return f"{base.rstrip('/')}_{size}"
    BENCH_DIR.mkdir(exist_ok=True)
    return f"sqlite:///{BENCH_DIR / f'{size}.db'}"


def ensure_postgres_database(url: str) -> None:
    """Create the PostgreSQL database of ``url`` when it does not exist (mls_bench_* only)."""
    import psycopg

    match = re.match(r"^(postgres(?:ql)?(?:\+psycopg)?://[^/]*)/([A-Za-z0-9_]+)$", url)
    if not match:
        raise SystemExit(f"cannot read a database name in {url!r}")
    server, name = match.groups()
    if not name.startswith("mls_bench_"):
        raise SystemExit(f"benchmark databases are named mls_bench_*, not {name!r}")
    server = server.replace("+psycopg", "")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def instance_path() -> Path:
    path = BENCH_DIR / "instance"
    path.mkdir(parents=True, exist_ok=True)
    return path


def make_app(url: str, **overrides: Any):
    """An app on the benchmark database, for building data and in-process measurements."""
    os.environ.setdefault("MLS_INSTANCE_PATH", str(instance_path()))
    from mls_tracker import create_app

    config = {
        "SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url),
        "SECRET_KEY": "bench-secret",
        "SECURITY_PASSWORD_SALT": PASSWORD_SALT,
        "HUEY_IMMEDIATE": True,
        "MAIL_SUPPRESS_SEND": True,
    }
    config.update(overrides)
    return create_app(config)


@contextmanager
def quiet_logging() -> Iterator[None]:
    """The app logs every sign-in at INFO; the benchmarks print their own lines."""
    import logging

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.setLevel(level)


def database_kind(url: str | None = None) -> str:
    """ "SQLite" or "PostgreSQL": the benchmark's databases (BENCH_DATABASE_URL), or ``url``'s."""
    url = url if url is not None else os.environ.get("BENCH_DATABASE_URL", "sqlite")
    return "PostgreSQL" if url.startswith("postgres") else "SQLite"


def machine_load() -> str:
    """The load average, for every table of figures: they are only comparable on a similar
    load (the machine is shared)."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} cores"


# --------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def request_once(port: int, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


class GunicornServer:
    """gunicorn serving ``benchmarks/bench_wsgi.py`` (the app plus ``/__hello``) on a free port
    of 127.0.0.1, in production settings (``MLS_ENV=production``) except a cookie without
    ``Secure`` (plain http on loopback), with ``EXTERNAL_URL`` naming that address (production
    requires it), its own instance folder in a temporary directory, a random ``SECRET_KEY`` and
    the benchmark's password salt. ``workers`` × ``threads`` (gthread, keep-alive); ``redis``
    gives it a Redis job queue and rate-limit store, else it has none. Given ``startup_seconds``
    to answer ``/__hello``: workers importing the app on a loaded machine can take long. The
    one server of every HTTP benchmark (pages_bench.py, load_bench.py)."""

    def __init__(
        self,
        url: str,
        workers: int,
        threads: int,
        redis: str | None = None,
        *,
        startup_seconds: float = 300,
        prefix: str = "mls-bench-",
    ) -> None:
        self.port = free_port()
        self.instance = tempfile.TemporaryDirectory(prefix=prefix)
        env = dict(os.environ)
        env.update(
            MLS_ENV="production",
            SESSION_COOKIE_SECURE="0",  # plain http on loopback
            DATABASE_URL=url,
            SECRET_KEY=secrets.token_urlsafe(32),
            SECURITY_PASSWORD_SALT=PASSWORD_SALT,
            MLS_INSTANCE_PATH=self.instance.name,
            MAIL_SUPPRESS_SEND="1",
            EXTERNAL_URL=f"http://127.0.0.1:{self.port}",
        )
        env.pop("HUEY_IMMEDIATE", None)
        if redis:
            env["REDIS_URL"] = redis
        else:
            env.pop("REDIS_URL", None)
        # Read by path, also once the server has stopped (the file object is closed then).
        self.log_path = Path(self.instance.name) / "gunicorn.log"
        self._log = self.log_path.open("w")
        command = [
            str(Path(sys.executable).parent / "gunicorn"),
            *("--workers", str(workers), "--threads", str(threads)),
            *("--worker-class", "gthread", "--keep-alive", "30", "--timeout", "120"),
            *("--bind", f"127.0.0.1:{self.port}", "--chdir", str(ROOT)),
            *("--log-level", "warning", "benchmarks.bench_wsgi:app"),
        ]
        self.process = subprocess.Popen(  # noqa: S603
            command, env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT
        )
        self._tail = ""
        deadline = time.monotonic() + startup_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.output()
                self.stop()
                raise SystemExit(f"gunicorn exited early:\n{tail}")
            try:
                if request_once(self.port, "GET", "/__hello")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        tail = self.output()
        self.stop()
        raise SystemExit(f"gunicorn did not answer within {startup_seconds:.0f} s:\n{tail}")

    def output(self) -> str:
        """The end of gunicorn's log (also after ``stop``)."""
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return self._tail

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self._log.closed:
            self._log.close()
            self._tail = self.output()
        self.instance.cleanup()


# --------------------------------------------------------------------------- bars met/missed
# Every benchmark records each bar of QUALITY.md it measures with ``record_bar``; `make bench`
# (run_all.py) prints them all at the end as one table of met / missed. One JSON line per bar in
# .bench/bars.jsonl; run_all.py empties the file when it starts.
BARS_FILE = BENCH_DIR / "bars.jsonl"


def record_bar(
    bar: str,
    figure: str,
    met: bool | None,
    *,
    where: str = "",
    note: str = "",
) -> None:
    """Record one measured bar: ``bar`` says the bar ("portfolio p95 < 100 ms"), ``figure`` what
    was measured ("87 ms"), ``met`` True / False (None: not measured, with ``note`` saying why),
    ``where`` the size and database ("large, SQLite"), ``note`` anything the reader must know
    (e.g. "extrapolated from 20 (--quick)")."""
    import json

    BENCH_DIR.mkdir(exist_ok=True)
    line = {"bar": bar, "figure": figure, "met": met, "where": where, "note": note}
    with BARS_FILE.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


def read_bars() -> list[dict[str, Any]]:
    import json

    if not BARS_FILE.exists():
        return []
    return [json.loads(line) for line in BARS_FILE.read_text(encoding="utf-8").splitlines() if line]
