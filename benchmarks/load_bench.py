"""Load benchmark (issue 16): mixed reads and concurrent writes on the same records, against
gunicorn with several workers on PostgreSQL, then a check that no accepted write was lost.

    .venv/bin/python benchmarks/load_bench.py                     # 3,000 requests, 8 threads
    .venv/bin/python benchmarks/load_bench.py --quick             # 300 requests
    .venv/bin/python benchmarks/load_bench.py --database-url postgresql://…/mls_x --redis
    make bench-load BENCH_LOAD_ARGS="--requests 6000 --workers 4 --threads 8"

1. The database: by default a fresh PostgreSQL database ``mls_bench_load`` (dropped and created
   again) on BENCH_DATABASE_URL's server (else 127.0.0.1:5432, user postgres); with
   ``--database-url`` that database instead (it is EMPTIED: the demo is loaded with --reset).
   ``flask db upgrade`` and ``flask demo load --reset`` run as the command line would.
2. gunicorn serves the app (``--workers``, default 4, gthread with 4 threads each) on a free
   port of 127.0.0.1 in production settings; ``--redis [URL]`` gives it a Redis job queue and
   rate-limit store (default: none, the SQLite queue in its own instance folder).
3. The demo's lead and provider sign in through the form (GET /login for the CSRF token, then
   POST; the demo has no two-factor users). Pages are read by both.
4. ``--threads`` client threads (default 8) send ``--requests`` requests (default 3,000): about
   60 % page reads (portfolio, overview, SLA grid, satisfaction, actions, meetings, reviews …)
   and 40 % writes. A write GETs the record's form and POSTs it back with one field set to a
   unique marker and with the version it read, all threads on the SAME records: an update on
   one action item, the item itself, a meeting's record (minutes), a month's SLA actual (note),
   a sponsor, an expectation, a change, a win, an SLA's definition, a review's summary, an
   agenda item, reported satisfaction totals — the ones whose form the demo offers.
5. Answers are sorted into accepted (a redirect away from the form), conflict (409 or the page
   saying someone else saved first), refused (the form again with an error), 500 and others.

Lost writes, after the run: every accepted action update's marker must be on the item (read
from the database); for every other record, no two accepted saves may have read the same version
(the second would have overwritten the first unseen) and the record's field, read again through
its form, must hold the marker of the accepted save that read the newest version.

Prints requests, answers by status, conflicts, 500s (the first few with their page titles),
p50/p95 latency per kind, lost writes and the commit measured. Exit status 1 on any 500 or lost
write (2 when the benchmark could not run).
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    PASSWORD,
    PASSWORD_SALT,
    ROOT,
    log,
    sqlalchemy_url,
)

# The server every HTTP benchmark starts (production settings, EXTERNAL_URL, its own
# instance folder); ``Server(url, workers, threads, redis)``.
from benchmarks.common import GunicornServer as Server  # noqa: E402
from benchmarks.pages_bench import Session, fetch, sign_in  # noqa: E402

LEAD = "lead@example.com"
PROVIDER = "provider@example.com"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432"
DEFAULT_NAME = "mls_bench_load"
CONFLICT_SIGNS = (
    "conflict-card",
    "row-conflict",
    "Someone else changed",
    "Someone else saved",
    "Saved by someone else",
    "someone else saved",
    "Someone else was changing",
)
_TITLE_RE = re.compile(r"<title>(.*?)</title>", re.S)
_ALERT_RE = re.compile(
    r'class="[^"]*(?:invalid-feedback|alert|text-danger|error)[^"]*"[^>]*>(.*?)</(?:div|p|span)',
    re.S,
)
_TAG_RE = re.compile(r"<[^>]+>")


# --------------------------------------------------------------------------- forms


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = dataclasses.field(
        default_factory=list
    )  # what a browser would send
    textareas: list[str] = dataclasses.field(default_factory=list)
    values: dict[str, str] = dataclasses.field(default_factory=dict)  # first value of each field


class FormParser(HTMLParser):
    """The page's forms as a browser would submit them unchanged (no JavaScript)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: tuple[str, bool, list[tuple[str, bool]]] | None = None
        self._option: list[str] | None = None
        self._textarea: tuple[str, list[str]] | None = None
        self._submitted = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = Form(a.get("action", ""), a.get("method", "get").lower())
            self._submitted = False
            return
        form = self._form
        if form is None:
            return
        name = a.get("name")
        if tag == "input" and name and "disabled" not in a:
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._add(name, a.get("value", "on"))
            elif kind in ("submit", "image"):
                if not self._submitted:
                    self._submitted = True
                    self._add(name, a.get("value", ""))
            elif kind != "file":
                self._add(name, a.get("value", ""))
        elif tag == "button" and name and a.get("type", "submit") == "submit":
            if not self._submitted:
                self._submitted = True
                self._add(name, a.get("value", ""))
        elif tag == "select" and name and "disabled" not in a:
            self._select = (name, "multiple" in a, [])
        elif tag == "option" and self._select is not None:
            self._option = [a.get("value", ""), "selected" if "selected" in a else ""]
            self._select[2].append((a.get("value", ""), "selected" in a))
        elif tag == "textarea" and name:
            self._textarea = (name, [])

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None
        elif tag == "select" and self._select is not None:
            name, multiple, options = self._select
            chosen = [v for v, selected in options if selected]
            if not chosen and options and not multiple:
                chosen = [options[0][0]]
            for value in chosen if multiple else chosen[:1]:
                self._add(name, value)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            name, parts = self._textarea
            text = "".join(parts)
            self._add(name, text[1:] if text.startswith("\n") else text)
            if self._form is not None:
                self._form.textareas.append(name)
            self._textarea = None

    def _add(self, name: str, value: str) -> None:
        assert self._form is not None
        self._form.fields.append((name, value))
        self._form.values.setdefault(name, value)


