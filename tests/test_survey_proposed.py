"""Issue 15, point 18: a provider's survey import is proposed until a lead confirms it (the
rule of SLA actuals). Only confirmed imports count in the satisfaction figures, the figures
cache behind the portfolio, and the scorecards' counts; the history shows who uploaded what
and its state, with a Confirm button for leads; pages say how many responses wait."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import PartnershipMonthFigures, SurveyImport
from mls_tracker.models.satisfaction import ImportState
from mls_tracker.periods import Month
from mls_tracker.services import dashboard
from mls_tracker.services import satisfaction as figures
from mls_tracker.services import survey_import as service
from mls_tracker.services.errors import PermissionDenied, ValidationFailed
from tests.conftest import csrf_token, page_text, sign_in

OCT, NOV = Month(2026, 10), Month(2026, 11)
TODAY = dt.date(2026, 12, 20)


@pytest.fixture(autouse=True)
def _after_the_files(monkeypatch):
    monkeypatch.setattr(service, "clock", lambda: dt.datetime(2027, 1, 15, tzinfo=dt.UTC))


def _file(month: Month, ratings: list[int], prefix: str) -> bytes:
    lines = ["response_id,submitted_at,rating,comment"]
    for n, rating in enumerate(ratings, start=1):
        lines.append(f"{prefix}{n},{month.year}-{month.month:02d}-{n:02d}T10:00:00,{rating},")
    lines[1] += f"Said by {prefix}"
    return ("\n".join(lines) + "\n").encode()


# The lead's October file: 10 ratings, 8 of them 4–5 (CSAT 80 %).
LEAD_OCT = _file(OCT, [5, 5, 4, 4, 5, 4, 5, 4, 2, 1], "L")
# The provider's November file: 12 ratings, 9 of them 4–5 (CSAT 75 %).
PROVIDER_NOV = _file(NOV, [5, 5, 5, 5, 5, 4, 4, 4, 4, 2, 2, 1], "P")


def _import(world, actor, data: bytes, name: str) -> SurveyImport:
    staged = service.stage_upload(actor, world.partnership.id, io.BytesIO(data), name)
    mapping = service.default_mapping(service.open_staged(staged), None)
    return service.commit_upload(actor, staged, mapping)


def _cached_rows(partnership_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(PartnershipMonthFigures)
        .where(PartnershipMonthFigures.partnership_id == partnership_id)
    )


def _november_csat(world) -> float | None:
    figure = figures.load_satisfaction(world.partnership.id, OCT, NOV).month_figure(NOV)
    return figure.csat if figure else None


def test_a_leads_import_counts_at_once(world):
    record = _import(world, world.lead, LEAD_OCT, "lead-october.csv")
    assert record.state is ImportState.CONFIRMED
    assert record.confirmed_by_id == world.lead.id and record.confirmed_at is not None
    october = figures.load_satisfaction(world.partnership.id, OCT, NOV).month_figure(OCT)
    assert (october.n_rating, october.csat) == (10, 80.0)
    assert not service.proposed_responses(world.partnership.id)


def test_a_providers_import_counts_nowhere_until_a_lead_confirms_it(world):
    pid = world.partnership.id
    _import(world, world.lead, LEAD_OCT, "lead-october.csv")
    # The cache behind the portfolio holds November (no survey data) before the upload.
    assert dashboard.month_figures([world.partnership], NOV, NOV, TODAY)[pid][0].n_rating == 0
    db.session.commit()

    record = _import(world, world.provider, PROVIDER_NOV, "provider-november.csv")
    assert record.state is ImportState.PROPOSED
    assert (record.confirmed_by_id, record.confirmed_at) == (None, None)
    assert record.rows_added == 12

    # Not in the page's figures, the latest month, the comments, the portfolio's cache,
    # nor the counts the scorecards read.
    assert _november_csat(world) is None
    assert figures.latest_month_with_data(pid) == OCT
    assert [c.text for c in figures.list_comments(pid).comments] == ["Said by L"]
    assert NOV not in figures.monthly_counts_many([pid], OCT, NOV)[pid]
    assert dashboard.month_figures([world.partnership], NOV, NOV, TODAY)[pid][0].n_rating == 0
    assert _cached_rows(pid) == 1  # November is in the cache, without the proposed import
    waiting = service.proposed_responses(pid)
    assert (waiting.responses, waiting.imports) == (12, 1)

    history = service.import_history(pid)
    assert [(v.file_name, v.uploaded_by, v.state) for v in history] == [
        ("provider-november.csv", world.provider.display_name, "Proposed"),
        ("lead-october.csv", world.lead.display_name, "Confirmed"),
    ]

    with pytest.raises(PermissionDenied):
        service.confirm_import(world.provider, pid, record.id)
    assert _november_csat(world) is None

    service.confirm_import(world.lead, pid, record.id)
    assert _cached_rows(pid) == 0  # confirming dropped the partnership's cached months
    db.session.refresh(record)
    assert record.state is ImportState.CONFIRMED and record.confirmed_by_id == world.lead.id
    assert _november_csat(world) == 75.0
    assert figures.latest_month_with_data(pid) == NOV
    assert figures.monthly_counts_many([pid], OCT, NOV)[pid][NOV].n_rating == 12
    # Confirming dropped the cached November row: the portfolio reads the new figure.
    november = dashboard.month_figures([world.partnership], NOV, NOV, TODAY)[pid][0]
    assert (november.n_rating, november.csat) == (12, 75.0)
    assert not service.proposed_responses(pid)
    assert service.import_history(pid)[0].confirmed_by == world.lead.display_name

    with pytest.raises(ValidationFailed, match="confirmed already"):
        service.confirm_import(world.lead, pid, record.id)


def test_an_undone_proposed_import_cannot_be_confirmed(world):
    record = _import(world, world.provider, PROVIDER_NOV, "provider-november.csv")
    service.undo_import(world.lead, world.partnership.id, record.id)
    with pytest.raises(ValidationFailed, match="undone"):
        service.confirm_import(world.lead, world.partnership.id, record.id)
    assert not service.proposed_responses(world.partnership.id)


def test_pages_say_what_is_proposed_and_a_lead_confirms_it(client, world):
    record = _import(world, world.provider, PROVIDER_NOV, "provider-november.csv")
    satisfaction_url = f"/partnerships/{world.partnership.id}/satisfaction/?from=2026-10&to=2026-11"
    history_url = f"/partnerships/{world.partnership.id}/satisfaction/imports/"

    sign_in(client, world.provider.email)
    page = page_text(client.get(satisfaction_url).get_data(as_text=True))
    assert "12 responses still proposed (in 1 import by a provider)" in page
    history = page_text(client.get(history_url).get_data(as_text=True))
    assert "Proposed" in history and "12 responses in 1 proposed import" in history
    assert "Confirm the import" not in history
    client.post("/logout", data={"csrf_token": csrf_token(client, history_url)})

    sign_in(client, world.lead.email)
    history = page_text(client.get(history_url).get_data(as_text=True))
    assert "Confirm the import of provider-november.csv" in history
    assert world.provider.display_name in history
    response = client.post(
        f"{history_url}{record.id}/confirm", data={"csrf_token": csrf_token(client, history_url)}
    )
    assert response.status_code == 302
    history = page_text(client.get(history_url).get_data(as_text=True))
    assert "its 12 responses now count in every figure" in history
    assert "Confirmed" in history and "proposed import" not in history
    page = page_text(client.get(satisfaction_url).get_data(as_text=True))
    assert "still proposed" not in page
    exported = client.get(history_url + "export.csv").get_data(as_text=True).splitlines()
    assert "confirmed at (UTC),confirmed by" in exported[0]
    assert exported[1].startswith("provider-november.csv,generic," + world.provider.display_name)
    assert ",Confirmed," in exported[1] and exported[1].endswith(f"{world.lead.display_name},,")
    db.session.expire_all()
    assert db.session.get(SurveyImport, record.id).state is ImportState.CONFIRMED


@pytest.mark.once  # its own SQLite database: the same in both suites
def test_imports_made_before_the_migration_stay_counted(make_app, tmp_path):
    """Existing imports become confirmed, by their uploader, when they were made."""
    from alembic.script import ScriptDirectory
    from flask_migrate import upgrade

    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'before.db'}")
    with app.app_context():
        script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
        before = script.get_revision("c4e8a1f3b9d2").down_revision
        upgrade(revision=before)
        with db.engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
            connection.exec_driver_sql(
                "INSERT INTO survey_imports (partnership_id, file_name, file_format, file_sha256, "
                "uploaded_by_id, created_at, rows_added, rows_skipped) VALUES "
                "(1, 'old.csv', 'generic', '0', 7, '2026-11-02 08:15:00.000000', 30, 0)"
            )
        upgrade(revision="c4e8a1f3b9d2")
        with db.engine.connect() as connection:
            row = connection.execute(
                sa.text("SELECT state, confirmed_by_id, confirmed_at FROM survey_imports")
            ).one()
        assert row[0] == "confirmed" and row[1] == 7
        assert str(row[2]).startswith("2026-11-02 08:15")
        db.engine.dispose()
