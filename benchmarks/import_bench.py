"""Survey import benchmark: a 100,000-row generic CSV through the real service path
(staging, parsing, checking, committing — the monthly satisfaction sums included) against a
bare ``executemany`` of the same rows, both into a table that already holds 1,000,000
responses (of other partnerships, summed in ``satisfaction_months`` as the app keeps them).

    python -m benchmarks.import_bench            # SQLite in a temporary folder
    BENCH_DATABASE_URL=postgresql+psycopg://… python -m benchmarks.import_bench   # and PostgreSQL

Bars (QUALITY.md): ≥ 20,000 rows/s, and ≤ 2 × the bare executemany; each recorded with
``benchmarks.common.record_bar``. ``BENCH_ROWS`` and ``BENCH_HELD`` change the two sizes.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROWS = int(os.environ.get("BENCH_ROWS", "100000"))
HELD = int(os.environ.get("BENCH_HELD", "1000000"))  # responses in the table beforehand
HELD_PARTNERSHIPS = 20
RATE_BAR = 20_000
RATIO_BAR = 2.0
PROGRAMS = ("Leading Hybrid Teams", "Negotiation Essentials", "Data Privacy 2026")
REGIONS = ("EMEA", "APAC", "North America")


def make_csv(path: Path, rows: int) -> None:
    rng = random.Random(7)
    start = dt.datetime(2025, 1, 1, 8, 0)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["response_id", "submitted_at", "program", "region", "rating", "recommend", "comment"]
        )
        for i in range(rows):
            moment = start + dt.timedelta(minutes=7 * i + rng.randrange(5))
            writer.writerow(
                [
                    f"B-{i:07d}",
                    moment.strftime("%Y-%m-%dT%H:%M:%S"),
                    PROGRAMS[i % 3],
                    REGIONS[i % 3],
                    rng.randint(1, 5),
                    rng.randint(0, 10),
                    "Useful, practical and well paced." if i % 4 == 0 else "",
                ]
            )


def _fresh_schema(app) -> None:
    from mls_tracker.extensions import db

    with app.app_context():
        db.drop_all()
        db.create_all()


def _world(app):
    from mls_tracker.extensions import db
    from mls_tracker.models import Role
    from tests import factories

    with app.app_context():
        client = factories.create_organisation("Client", factories.OrganisationKind.CLIENT)
        provider = factories.create_organisation("Provider", factories.OrganisationKind.PROVIDER)
        regions = [factories.create_region(name, i) for i, name in enumerate(REGIONS)]
        partnership = factories.create_partnership("Bench", client, provider, regions)
        lead = factories.create_user("lead@bench.example", organisation=client)
        factories.add_member(lead, partnership, Role.LEAD)
        others = [
            factories.create_partnership(f"Held {n}", client, provider, regions).id
            for n in range(HELD_PARTNERSHIPS)
        ]
        db.session.commit()
        return partnership.id, lead.id, [r.id for r in regions], others


def _hold_responses(app, partnership_ids: list[int], region_ids: list[int], lead_id: int) -> float:
    """Fill the table with ``HELD`` responses of other partnerships (one import each, 36
    months, every region and program), summed as the app sums them; returns the seconds."""
    import sqlalchemy as sa

    from mls_tracker.extensions import db
    from mls_tracker.models import SurveyFormat, SurveyImport
    from mls_tracker.services import satisfaction_months

    started = time.perf_counter()
    with app.app_context():
        imports = []
        for pid in partnership_ids:
            record = SurveyImport(
                partnership_id=pid,
                file_name="held.csv",
                file_format=SurveyFormat.GENERIC,
                file_sha256="0" * 64,
                uploaded_by_id=lead_id,
            )
            db.session.add(record)
            imports.append(record)
        db.session.flush()
        import_of = {record.partnership_id: record.id for record in imports}
        sqlite = db.engine.dialect.name == "sqlite"
        rng = random.Random(11)
        start = dt.datetime(2023, 1, 1, 9, tzinfo=dt.UTC)
        rows: list[tuple] = []
        for i in range(HELD):
            if len(rows) == 100_000:  # memory for one chunk at a time
                _bare_insert(db.session.connection(), rows)
                rows = []
            pid = partnership_ids[i % len(partnership_ids)]
            when = start + dt.timedelta(minutes=i % (36 * 30 * 24 * 60 // 1000) * 1000)
            month = dt.date(when.year, when.month, 1)
            rows.append(
                (
                    pid,
                    import_of[pid],
                    f"H-{i:07d}",
                    when.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else when,
                    month.isoformat() if sqlite else month,
                    PROGRAMS[i % 3],
                    region_ids[(i // 3) % 3],
                    rng.randint(1, 5),
                    rng.randint(0, 10) if i % 17 else None,
                    None,
                )
            )
        _bare_insert(db.session.connection(), rows)
        satisfaction_months.rebuild(partnership_ids)
        db.session.commit()
        if not sqlite:
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
    return time.perf_counter() - started


def _insert_sql(dialect) -> str:
    from mls_tracker.services.survey_import import _Inserter

    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    return (
        f"INSERT INTO survey_responses ({', '.join(_Inserter.COLUMNS)}) "  # noqa: S608
        f"VALUES ({', '.join([marker] * len(_Inserter.COLUMNS))})"
    )


def _bare_insert(connection, rows: list[tuple]) -> None:
    """Rows as tuples straight to the driver: COPY on PostgreSQL, executemany elsewhere."""
    from mls_tracker.services.survey_import import _Inserter

    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        copy_sql = f"COPY survey_responses ({', '.join(_Inserter.COLUMNS)}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(row)
        return
    connection.exec_driver_sql(_insert_sql(connection.dialect), rows)


def _count(app) -> int:
    import sqlalchemy as sa

    from mls_tracker.extensions import db
    from mls_tracker.models import SurveyResponse

    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse))


def _clear_responses(app, partnership_id: int) -> None:
    """Remove what a run added to the benchmark's partnership (the held responses stay)."""
    import sqlalchemy as sa

    from mls_tracker.extensions import db
    from mls_tracker.models import SurveyImport, SurveyResponse
    from mls_tracker.models.satisfaction import SatisfactionMonth

    with app.app_context():
        for model in (SatisfactionMonth, SurveyResponse, SurveyImport):
            db.session.execute(sa.delete(model).where(model.partnership_id == partnership_id))
        db.session.commit()