def form_posting_to(page: str, page_path: str, target: str) -> Form | None:
    parser = FormParser()
    parser.feed(page)
    for form in parser.forms:
        action = urllib.parse.urljoin(page_path, form.action or page_path).split("?")[0]
        if form.method == "post" and action == target:
            return form
    return None


# --------------------------------------------------------------------------- the records


@dataclass
class WriteSpec:
    """One record all threads save at once: its form at ``page``, POSTed to ``post``, with
    ``field`` set to a marker (None: the form's first text area), the version read from
    ``version_field``. ``append``: every accepted save adds a row (an action update)."""

    kind: str
    page: str
    post: str
    field: str | None = None
    version_field: str = "version"
    append: bool = False
    # other fields set at random on each save (an action item's status)
    choices: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    # who may save it (the preflight says), and whether its form carries the version read
    users: list[str] = dataclasses.field(default_factory=list)
    versioned: bool | None = None


@dataclass
class Accepted:
    spec: WriteSpec
    marker: str
    version: str | None


def find_records(url: str) -> tuple[int, list[WriteSpec], list[str], str]:
    """The partnership the lead and the provider share, its records' forms, and its pages."""
    import sqlalchemy as sa

    from benchmarks.common import make_app, quiet_logging
    from mls_tracker import models as m
    from mls_tracker.extensions import db
    from mls_tracker.periods import Month, utc_today

    with quiet_logging():
        app = make_app(url)
    with app.app_context():

        def first(model: Any, *where: Any) -> int | None:
            return db.session.scalar(sa.select(model.id).where(*where).order_by(model.id).limit(1))

        provider = db.session.scalar(sa.select(m.User.id).where(m.User.email == PROVIDER))
        pid = db.session.scalar(
            sa.select(m.Membership.partnership_id)
            .where(m.Membership.user_id == provider)
            .order_by(m.Membership.partnership_id)
            .limit(1)
        )
        if pid is None:
            raise SystemExit("the demo's provider is a member of no partnership")
        base = f"/partnerships/{pid}"
        last = Month.of(utc_today()).previous()
        specs: list[WriteSpec] = []
        action = first(
            m.ActionItem,
            m.ActionItem.partnership_id == pid,
            m.ActionItem.status.notin_([m.ActionStatus.DONE, m.ActionStatus.CANCELLED]),
        )
        if action:
            a = f"{base}/actions/{action}"
            specs.append(WriteSpec("action update", a, f"{a}/update", "note", append=True))
            statuses = ("open", "in progress", "blocked")
            specs.append(
                WriteSpec(
                    "action item (status)",
                    f"{a}/edit",
                    f"{a}/edit",
                    "description",
                    choices={"status": statuses},
                )
            )
        meeting = db.session.scalar(
            sa.select(m.Meeting.id)
            .where(m.Meeting.partnership_id == pid)
            .order_by(m.Meeting.held_on.desc())
            .limit(1)
        )
        if meeting:
            mt = f"{base}/meetings/{meeting}"
            specs.append(WriteSpec("meeting record", f"{mt}/hold", f"{mt}/hold", "minutes"))
            item = db.session.scalar(
                sa.select(m.AgendaItem.id)
                .join(m.Meeting, m.Meeting.id == m.AgendaItem.meeting_id)
                .where(m.Meeting.partnership_id == pid)
                .order_by(m.AgendaItem.id.desc())
                .limit(1)
            )
            if item:
                agenda_meeting = db.session.scalar(
                    sa.select(m.AgendaItem.meeting_id).where(m.AgendaItem.id == item)
                )
                mt = f"{base}/meetings/{agenda_meeting}"
                it = f"{mt}/agenda/{item}/edit"
                specs.append(WriteSpec("agenda item", it, it, "detail"))
        sla = first(m.Sla, m.Sla.partnership_id == pid, m.Sla.active.is_(True))
        if sla:
            s = f"{base}/slas/{sla}/edit"
            specs.append(WriteSpec("SLA", s, s, "definition"))
            actuals = f"{base}/slas/actuals/{last}"
            specs.append(WriteSpec("SLA actual", actuals, actuals, f"note-{sla}", f"version-{sla}"))
        for kind, model, path, name in (
            ("sponsor", m.Sponsor, "sponsors", "title"),
            ("expectation", m.Expectation, "expectations", "statement"),
            ("change", m.Change, "changes", "description"),
            ("win", m.Win, "wins", "story"),
        ):
            rid = first(model, model.partnership_id == pid)
            if rid:
                e = f"{base}/{path}/{rid}/edit"
                specs.append(WriteSpec(kind, e, e, name))
        review = first(m.Review, m.Review.partnership_id == pid)
        if review:
            r = f"{base}/reviews/{review}"
            specs.append(WriteSpec("review summary", r, f"{r}/edit", None))
        reported = getattr(m, "ReportedSatisfaction", None)
        if reported is not None:
            rid = first(reported, reported.partnership_id == pid)
            if rid:
                e = f"{base}/satisfaction/reported/{rid}/edit"
                specs.append(WriteSpec("reported satisfaction", e, e, "program"))
        pages = [
            "/",
            "/portfolio",
            "/partnerships/",
            "/my-actions",
            base,
            *(f"{base}/{part}/" for part in ("slas", "satisfaction", "actions", "meetings")),
            *(f"{base}/{part}/" for part in ("reviews", "sponsors", "expectations", "changes")),
            f"{base}/wins/",
        ]
        if review:
            pages.append(f"{base}/reviews/{review}")
        if meeting:
            pages.append(f"{base}/meetings/{meeting}")
        if action:
            pages.append(f"{base}/actions/{action}")
        db.session.remove()
        db.engine.dispose()  # no connection left open behind the benchmark
    return pid, specs, pages, last.label


