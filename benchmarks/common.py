"""Shared pieces of the benchmarks: paths, database URLs, the app for in-process work."""

from __future__ import annotations

import os
import re
import sys
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