def bare_executemany(app, partnership_id: int, region_ids: list[int], csv_path: Path) -> float:
    """The same rows, already as tuples, inserted with one DBAPI executemany and committed
    (the floor): no parsing, no checks, no import record, no sums."""
    from mls_tracker.extensions import db
    from mls_tracker.periods import Month

    with app.app_context():
        sqlite = db.engine.dialect.name == "sqlite"
        rows = []
        with csv_path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            for record in reader:
                when = dt.datetime.fromisoformat(record[1]).replace(tzinfo=dt.UTC)
                month = Month(when.year, when.month).first_day
                rows.append(
                    (
                        partnership_id,
                        None,
                        record[0],
                        when.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else when,
                        month.isoformat() if sqlite else month,
                        record[2],
                        region_ids[REGIONS.index(record[3])],
                        int(record[4]),
                        int(record[5]),
                        record[6] or None,
                    )
                )
        sql = _insert_sql(db.engine.dialect)
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            started = time.perf_counter()
            cursor.executemany(sql, rows)
            raw.commit()
            elapsed = time.perf_counter() - started
            cursor.close()
        finally:
            raw.close()
        return elapsed


def service_import(
    app, partnership_id: int, lead_id: int, csv_path: Path
) -> tuple[float, float, int]:
    """(seconds, CPU seconds of the process — every thread — and rows added) of one import."""
    from mls_tracker.extensions import db
    from mls_tracker.models import User
    from mls_tracker.services import survey_import as service

    with app.app_context():
        lead = db.session.get(User, lead_id)
        started, cpu = time.perf_counter(), time.process_time()
        with csv_path.open("rb") as handle:
            staged = service.stage_upload(lead, partnership_id, handle, csv_path.name)
        file = service.open_staged(staged)
        mapping = service.default_mapping(file, None)
        record = service.commit_upload(lead, staged, mapping, "dmy")
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        return elapsed, cpu, record.rows_added