# --------------------------------------------------------------------------- the run


@dataclass
class Tally:
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    statuses: Counter = dataclasses.field(default_factory=Counter)
    outcomes: Counter = dataclasses.field(default_factory=Counter)  # (kind, outcome)
    latencies: dict[str, list[float]] = dataclasses.field(default_factory=lambda: defaultdict(list))
    errors_500: list[str] = dataclasses.field(default_factory=list)
    refusals: list[str] = dataclasses.field(default_factory=list)
    accepted: list[Accepted] = dataclasses.field(default_factory=list)
    requests: int = 0


def _title(body: bytes) -> str:
    match = _TITLE_RE.search(body.decode(errors="replace"))
    return " ".join(match.group(1).split()) if match else body[:120].decode(errors="replace")


def classify_post(status: int, location: str | None, body: bytes, post: str) -> str:
    if status in (301, 302, 303):
        return "relogin" if "/login" in (location or "") else "accepted"
    text = body.decode(errors="replace")
    if status == 409 or any(sign in text for sign in CONFLICT_SIGNS):
        return "conflict"
    if status >= 500:
        return "error"
    if status in (200, 400, 422):
        return "refused"
    return f"other {status}"


class Client:
    def __init__(self, port: int, sessions: dict[str, Session], tally: Tally) -> None:
        self.port = port
        self.sessions = sessions
        self.tally = tally
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def send(
        self, who: str, kind: str, method: str, path: str, body: str | None = None
    ) -> tuple[int, str | None, bytes]:
        began = time.perf_counter()
        try:
            status, location, data = fetch(self.conn, self.sessions[who], method, path, body)
        except (OSError, http.client.HTTPException) as error:
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            with self.tally.lock:
                self.tally.requests += 1
                self.tally.statuses[f"no answer ({type(error).__name__})"] += 1
            return 0, None, b""
        elapsed = (time.perf_counter() - began) * 1000
        with self.tally.lock:
            self.tally.requests += 1
            self.tally.statuses[status] += 1
            self.tally.latencies[kind].append(elapsed)
            self.tally.latencies["all"].append(elapsed)
            if status >= 500:
                self.tally.errors_500.append(f"{status} {method} {path}: {_title(data)}")
        return status, location, data

    def read(self, who: str, path: str) -> None:
        self.send(who, "read", "GET", path)

    def write(self, who: str, spec: WriteSpec, marker: str) -> str:
        status, _, page = self.send(who, "write (form GET)", "GET", spec.page)
        if status != 200:
            self._outcome(spec, f"form unavailable ({status})")
            return "unavailable"
        form = form_posting_to(page.decode(errors="replace"), spec.page, spec.post)
        if form is None:
            self._outcome(spec, "form unavailable (not on the page)")
            return "unavailable"
        name = spec.field or (form.textareas[0] if form.textareas else None)
        if name is None or name not in form.values:
            self._outcome(spec, f"form unavailable (no field {name})")
            return "unavailable"
        version = form.values.get(spec.version_field)
        spec.versioned = version is not None
        fields = [
            (k, marker if k == name else random.choice(spec.choices[k]) if k in spec.choices else v)
            for k, v in form.fields
        ]
        body = urllib.parse.urlencode(fields)
        status, location, data = self.send(who, "write (POST)", "POST", spec.post, body)
        outcome = classify_post(status, location, data, spec.post)
        self._outcome(spec, outcome)
        if outcome == "accepted":
            with self.tally.lock:
                self.tally.accepted.append(Accepted(spec, marker, version))
        elif outcome == "refused":
            messages = [
                " ".join(m.split()) for m in _ALERT_RE.findall(data.decode("utf-8", "replace"))
            ]
            with self.tally.lock:
                if len(self.tally.refusals) < 20:
                    self.tally.refusals.append(
                        f"{spec.kind}: {'; '.join(messages)[:200] or _title(data)}"
                    )
        return outcome

    def _outcome(self, spec: WriteSpec, outcome: str) -> None:
        with self.tally.lock:
            self.tally.outcomes[(spec.kind, outcome)] += 1

    def close(self) -> None:
        self.conn.close()


