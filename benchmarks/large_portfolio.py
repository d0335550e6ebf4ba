"""Build the large portfolio of QUALITY.md (or the demo) into a migrated benchmark database.

    .venv/bin/python benchmarks/large_portfolio.py            # 200 partnerships, 1M responses
    .venv/bin/python benchmarks/large_portfolio.py --small    # 3 partnerships, same shape
    .venv/bin/python benchmarks/large_portfolio.py --demo     # the Northwind demo (load_demo)
    .venv/bin/python benchmarks/large_portfolio.py --force    # rebuild even if already built

The database is a SQLite file in .bench/ or, when BENCH_DATABASE_URL is set, the PostgreSQL
database ``<BENCH_DATABASE_URL>_<size>``. A marker table (``bench_build_info``) records the
parameters of the build; a later run with the same parameters (same current month, same
migration head) reuses the database instead of building it again.

Rows are written through the DB-API connection in bulk — ``executemany`` on SQLite, ``COPY`` on
PostgreSQL — with explicit ids, never one ORM object per row; the audit log (an ORM flush
listener) therefore records nothing, which is right for benchmark data.
"""

from __future__ import annotations

import argparse
import bisect
import dataclasses
import datetime as dt
import decimal
import hashlib
import json
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    LEAD_EMAIL,
    database_url,
    ensure_postgres_database,
    log,
    make_app,
    quiet_logging,
)

# Bump when the generated data changes, so cached databases are rebuilt.
DATA_VERSION = 1
MARKER_TABLE = "bench_build_info"


@dataclasses.dataclass(frozen=True)
class Params:
    partnerships: int = 200
    months: int = 36
    slas: int = 12
    actions_per_month: int = 10
    responses: int = 1_000_000
    seed: int = 20260101


LARGE = Params()
SMALL = Params(partnerships=3, responses=15_000)

REGIONS = ("North America", "EMEA", "APAC", "LATAM", "India")
PROGRAMS = (
    "Leadership Essentials",
    "Manager Foundations",
    "Product Academy",
    "Digital Skills Bootcamp",
    "Sales Onboarding",
    "Safety & Compliance",
)
CLIENTS = 20
PROVIDERS = 8
UTC = dt.UTC


# --------------------------------------------------------------------------- the writer


class Writer:
    """Bulk rows into tables through the raw DB-API connection, with explicit ids."""

    def __init__(self, raw: Any, dialect: str) -> None:
        self.raw = raw
        self.dialect = dialect
        self.driver = raw.driver_connection
        self.counts: dict[str, int] = {}
        self.next_ids: dict[str, int] = {}
        self.checked: set[tuple[str, tuple[str, ...]]] = set()  # tables whose columns were checked
        if dialect == "sqlite":
            _register_sqlite_adapters()
            cursor = self.driver.cursor()
            # One connection, one transaction: no fsync per batch, no per-row FK lookups.
            cursor.execute("PRAGMA foreign_keys=OFF")
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-200000")
            cursor.close()

    def new_id(self, table: str) -> int:
        value = self.next_ids.get(table, 1)
        self.next_ids[table] = value + 1
        return value

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        if (table, tuple(columns)) not in self.checked:
            _check_columns(table, columns)  # every NOT NULL column given: catches schema drift
            self.checked.add((table, tuple(columns)))
        rows = rows if isinstance(rows, list) else list(rows)
        if not rows:
            return
        self.counts[table] = self.counts.get(table, 0) + len(rows)
        cursor = self.driver.cursor()
        names = ", ".join(columns)
        if self.dialect == "postgresql":
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 (our own names)
            cursor.executemany(sql, rows)
        cursor.close()

    def finish(self) -> None:
        if self.dialect == "postgresql":
            cursor = self.driver.cursor()
            for table in self.next_ids:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
            cursor.close()
        self.driver.commit()


def _register_sqlite_adapters() -> None:
    """Store values as SQLAlchemy's SQLite dialect does (naive UTC text, floats)."""
    import sqlite3

    sqlite3.register_adapter(
        dt.datetime, lambda v: v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    )
    sqlite3.register_adapter(dt.date, lambda v: v.isoformat())
    sqlite3.register_adapter(decimal.Decimal, float)


def _check_columns(table: str, columns: Sequence[str]) -> None:
    """Every NOT NULL column without a server default is given (catches schema drift)."""
    from mls_tracker.models import Base

    t = Base.metadata.tables[table]
    unknown = set(columns) - set(t.c.keys())
    missing = {
        c.name for c in t.c if not c.nullable and c.server_default is None and c.name not in columns
    }
    if unknown or missing:
        raise SystemExit(f"{table}: unknown columns {unknown or '-'}, missing {missing or '-'}")