def run(url: str, label: str, csv_path: Path, instance: Path) -> None:
    from benchmarks.common import record_bar
    from mls_tracker import create_app

    app = create_app(
        {
            "MLS_ENV": "testing",
            "TESTING": True,
            "SECRET_KEY": "bench",
            "SECURITY_PASSWORD_SALT": "bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "HUEY_IMMEDIATE": True,
        }
    )
    app.instance_path = str(instance)
    _fresh_schema(app)
    partnership_id, lead_id, region_ids, others = _world(app)
    held_seconds = _hold_responses(app, others, region_ids, lead_id)
    print(f"[{label}] table holds {_count(app):,} responses ({held_seconds:.0f} s to write)")

    bare = bare_executemany(app, partnership_id, region_ids, csv_path)
    _clear_responses(app, partnership_id)

    tracemalloc.start()
    elapsed, cpu, added = service_import(app, partnership_id, lead_id, csv_path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert added == ROWS and _count(app) == HELD + ROWS, (added, ROWS)
    # Without tracemalloc's own overhead, for the headline figure.
    _clear_responses(app, partnership_id)
    elapsed, cpu, added = service_import(app, partnership_id, lead_id, csv_path)

    rate = ROWS / elapsed
    ratio = elapsed / bare
    print(f"[{label}] rows: {ROWS:,}")
    print(
        f"[{label}] import (stage + parse + check + commit + sums): {elapsed:.2f} s = "
        f"{rate:,.0f} rows/s  (bar ≥ {RATE_BAR:,}: {'ok' if rate >= RATE_BAR else 'MISSED'})"
    )
    print(
        f"[{label}] CPU time of the import, every thread of this process: {cpu:.2f} s"
        " (the database server's own work on PostgreSQL is not in it)"
    )
    print(f"[{label}] bare executemany of the same rows: {bare:.2f} s = {ROWS / bare:,.0f} rows/s")
    print(
        f"[{label}] ratio import / bare executemany: {ratio:.2f}"
        f"  (bar ≤ {RATIO_BAR:g}: {'ok' if ratio <= RATIO_BAR else 'MISSED'})"
    )
    print(
        f"[{label}] peak Python memory during the import (tracemalloc): "
        f"{peak / 1024 / 1024:.1f} MiB"
    )
    where = f"{ROWS:,}-row CSV into {HELD:,} responses, {label}"
    record_bar(
        f"survey import ≥ {RATE_BAR:,} rows/s",
        f"{rate:,.0f} rows/s ({elapsed:.2f} s)",
        rate >= RATE_BAR,
        where=where,
    )
    record_bar(
        f"survey import ≤ {RATIO_BAR:g} × bare executemany",
        f"{ratio:.2f} × ({elapsed:.2f} s vs {bare:.2f} s)",
        ratio <= RATIO_BAR,
        where=where,
    )
    with app.app_context():
        from mls_tracker.extensions import db

        db.drop_all()
        db.engine.dispose()


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    with tempfile.TemporaryDirectory(prefix="mls-bench-") as folder:
        temp = Path(folder)
        csv_path = temp / "responses.csv"
        make_csv(csv_path, ROWS)
        print(f"file: {csv_path.stat().st_size / 1024 / 1024:.1f} MiB, {ROWS:,} rows")
        run(f"sqlite:///{temp / 'bench.db'}", "sqlite", csv_path, temp / "instance")
        url = os.environ.get("BENCH_DATABASE_URL")
        if url:
            run(url, "postgresql", csv_path, temp / "instance")
    print(f"process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