def preflight(port: int, sessions: dict[str, Session], specs: list[WriteSpec]) -> list[str]:
    """Which user may save which record: one save each, not counted. Notes on the others."""
    notes: list[str] = []
    scratch = Tally()
    client = Client(port, sessions, scratch)
    for spec in specs:
        for who in (LEAD, PROVIDER):
            outcome = client.write(who, spec, f"preflight {spec.kind} {who}")
            if outcome == "accepted":
                spec.users.append(who)
        if spec.users and spec.versioned is False and not spec.append:
            notes.append(f"{spec.kind}: its form has no {spec.version_field!r} field")
        if not spec.users:
            detail = ", ".join(f"{k[1]}" for k in scratch.outcomes if k[0] == spec.kind)
            notes.append(f"{spec.kind}: nobody could save it ({detail}) — left out")
        if scratch.errors_500:
            notes.extend(f"preflight {e}" for e in scratch.errors_500)
            scratch.errors_500.clear()
    client.close()
    return notes


def run_load(
    port: int,
    sessions: dict[str, Session],
    specs: list[WriteSpec],
    pages: list[str],
    *,
    requests: int,
    threads: int,
    write_share: float,
    seed: int,
) -> tuple[Tally, float]:
    tally = Tally()
    budget = [requests]
    budget_lock = threading.Lock()
    run_id = secrets.token_hex(3)
    writable = [s for s in specs if s.users]

    def worker(number: int) -> None:
        rng = random.Random(seed * 100 + number)
        client = Client(port, sessions, tally)
        serial = 0
        try:
            while True:
                with budget_lock:
                    if budget[0] <= 0:
                        return
                    budget[0] -= 1
                if writable and rng.random() < write_share:
                    spec = rng.choice(writable)
                    serial += 1
                    marker = f"load {run_id} t{number} n{serial} {spec.kind}"
                    client.write(rng.choice(spec.users), spec, marker)
                    with budget_lock:
                        budget[0] -= 1  # a write is two requests: its form and the save
                else:
                    client.read(rng.choice((LEAD, PROVIDER)), rng.choice(pages))
        finally:
            client.close()

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return tally, time.perf_counter() - started


# --------------------------------------------------------------------------- lost writes