# --------------------------------------------------------------------------- helpers


def _at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def _weekday_on_or_after(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def _rating_cum_weights(mean: float) -> tuple[float, ...]:
    from mls_tracker.demo import _rating_cum_weights as demo_weights

    return demo_weights(round(min(4.85, max(1.5, mean)), 2))


# --------------------------------------------------------------------------- the builder


class Builder:
    def __init__(self, writer: Writer, params: Params, today: dt.date, password: str) -> None:
        from mls_tracker.periods import Month, month_range

        self.w = writer
        self.p = params
        self.today = today
        self.password = password
        self.current = Month.of(today)
        self.months = month_range(self.current.shift(-(params.months - 1)), self.current)
        self.region_ids: dict[str, int] = {}
        self.org_ids: list[int] = []
        self._user_rows: list[tuple[Any, ...]] = []
        self._regions_of: dict[int, list[int]] = {}

    def build(self, progress: Callable[[str], None]) -> None:
        self._base()
        progress(f"{self.p.partnerships} partnerships, members, sponsors, expectations, SLAs")
        for index in range(self.p.partnerships):
            self._partnership(index)
            if (index + 1) % 50 == 0:
                progress(f"  {index + 1} partnerships")
        progress(f"{self.p.responses:,} survey responses")
        self._survey()

    # ----------------------------------------------------------------- shared rows

    def _base(self) -> None:
        from mls_tracker.models.people import region_code_from

        w = self.w
        orgs = [(f"Client {n:02d} Holdings", "client") for n in range(1, CLIENTS + 1)]
        orgs += [(f"Provider {n:02d} Learning", "provider") for n in range(1, PROVIDERS + 1)]
        joined = _at(self.months[0].first_day - dt.timedelta(days=120), 9)
        rows = []
        for name, kind in orgs:
            oid = w.new_id("organisations")
            self.org_ids.append(oid)
            rows.append((oid, name, kind, joined, joined))
        cols = ("id", "name", "kind", "created_at", "updated_at")
        w.insert("organisations", cols, rows)
        rows = []
        for position, name in enumerate(REGIONS, start=1):
            rid = w.new_id("regions")
            self.region_ids[name] = rid
            rows.append((rid, region_code_from(name), name, position))
        w.insert("regions", ("id", "code", "name", "position"), rows)
        self.admin_id = self._user("admin@example.com", "Morgan Ellis", self.org_ids[0], True)
        self.lead_id = self._user(LEAD_EMAIL, "Dana Whitfield", self.org_ids[0], False)
        self._flush_users()

    USER_COLS = (
        "id",
        "email",
        "display_name",
        "password",
        "active",
        "is_admin",
        "organisation_id",
        "fs_uniquifier",
        "confirmed_at",
        "created_at",
        "updated_at",
    )

    def _user(self, email: str, name: str, org_id: int, admin: bool) -> int:
        uid = self.w.new_id("users")
        joined = _at(self.months[0].first_day - dt.timedelta(days=90), 9)
        self._user_rows.append(
            (uid, email, name, self.password, True, admin, org_id, uuid.uuid4().hex)
            + (joined, joined, joined)
        )
        return uid

    def _flush_users(self) -> None:
        self.w.insert("users", self.USER_COLS, self._user_rows)
        self._user_rows = []

    # ----------------------------------------------------------------- one partnership

    def _partnership(self, index: int) -> list[Any]:  # noqa: C901, PLR0912, PLR0915
        from mls_tracker.demo import (
            _CLIENT_ACTIONS,
            _PROVIDER_ACTIONS,
            _SLA_CATALOGUE,
        )
        from mls_tracker.models import ExpectationCategory

        w, p = self.w, self.p
        rng = random.Random(f"{p.seed}:{index}")
        n = index + 1
        client_id = self.org_ids[index % CLIENTS]
        provider_id = self.org_ids[CLIENTS + index % PROVIDERS]
        months = self.months
        start = months[0].shift(-rng.randint(0, 10)).first_day
        regions = [r for r in REGIONS if r == REGIONS[index % 5] or rng.random() < 0.7]
        home = regions[0]
        pid = w.new_id("partnerships")
        created = _at(start - dt.timedelta(days=10), 9)
        status = "active" if rng.random() < 0.85 else rng.choice(("under review", "onboarding"))
        cols = (
            "id",
            "name",
            "client_id",
            "provider_id",
            "engagement_model",
            "governance_model",
            "start_date",
            "renewal_date",
            "annual_value",
            "currency",
            "status",
            "home_region_id",
            "review_cadence",
            "weight_sla",
            "weight_satisfaction",
            "weight_actions",
            "weight_coverage",
            "created_at",
            "updated_at",
        )
        w.insert(
            "partnerships",
            cols,
            [
                (
                    pid,
                    f"Partnership {n:03d} — {rng.choice(PROGRAMS)}",
                    client_id,
                    provider_id,
                    rng.choice(("managed learning services", "retainer", "project outsourcing")),
                    rng.choice(("centralized", "decentralized", "federated")),
                    start,
                    start.replace(year=start.year + 4),
                    decimal.Decimal(rng.randrange(200_000, 6_000_000, 50_000)),
                    rng.choice(("USD", "USD", "EUR", "GBP")),
                    status,
                    self.region_ids[home],
                    "monthly",
                    decimal.Decimal(40),
                    decimal.Decimal(25),
                    decimal.Decimal(20),
                    decimal.Decimal(15),
                    created,
                    created,
                )
            ],
        )
        w.insert(
            "partnership_regions",
            ("partnership_id", "region_id"),
            [(pid, self.region_ids[r]) for r in regions],
        )

        # members: the partnership's own four, and the lead of every partnership
        lead = self._user(f"lead{n:03d}@bench.example", f"Lead {n:03d}", client_id, False)
        provider = self._user(
            f"provider{n:03d}@bench.example", f"Provider {n:03d}", provider_id, False
        )
        sponsor_user = self._user(
            f"sponsor{n:03d}@bench.example", f"Sponsor {n:03d}", client_id, False
        )
        viewer = self._user(f"viewer{n:03d}@bench.example", f"Viewer {n:03d}", client_id, False)
        self._flush_users()
        members = [
            (lead, "lead"),
            (self.lead_id, "lead"),
            (provider, "provider"),
            (sponsor_user, "sponsor"),
            (viewer, "viewer"),
        ]
        cols = ("id", "user_id", "partnership_id", "role", "created_at", "updated_at")
        w.insert(
            "memberships",
            cols,
            [(w.new_id("memberships"), u, pid, role, created, created) for u, role in members],
        )
        member_ids = [u for u, _ in members if u != viewer]

        # sponsors by region, client and provider side, with gaps and one that ended
        sponsors: list[tuple[int, dt.date, dt.date | None, float]] = []
        rows = []
        for position, region in enumerate(regions):
            for side in ("client", "provider"):
                if side == "client" and position > 0 and rng.random() < 0.12:
                    continue  # a gap: no client sponsor for this region
                if side == "provider" and rng.random() < 0.4:
                    continue
                begins, ends = start, None
                if rng.random() < 0.1:
                    ends = self.today - dt.timedelta(days=rng.randint(20, 400))
                sid = w.new_id("sponsors")
                first = position == 0 and side == "client"
                rows.append(
                    (
                        sid,
                        pid,
                        self.region_ids[region],
                        side,
                        f"Sponsor {n:03d}-{position}{side[0]}",
                        "Regional Director" if side == "client" else "Client Services VP",
                        f"s{n:03d}{position}{side[0]}@bench.example",
                        sponsor_user if first else None,
                        begins,
                        ends,
                        _at(begins),
                        _at(ends or begins),
                    )
                )
                sponsors.append((sid, begins, ends, rng.uniform(0.4, 0.95)))
        cols = (
            "id",
            "partnership_id",
            "region_id",
            "side",
            "name",
            "title",
            "email",
            "user_id",
            "start_date",
            "end_date",
            "created_at",
            "updated_at",
        )
        w.insert("sponsors", cols, rows)

        # expectations, one per category, some overdue for revisiting, each revisited once
        categories = [category.value for category in ExpectationCategory]
        expectation_of: dict[str, int] = {}
        rows, revisions = [], []
        agreed = start + dt.timedelta(days=14)
        for category in categories:
            eid = w.new_id("expectations")
            expectation_of[category] = eid
            overdue = rng.random() < 0.2
            revisit = self.today + dt.timedelta(
                days=-rng.randint(5, 60) if overdue else rng.randint(30, 300)
            )
            rows.append(
                (
                    eid,
                    pid,
                    category,
                    f"The {category} commitments of partnership {n:03d} are met and reviewed.",
                    rng.choice(("client", "provider")),
                    agreed,
                    max(revisit, agreed),
                    _at(agreed),
                    _at(agreed),
                )
            )
            revisited = agreed + dt.timedelta(days=180)
            revisions.append(
                (
                    w.new_id("expectation_revisions"),
                    eid,
                    "revisited",
                    revisited,
                    max(revisit, agreed),
                    "Still right.",
                    lead,
                    _at(revisited),
                )
            )
        cols = (
            "id",
            "partnership_id",
            "category",
            "statement",
            "owner_side",
            "agreed_on",
            "revisit_by",
            "created_at",
            "updated_at",
        )
        w.insert("expectations", cols, rows)
        cols = (
            "id",
            "expectation_id",
            "kind",
            "revisited_on",
            "next_revisit_by",
            "note",
            "author_id",
            "created_at",
        )
        w.insert("expectation_revisions", cols, revisions)

        # SLAs with targets and a measurement a month
        specs = rng.sample(sorted(_SLA_CATALOGUE.values(), key=lambda s: s.code), p.slas)
        sla_rows, target_rows, measurement_rows = [], [], []
        sla_ids = []
        last = len(months) - 1
        for spec in specs:
            sid = w.new_id("slas")
            sla_ids.append(sid)
            sla_rows.append(
                (
                    sid,
                    pid,
                    expectation_of[spec.category.value],
                    spec.code,
                    spec.name,
                    spec.definition,
                    spec.unit.value,
                    spec.direction.value,
                    decimal.Decimal(str(spec.weight)),
                    "monthly",
                    True,
                    created,
                    created,
                )
            )
            higher = spec.direction.value == "higher is better"
            target, at_risk = spec.target, spec.at_risk
            mean = spec.mean or (target * 1.04 if higher else target * 0.96)
            spread = spec.spread or abs(target - at_risk) / 2 or 1.0
            target_rows.append(
                (w.new_id("sla_targets"), sid, months[0].first_day)
                + (decimal.Decimal(str(target)), decimal.Decimal(str(at_risk)), lead, created)
            )
            if rng.random() < 0.3:
                changed = months[last - 12]
                target_rows.append(
                    (w.new_id("sla_targets"), sid, changed.first_day)
                    + (decimal.Decimal(str(target)), decimal.Decimal(str(at_risk)), lead)
                    + (_at(changed.first_day),)
                )
            drift = rng.choice((0.0, 0.0, 0.0, 1.0)) * spread * 0.15 * (-1 if higher else 1)
            for m_index, month in enumerate(months):
                draw = rng.random()
                if m_index == last:
                    if draw < 0.7:
                        continue  # not reported yet
                    state = "proposed"
                elif m_index == last - 1:
                    state = "proposed" if draw < 0.4 else "confirmed"
                else:
                    if draw < 0.02:
                        continue  # missing
                    state = "confirmed"
                not_applicable = m_index < last - 1 and rng.random() < 0.01
                value = None
                if not not_applicable:
                    raw = rng.gauss(mean + drift * m_index, spread)
                    value = decimal.Decimal(f"{raw:.2f}")
                entered = _at(month.last_day + dt.timedelta(days=3))
                confirmed = entered + dt.timedelta(days=2) if state == "confirmed" else None
                measurement_rows.append(
                    (
                        w.new_id("sla_measurements"),
                        sid,
                        month.first_day,
                        value,
                        not_applicable,
                        state,
                        provider,
                        entered,
                        lead if confirmed else None,
                        confirmed,
                    )
                )
        cols = (
            "id",
            "partnership_id",
            "expectation_id",
            "code",
            "name",
            "definition",
            "unit",
            "direction",
            "weight",
            "frequency",
            "active",
            "created_at",
            "updated_at",
        )
        w.insert("slas", cols, sla_rows)
        cols = (
            "id",
            "sla_id",
            "effective_from",
            "target",
            "at_risk_threshold",
            "set_by_id",
            "created_at",
        )
        w.insert("sla_targets", cols, target_rows)
        cols = (
            "id",
            "sla_id",
            "month",
            "value",
            "not_applicable",
            "state",
            "entered_by_id",
            "entered_at",
            "confirmed_by_id",
            "confirmed_at",
        )
        w.insert("sla_measurements", cols, measurement_rows)

        # monthly meetings reviewing the month before, attendance, agenda, challenges
        meeting_rows, attendance_rows, agenda_rows, challenge_rows = [], [], [], []
        meetings: list[tuple[int, Any, dt.date, str]] = []
        day = rng.randint(3, 15)
        for month in months[:-1] + [months[-1]]:
            nxt = month.next()
            held_on = _weekday_on_or_after(dt.date(nxt.year, nxt.month, day))
            mid = w.new_id("meetings")
            qbr = month.month % 3 == 0
            if held_on < self.today:
                approved = held_on < self.today - dt.timedelta(days=45)
                state = "minutes approved" if approved else "held"
            else:
                approved, state = False, "planned"
            meeting_rows.append(
                (
                    mid,
                    pid,
                    held_on,
                    "quarterly business review" if qbr else "monthly",
                    month.first_day,
                    state,
                    f"Monthly governance review of {month.label}. SLAs and actions reviewed."
                    if state != "planned"
                    else None,
                    lead if approved else None,
                    _at(held_on + dt.timedelta(days=3), 16) if approved else None,
                    _at(held_on - dt.timedelta(days=21)),
                    _at(min(held_on, self.today)),
                )
            )
            meetings.append((mid, month, held_on, state))
            for position, (section, title) in enumerate(
                (
                    ("SLAs", f"SLA results for {month.label}"),
                    ("Actions", "Overdue action items"),
                    ("Sponsors", "Sponsor coverage"),
                    ("Satisfaction", "Learner satisfaction"),
                )
            ):
                agenda_rows.append(
                    (w.new_id("agenda_items"), mid, position, section, title)
                    + (f"{section.lower()}:{mid}", False)
                )
            if state == "planned":
                continue
            for user_id in member_ids:
                attendance_rows.append(
                    (w.new_id("attendances"), mid, user_id, None, rng.random() < 0.93)
                )
            for sid_, begins, ends, engagement in sponsors:
                if begins <= held_on and (ends is None or ends >= held_on):
                    attendance_rows.append(
                        (w.new_id("attendances"), mid, None, sid_, rng.random() < engagement)
                    )
            if rng.random() < 0.3:
                challenge_rows.append(
                    (w.new_id("challenges"), pid, mid)
                    + (f"Challenge raised in {month.label}", "Discussed; actions agreed.")
                    + (_at(held_on, 11), _at(held_on, 11))
                )
        cols = (
            "id",
            "partnership_id",
            "held_on",
            "kind",
            "reviewed_month",
            "state",
            "minutes",
            "approved_by_id",
            "approved_at",
            "created_at",
            "updated_at",
        )
        w.insert("meetings", cols, meeting_rows)
        cols = ("id", "meeting_id", "user_id", "sponsor_id", "present")
        w.insert("attendances", cols, attendance_rows)
        cols = ("id", "meeting_id", "position", "section", "title", "source_key", "edited")
        w.insert("agenda_items", cols, agenda_rows)
        cols = (
            "id",
            "partnership_id",
            "meeting_id",
            "title",
            "description",
            "created_at",
            "updated_at",
        )
        w.insert("challenges", cols, challenge_rows)

        # about ten action items a month, from that month's meeting (or on their own)
        action_rows, update_rows = [], []
        held = [m for m in meetings if m[3] != "planned"]
        yesterday = self.today - dt.timedelta(days=1)
        statuses = ("open", "in progress", "blocked", "done", "cancelled")
        for h_index, (mid, month, held_on, _state) in enumerate(held):
            recent = h_index >= len(held) - 3
            count = max(1, round(rng.gauss(p.actions_per_month, 1.5)))
            for number in range(count):
                side = "provider" if rng.random() < 0.55 else "client"
                pool = _PROVIDER_ACTIONS if side == "provider" else _CLIENT_ACTIONS
                title = rng.choice(pool).format(
                    region=rng.choice(regions), program=rng.choice(PROGRAMS), month=month.label
                )
                # The lead of every partnership owns one client item a month (My actions).
                client_owner = self.lead_id if number == 0 else lead
                owner = provider if side == "provider" else client_owner
                due = held_on + dt.timedelta(days=rng.choice((14, 21, 28, 35, 42)))
                if not recent:
                    status = "done" if rng.random() < 0.9 else "cancelled"
                    if rng.random() < 0.02:
                        status = "open"  # long forgotten, overdue
                elif due < self.today:
                    status = rng.choices(statuses, (0.15, 0.2, 0.1, 0.5, 0.05))[0]
                else:
                    status = rng.choices(statuses, (0.4, 0.4, 0.05, 0.15, 0.0))[0]
                closed_on = None
                if status in ("done", "cancelled"):
                    closed_on = min(yesterday, due + dt.timedelta(days=rng.randint(-10, 8)))
                    closed_on = max(closed_on, held_on + dt.timedelta(days=1))
                aid = w.new_id("action_items")
                verified = status == "done" and side == "provider" and rng.random() < 0.7
                later = sum(1 for m in held[h_index + 1 :] if m[2] < (closed_on or self.today))
                action_rows.append(
                    (
                        aid,
                        pid,
                        mid if rng.random() < 0.9 else None,
                        title,
                        None,
                        side,
                        owner,
                        due,
                        rng.choices(("low", "medium", "high", "critical"), (2, 5, 2.5, 0.5))[0],
                        status,
                        sla_ids[0] if number == 0 and rng.random() < 0.2 else None,
                        closed_on,
                        lead,
                        lead if verified else None,
                        _at(closed_on + dt.timedelta(days=2), 15) if verified else None,
                        later if status not in ("done", "cancelled") else min(later, 2),
                        _at(held_on, 11, 30),
                        _at(closed_on or held_on, 12),
                    )
                )
                if status != "open":
                    began = min(held_on + dt.timedelta(days=rng.randint(1, 6)), yesterday)
                    update_rows.append(
                        (w.new_id("action_updates"), aid, owner, _at(began, 10))
                        + ("Work has started.", "open", "in progress")
                    )
                if closed_on is not None:
                    update_rows.append(
                        (w.new_id("action_updates"), aid, owner, _at(closed_on, 15))
                        + ("Closed.", "in progress", status)
                    )
        cols = (
            "id",
            "partnership_id",
            "meeting_id",
            "title",
            "description",
            "owner_side",
            "owner_id",
            "due_on",
            "priority",
            "status",
            "sla_id",
            "closed_on",
            "created_by_id",
            "verified_by_id",
            "verified_at",
            "times_carried",
            "created_at",
            "updated_at",
        )
        w.insert("action_items", cols, action_rows)
        cols = ("id", "action_item_id", "author_id", "created_at", "text")
        cols += ("old_status", "new_status")
        w.insert("action_updates", cols, update_rows)

        # a few changes and wins
        change_rows, change_region_rows, win_rows = [], [], []
        for number in range(3):
            cid = w.new_id("changes")
            planned = self.today + dt.timedelta(days=rng.randint(-200, 90))
            change_rows.append(
                (cid, pid, f"Change {number + 1}: new LMS release", "Rolled out by region.")
                + (rng.choice(("technology", "process", "content")), planned)
                + ("E-mail and intranet news.", lead)
                + (rng.choice(("planned", "in progress", "live")), lead)
                + (_at(planned - dt.timedelta(days=40)), _at(planned - dt.timedelta(days=40)))
            )
            for region in rng.sample(regions, min(len(regions), 2)):
                change_region_rows.append((cid, self.region_ids[region]))
        for number in range(5):
            won = self.today - dt.timedelta(days=rng.randint(5, 700))
            win_rows.append(
                (w.new_id("wins"), pid, f"Win {number + 1}: record completion", "A good story.")
                + (won, self.region_ids[rng.choice(regions)], "+12% completion")
                + (rng.random() < 0.5, lead, _at(won), _at(won))
            )
        cols = ("id", "partnership_id", "title", "description", "change_type", "planned_on")
        cols += ("communication_plan", "owner_id", "status", "created_by_id")
        cols += ("created_at", "updated_at")
        w.insert("changes", cols, change_rows)
        w.insert("change_regions", ("change_id", "region_id"), change_region_rows)
        cols = ("id", "partnership_id", "title", "story", "won_on", "region_id")
        cols += ("measurable_impact", "shareable", "created_by_id", "created_at", "updated_at")
        w.insert("wins", cols, win_rows)

        self._regions_of[pid] = [self.region_ids[r] for r in regions]
        return meetings

    # ----------------------------------------------------------------- survey

    def _survey(self) -> None:
        """The survey responses, written partnership by partnership (one import a year)."""
        from mls_tracker.demo import _COMMENTS_BAD, _COMMENTS_GOOD, _COMMENTS_MIXED

        w, p = self.w, self.p
        sqlite = w.dialect == "sqlite"
        months = self.months
        cells = p.partnerships * len(months)
        per_cell = p.responses / cells
        cols = (
            "id",
            "partnership_id",
            "import_id",
            "response_key",
            "submitted_at",
            "month",
            "program",
            "region_id",
            "rating",
            "recommend",
            "comment",
        )
        import_cols = ("id", "partnership_id", "file_name", "file_format", "file_sha256")
        import_cols += ("uploaded_by_id", "created_at", "rows_added", "rows_skipped")
        import_cols += ("state", "confirmed_by_id", "confirmed_at")  # a lead's: confirmed
        recommend_mean = {1: 1.5, 2: 3.5, 3: 6.0, 4: 7.9, 5: 9.3}
        written = 0
        next_id = 1
        batch: list[tuple[Any, ...]] = []
        started = time.perf_counter()
        for pid in range(1, p.partnerships + 1):
            rng = random.Random(f"{p.seed}:survey:{pid}")
            region_ids = self._regions_of[pid]
            base_mean = rng.uniform(3.7, 4.4)
            imports: dict[int, int] = {}
            import_rows = []
            key_number = 0
            for m_index, month in enumerate(months):
                year_block = m_index // 12
                if year_block not in imports:
                    iid = w.new_id("survey_imports")
                    imports[year_block] = iid
                    import_rows.append(
                        (iid, pid, f"export-{pid}-{year_block}.csv", "generic", f"{iid:064x}")
                        + (self.lead_id, _at(month.first_day, 8), 0, 0)
                        + ("confirmed", self.lead_id, _at(month.first_day, 8))
                    )
                iid = imports[year_block]
                if pid == p.partnerships and m_index == len(months) - 1:
                    count = p.responses - written  # exactly the total asked for
                else:
                    count = max(0, round(per_cell * rng.uniform(0.8, 1.2)))
                written += count
                cumulative = _rating_cum_weights(base_mean + rng.gauss(0, 0.05))
                days = (month.last_day - month.first_day).days + 1
                if month == months[-1]:
                    days = max(1, min(days, self.today.day))
                first = month.first_day
                month_value = first if not sqlite else first.isoformat()
                prefix = f"{first:%Y-%m}-"
                rand = rng.random
                randint = rng.randint
                for _ in range(count):
                    rating = 1 + min(4, bisect.bisect_right(cumulative, rand()))
                    recommend = None
                    if rand() >= 0.06:
                        recommend = min(10, max(0, round(rng.gauss(recommend_mean[rating], 1.1))))
                    comment = None
                    if rand() < (0.35 if rating <= 2 else 0.15):
                        pool = (
                            _COMMENTS_BAD
                            if rating <= 2
                            else _COMMENTS_MIXED
                            if rating == 3
                            else _COMMENTS_GOOD
                        )
                        comment = pool[int(rand() * len(pool))]
                    d, h, mi, s = randint(1, days), randint(6, 21), randint(0, 59), randint(0, 59)
                    if sqlite:
                        submitted: Any = f"{prefix}{d:02d} {h:02d}:{mi:02d}:{s:02d}.000000"
                    else:
                        submitted = dt.datetime(first.year, first.month, d, h, mi, s, tzinfo=UTC)
                    key_number += 1
                    batch.append(
                        (
                            next_id,
                            pid,
                            iid,
                            f"R{pid}_{key_number}",
                            submitted,
                            month_value,
                            PROGRAMS[int(rand() * len(PROGRAMS))],
                            region_ids[int(rand() * len(region_ids))],
                            rating,
                            recommend,
                            comment,
                        )
                    )
                    next_id += 1
            w.insert("survey_imports", import_cols, import_rows)
            if len(batch) >= 50_000 or pid == p.partnerships:
                w.insert("survey_responses", cols, batch)
                batch = []
                rate = written / (time.perf_counter() - started)
                log(f"  {written:,} responses ({rate:,.0f}/s)")
        w.next_ids["survey_responses"] = next_id


# --------------------------------------------------------------------------- derived data


def rebuild_derived(params: Params, progress: Callable[[str], None]) -> None:
    """HOOK — derived data: call the app's own rebuild functions here.

    Runs inside the app context once every row above (the survey responses last) is written
    and committed. Those rows went in with executemany / COPY, past the services that keep
    derived tables (caches, aggregates) consistent on an ordinary write: every table the app
    derives from them must be rebuilt here by the app's OWN rebuild function (never by SQL of
    the benchmark's own), so that the benchmark measures a database the app could have
    produced. For example (issue 18, the survey import's monthly aggregates):

        from mls_tracker.services import satisfaction_months
        satisfaction_months.rebuild(...)

    Time each call with ``progress`` so that the build log shows it.
    """
    del params
    from mls_tracker.extensions import db
    from mls_tracker.services import satisfaction_months

    step = time.perf_counter()
    satisfaction_months.rebuild()
    db.session.commit()
    progress(f"satisfaction_months rebuilt ({time.perf_counter() - step:.1f} s)")


# --------------------------------------------------------------------------- entry points


def _marker(app: Any) -> dict[str, Any] | None:
    import sqlalchemy as sa

    from mls_tracker.extensions import db

    with app.app_context():
        if MARKER_TABLE not in sa.inspect(db.engine).get_table_names():
            return None
        value = db.session.execute(
            sa.text(f"SELECT value FROM {MARKER_TABLE} WHERE key = 'build'")  # noqa: S608
        ).scalar()
        db.session.remove()
        return json.loads(value) if value else None


def _wanted(kind: str, params: Params | None, today: dt.date) -> dict[str, Any]:
    from mls_tracker.periods import Month

    # The migrations by name AND content: a migration stub filled in later keeps its file name,
    # and a database built before must then be rebuilt.
    heads = sorted(
        f"{p.name}:{hashlib.sha256(p.read_bytes()).hexdigest()[:12]}"
        for p in (Path(__file__).parent.parent / "migrations/versions").glob("*.py")
    )
    wanted: dict[str, Any] = {
        "kind": kind,
        "data_version": DATA_VERSION,
        "migrations": heads,
        "month": str(Month.of(today)),
    }
    if kind == "demo":
        wanted["today"] = today.isoformat()  # the demo's history depends on the day
    if params:
        wanted["params"] = dataclasses.asdict(params)
    return wanted


def _wipe(url: str) -> None:
    """Start from an empty database: delete the SQLite file, or empty the PostgreSQL schema."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    ensure_postgres_database(url)
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def ensure_built(
    size: str, *, force: bool = False, url: str | None = None, today: dt.date | None = None
) -> tuple[str, float | None]:
    """Build the database of a size (demo, small, large) unless already built the same way.

    Returns the URL and the build time in seconds (None when an earlier build was reused).
    """
    today = today or dt.date.today()
    url = url or database_url(size)
    if not url.startswith("sqlite"):
        ensure_postgres_database(url)
    params = {"small": SMALL, "large": LARGE}.get(size)
    wanted = _wanted("demo" if size == "demo" else "portfolio", params, today)
    with quiet_logging():
        app = make_app(url)
        found = None if force else _marker(app)
        if found == wanted:
            log(f"{size}: reusing the database built earlier ({_describe(url)})")
            return url, None
        from mls_tracker.extensions import db

        with app.app_context():
            db.engine.dispose()
        log(f"{size}: building into {_describe(url)}")
        _wipe(url)
        started = time.perf_counter()
        app = make_app(url)
        _build(app, size, params, wanted, today)
        elapsed = time.perf_counter() - started
    log(f"{size}: built in {elapsed:.1f} s")
    return url, elapsed


def _describe(url: str) -> str:
    return url.split("@")[-1] if "@" in url else url


def _build(app: Any, size: str, params: Params | None, wanted: dict[str, Any], today: dt.date):
    import sqlalchemy as sa
    from flask_migrate import upgrade
    from flask_security import hash_password

    from mls_tracker.extensions import db

    with app.app_context():
        step = time.perf_counter()
        upgrade()
        log(f"  migrated ({time.perf_counter() - step:.1f} s)")
        if size == "demo":
            from mls_tracker.demo import load_demo

            print(load_demo(today=today, progress=lambda s: log(f"  {s}")))
        else:
            assert params is not None
            raw = db.engine.raw_connection()
            try:
                writer = Writer(raw, db.engine.dialect.name)
                builder = Builder(writer, params, today, hash_password("demo-password"))
                builder.build(lambda s: log(f"  {s}"))
                writer.finish()
            finally:
                raw.close()
            rebuild_derived(params, lambda s: log(f"  {s}"))
            log("  rows: " + ", ".join(f"{t} {n:,}" for t, n in sorted(writer.counts.items())))
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(f"CREATE TABLE {MARKER_TABLE} (key VARCHAR(40) PRIMARY KEY, value TEXT)")
            )
            conn.execute(
                sa.text(f"INSERT INTO {MARKER_TABLE} (key, value) VALUES ('build', :v)"),  # noqa: S608
                {"v": json.dumps(wanted)},
            )
        if db.engine.dialect.name == "postgresql":
            # What autovacuum would have done shortly after a load this size.
            step = time.perf_counter()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
            log(f"  VACUUM ANALYZE ({time.perf_counter() - step:.1f} s)")
        db.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--small", action="store_true", help="3 partnerships, 15,000 responses")
    group.add_argument("--demo", action="store_true", help="the demo (load_demo)")
    parser.add_argument("--force", action="store_true", help="rebuild even if already built")
    parser.add_argument(
        "--url", help="database URL (default: .bench/<size>.db or BENCH_DATABASE_URL)"
    )
    args = parser.parse_args(argv)
    size = "small" if args.small else "demo" if args.demo else "large"
    url, elapsed = ensure_built(size, force=args.force, url=args.url)
    if elapsed is not None:
        print(f"BUILD {size} {_describe(url)}: {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