def lost_writes(url: str, port: int, sessions: dict[str, Session], tally: Tally) -> list[str]:
    """Each accepted write looked for where it must be; one line per write that is not."""
    import sqlalchemy as sa

    from benchmarks.common import make_app, quiet_logging
    from mls_tracker import models as m
    from mls_tracker.extensions import db

    lost: list[str] = []
    by_spec: dict[str, list[Accepted]] = defaultdict(list)
    for accepted in tally.accepted:
        by_spec[accepted.spec.kind].append(accepted)
    with quiet_logging():
        app = make_app(url)
    client = Client(port, sessions, Tally())
    for kind, saves in by_spec.items():
        spec = saves[0].spec
        if spec.append:
            action_id = int(spec.post.split("/")[-2])
            with app.app_context():
                texts = set(
                    db.session.scalars(
                        sa.select(m.ActionUpdate.text).where(
                            m.ActionUpdate.action_item_id == action_id
                        )
                    )
                )
                db.session.remove()
            lost += [
                f"{kind}: {s.marker!r} is not on the item" for s in saves if s.marker not in texts
            ]
            continue
        # Two accepted saves that read the same version: the later overwrote the earlier unseen.
        read = Counter(s.version for s in saves)
        for version, count in read.items():
            if version is not None and count > 1:
                lost.append(
                    f"{kind}: {count} saves accepted from version {version} "
                    f"({count - 1} overwritten unseen)"
                )
        status, _, page = client.send(LEAD, "check", "GET", spec.page)
        form = form_posting_to(page.decode(errors="replace"), spec.page, spec.post)
        name = spec.field or (form.textareas[0] if form and form.textareas else None)
        saved = form.values.get(name or "") if form else None
        if saved is None:
            lost.append(f"{kind}: cannot read the record back ({status})")
            continue

        def newest(save: Accepted) -> int:
            return int(save.version) if (save.version or "").isdigit() else -1

        latest = max(saves, key=newest)
        if newest(latest) >= 0 and saved.strip() != latest.marker:
            lost.append(
                f"{kind}: holds {saved.strip()[:60]!r}, "
                f"not the newest accepted save {latest.marker!r}"
            )
        elif newest(latest) < 0 and saved.strip() not in {s.marker for s in saves}:
            lost.append(f"{kind}: holds none of its accepted saves (its form has no version)")
    client.close()
    with app.app_context():
        db.engine.dispose()
    return lost


# --------------------------------------------------------------------------- setup


def fresh_database(server: str, name: str) -> str:
    import psycopg

    if not name.startswith("mls_bench_"):
        raise SystemExit(
            f"the benchmark drops and creates mls_bench_* databases only, not {name!r}"
        )
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


def flask_env(url: str, instance: str, redis: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        SECRET_KEY=secrets.token_urlsafe(32),
        SECURITY_PASSWORD_SALT=PASSWORD_SALT,
        MLS_INSTANCE_PATH=instance,
        MAIL_SUPPRESS_SEND="1",
    )
    env.pop("HUEY_IMMEDIATE", None)
    if redis:
        env["REDIS_URL"] = redis
    else:
        env.pop("REDIS_URL", None)
    return env


def flask(env: dict[str, str], *args: str) -> None:
    command = [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", *args]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)  # noqa: S603
    if done.returncode != 0:
        raise SystemExit(
            f"flask {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
        )


def commit_measured() -> str:
    if os.environ.get("LOAD_BENCH_COMMIT"):  # measuring a copy (git archive) of a commit
        return os.environ["LOAD_BENCH_COMMIT"]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
        dirty = subprocess.run(
            [  # noqa: S607
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                "mls_tracker",
                "templates",
                "migrations",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}" + (
        f" + uncommitted changes in {len(dirty.splitlines())} app file(s)" if dirty else ""
    )


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1]


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests in all (3000)")
    parser.add_argument("--threads", type=int, default=8, help="client threads (8)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (4)")
    parser.add_argument("--server-threads", type=int, default=4, help="threads per worker (4)")
    parser.add_argument("--write-share", type=float, default=0.4, help="share of writes (0.4)")
    parser.add_argument("--quick", action="store_true", help="300 requests")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument(
        "--database-url",
        help="use this PostgreSQL database (EMPTIED, the demo loaded with --reset) instead of "
        "a fresh mls_bench_load",
    )
    parser.add_argument(
        "--redis",
        nargs="?",
        const="redis://127.0.0.1:6379/0",
        help="a Redis job queue and rate-limit store (default URL redis://127.0.0.1:6379/0)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.requests = min(args.requests, 300)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.database_url:
        url = args.database_url
    else:
        bench = os.environ.get("BENCH_DATABASE_URL")
        server = bench.rsplit("/", 1)[0] if bench else DEFAULT_SERVER
        url = fresh_database(server.replace("+psycopg", ""), DEFAULT_NAME)
    if not sqlalchemy_url(url).startswith("postgresql"):
        raise SystemExit("the load benchmark runs on PostgreSQL (--database-url postgresql://…)")
    commit = commit_measured()
    log(f"database {url.rsplit('/', 1)[-1]}: migrating and loading the demo (commit {commit})")
    with tempfile.TemporaryDirectory(prefix="mls-load-") as instance:
        env = flask_env(url, instance, args.redis)
        began = time.perf_counter()
        flask(env, "db", "upgrade")
        log(f"migrated in {time.perf_counter() - began:.1f} s")
        began = time.perf_counter()
        flask(env, "demo", "load", "--reset")
        log(f"demo loaded in {time.perf_counter() - began:.1f} s")
    pid, specs, pages, month = find_records(url)
    log(
        f"gunicorn --workers {args.workers} --threads {args.server_threads}"
        f"{' with Redis ' + args.redis if args.redis else ''}; partnership {pid}, SLA month {month}"
    )
    server = Server(url, args.workers, args.server_threads, args.redis)
    try:
        sessions = {who: sign_in(server.port, who, PASSWORD) for who in (LEAD, PROVIDER)}
        notes = preflight(server.port, sessions, specs)
        writable = [s for s in specs if s.users]
        log(
            f"{args.requests} requests from {args.threads} threads: reads of {len(pages)} pages, "
            f"writes on {len(writable)} records ({', '.join(s.kind for s in writable)})"
        )
        tally, seconds = run_load(
            server.port,
            sessions,
            specs,
            pages,
            requests=args.requests,
            threads=args.threads,
            write_share=args.write_share,
            seed=args.seed,
        )
        lost = lost_writes(url, server.port, sessions, tally)
        gunicorn_tail = server.output()
    finally:
        server.stop()
    return report(args, commit, tally, seconds, lost, notes, gunicorn_tail)


def report(
    args: argparse.Namespace,
    commit: str,
    tally: Tally,
    seconds: float,
    lost: list[str],
    notes: list[str],
    gunicorn_tail: str,
) -> int:
    print()
    print(
        f"Load benchmark — commit {commit}; gunicorn {args.workers} workers × "
        f"{args.server_threads} threads; "
        f"{args.threads} client threads; {'Redis' if args.redis else 'no Redis'}"
    )
    for note in notes:
        print(f"  note: {note}")
    print(f"requests: {tally.requests} in {seconds:.1f} s ({tally.requests / seconds:.0f}/s)")
    statuses = ", ".join(
        f"{k} × {v}" for k, v in sorted(tally.statuses.items(), key=lambda kv: str(kv[0]))
    )
    print(f"answers by status: {statuses}")
    print("writes by record (outcome × count):")
    kinds = sorted({kind for kind, _ in tally.outcomes})
    for kind in kinds:
        row = ", ".join(f"{o} × {n}" for (k, o), n in sorted(tally.outcomes.items()) if k == kind)
        print(f"  {kind:<22} {row}")
    conflicts = sum(n for (_, o), n in tally.outcomes.items() if o == "conflict")
    accepted = sum(n for (_, o), n in tally.outcomes.items() if o == "accepted")
    print(f"writes accepted: {accepted}; conflicts (409 or the conflict message): {conflicts}")
    for refusal in tally.refusals[:5]:
        print(f"  refused: {refusal}")
    errors = [e for e in tally.errors_500]
    print(f"500s: {len(errors)}")
    for line in errors[:5]:
        print(f"  {line}")
    for kind in ("all", "read", "write (form GET)", "write (POST)"):
        values = tally.latencies.get(kind, [])
        if values:
            print(
                f"latency {kind:<17} p50 {percentile(values, 0.5):7.1f} ms   "
                f"p95 {percentile(values, 0.95):7.1f} ms   (n={len(values)})"
            )
    print(f"LOST WRITES: {len(lost)}")
    for line in lost[:20]:
        print(f"  {line}")
    if errors and "Traceback" in gunicorn_tail:
        print("gunicorn's log ends with:\n" + gunicorn_tail[-1500:])
    return 1 if errors or lost else 0


if __name__ == "__main__":
    sys.exit(main())
