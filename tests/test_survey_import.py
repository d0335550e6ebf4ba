"""The survey import service: staging, mapping guesses, row checks, all-or-nothing commit,
re-import, undo and the remembered mapping, on each format's sample file."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import (
    AuditEntry,
    ImportMapping,
    StagedFile,
    SurveyFormat,
    SurveyImport,
    SurveyResponse,
    utcnow,
)
from mls_tracker.periods import Month
from mls_tracker.services import survey_import as service
from mls_tracker.services.errors import PermissionDenied, ValidationFailed
from mls_tracker.services.survey_files import FileRejected
from tests import factories

SAMPLES = Path(__file__).parent / "data" / "surveys"
# The sample files hold responses of October and November 2026.
AFTER_THE_SAMPLES = dt.datetime(2027, 1, 15, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _after_the_samples(monkeypatch):
    monkeypatch.setattr(service, "clock", lambda: AFTER_THE_SAMPLES)


@pytest.fixture
def regions(world):
    """The sample files' five regions, all in scope of the members' partnership."""
    extra = [
        factories.create_region(name, position)
        for position, name in enumerate(("North America", "LATAM", "India"), start=3)
    ]
    world.partnership.regions.extend(extra)
    db.session.commit()
    return world


def stage(world, data: bytes | Path, name: str | None = None, actor=None):
    if isinstance(data, Path):
        name = name or data.name
        data = data.read_bytes()
    return service.stage_upload(
        actor or world.lead, world.partnership.id, io.BytesIO(data), name or "file.csv"
    )


def mapping_for(staged, partnership_id: int, **changes) -> service.Mapping:
    file = service.open_staged(staged)
    mapping = service.default_mapping(file, service.saved_mapping(partnership_id, file.format))
    facts = service.scan_file(file, mapping)
    for scale, texts in facts.choice_values.items():
        mapping.choices.setdefault(scale, {})
        for text in texts:
            mapping.choices[scale].setdefault(text, service.default_choice(scale, text))
    for key, value in changes.items():
        if key in service.FIELDS:
            mapping.columns[key] = value
        else:
            setattr(mapping, key, value)
    return mapping


def import_file(world, data, name=None, **changes) -> SurveyImport:
    staged = stage(world, data, name)
    mapping = mapping_for(staged, world.partnership.id, **changes)
    return service.commit_upload(world.lead, staged, mapping)


def response(key: str) -> SurveyResponse:
    return db.session.scalars(
        sa.select(SurveyResponse).where(SurveyResponse.response_key == key)
    ).one()


def count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse))


GENERIC = (
    "response_id,submitted_at,program,region,rating,recommend,comment\n"
    "R1,2026-03-11T14:05:00+02:00,Leadership,emea,5,9,Great\n"
    "R2,2026-03-31 23:30,Data,APAC,4,,\n"
    "R3,2026-04-01T00:10:00Z,,,,7,\n"
)


# ----------------------------------------------------------------------------- each format


def test_generic_sample_imports_end_to_end(regions):
    record = import_file(regions, SAMPLES / "generic.csv")
    assert record.file_format is SurveyFormat.GENERIC
    assert record.rows_added == count() == 30
    first = response("NW-2026-0001")
    assert (first.rating, first.recommend, first.region.name) == (5, 0, "APAC")
    assert first.month == Month(2026, 10)
    assert first.program == "Leading Hybrid Teams"
    assert first.comment == "Loved the examples from São Paulo and Zürich."
    assert response("NW-2026-0004").comment.startswith("Line one of my feedback.\n")


def test_qualtrics_numeric_sample(regions):
    record = import_file(regions, SAMPLES / "qualtrics_numeric.csv")
    assert record.file_format is SurveyFormat.QUALTRICS
    assert record.rows_added == count() > 0
    stored = response("R_hQhvrsgHLcwMUpg")
    assert (stored.rating, stored.recommend) == (5, 9)
    # RecordedDate 2026-10-06 10:40:36 in the zone its ImportId row names, America/Denver
    # (MDT, UTC−6) → 16:40:36 UTC.
    assert stored.submitted_at == dt.datetime(2026, 10, 6, 16, 40, 36, tzinfo=dt.UTC)
    assert stored.month == Month(2026, 10)
    assert stored.comment.startswith('Useful, practical and "well paced".\n')


def test_qualtrics_choice_text_sample_maps_the_words(regions):
    record = import_file(regions, SAMPLES / "qualtrics_choice_text.xlsx")
    assert record.file_format is SurveyFormat.QUALTRICS
    assert record.rows_added == count() > 0
    ratings = set(db.session.scalars(sa.select(SurveyResponse.rating)))
    assert ratings <= {1, 2, 3, 4, 5} and 5 in ratings
    recommends = set(db.session.scalars(sa.select(SurveyResponse.recommend)))
    assert {0, 10} <= recommends
    assert db.session.scalar(sa.select(sa.func.count(SurveyResponse.region_id))) > 0


@pytest.mark.parametrize("name", ["surveymonkey.csv", "surveymonkey.xlsx"])
def test_surveymonkey_samples(regions, name):
    record = import_file(regions, SAMPLES / name)
    assert record.file_format is SurveyFormat.SURVEYMONKEY
    assert record.rows_added == count() > 0
    stored = response("114523698809")
    assert (stored.rating, stored.recommend) == (5, 10)
    assert stored.submitted_at.isoformat() == "2026-11-21T10:56:16+00:00"
    assert stored.month == Month(2026, 11)
    assert stored.comment == "Great facilitator, very practical."


@pytest.mark.parametrize("name", ["microsoft_forms.xlsx", "microsoft_forms_en_gb.csv"])
def test_microsoft_forms_samples(regions, name):
    record = import_file(regions, SAMPLES / name)
    assert record.file_format is SurveyFormat.MICROSOFT_FORMS
    assert record.rows_added == count() > 0
    assert db.session.scalar(sa.select(sa.func.count(SurveyResponse.region_id))) == count()


def test_semicolon_cp1252_generic_sample(regions):
    record = import_file(regions, SAMPLES / "generic_semicolon_cp1252.csv")
    assert record.rows_added == count() == 20


# ----------------------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    "name", ["empty.csv", "binary_named.csv", "password_protected.xlsx", "zip_bomb.xlsx"]
)
def test_bad_files_are_refused_and_nothing_is_staged(world, name):
    # Other tests' uploads (of other partnerships) may be staged already: compare before/after.
    before = set(db.session.scalars(sa.select(StagedFile.token)))
    with pytest.raises(FileRejected) as refused:
        stage(world, SAMPLES / name)
    assert str(refused.value)
    assert set(db.session.scalars(sa.select(StagedFile.token))) == before


def test_oversized_file_is_refused_with_the_limit(app, world):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        with pytest.raises(FileRejected, match="1 KB"):
            stage(world, GENERIC.encode() * 40)
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 50 * 1024 * 1024


def test_staged_upload_is_bound_to_its_partnership(world):
    staged = stage(world, GENERIC.encode(), "../../etc/passwd\x00.csv")
    assert staged.file_name == "passwd.csv"
    assert service.get_staged(world.partnership.id, staged.token).sha256 == staged.sha256
    with pytest.raises(service.UploadNotFound):
        service.get_staged(world.other.id, staged.token)
    with pytest.raises(service.UploadNotFound):
        service.get_staged(world.partnership.id, "../" + staged.token)


def test_old_staged_uploads_are_swept(world):
    old = stage(world, GENERIC.encode())
    kept = stage(world, GENERIC.encode())
    service.sweep_staged(now=utcnow() + dt.timedelta(hours=25))
    with pytest.raises(service.UploadNotFound):
        service.get_staged(world.partnership.id, old.token)
    with pytest.raises(service.UploadNotFound):
        service.get_staged(world.partnership.id, kept.token)
    fresh = stage(world, GENERIC.encode())
    service.sweep_staged()
    assert service.get_staged(world.partnership.id, fresh.token) == fresh


# ----------------------------------------------------------------------------- rules


def test_times_are_stored_in_utc_and_regions_match_by_name(world):
    import_file(world, GENERIC.encode())
    first = response("R1")
    assert first.submitted_at.isoformat() == "2026-03-11T12:05:00+00:00"
    assert first.region.name == "EMEA"
    assert response("R2").month == Month(2026, 3)
    assert response("R3").month == Month(2026, 4)
    assert (response("R3").rating, response("R3").recommend) == (None, 7)


def test_missing_required_columns_are_one_message_naming_them(world):
    staged = stage(world, b"response_id,program,comment\nR1,Data,Nice\n")
    mapping = mapping_for(staged, world.partnership.id)
    with pytest.raises(ValidationFailed) as failed:
        service.check_upload(world.lead, staged, mapping)
    message = str(failed.value)
    assert "Submitted at" in message and "rating" in message.lower()
    assert message.count("missing") == 1


def test_row_errors_are_numbered(world):
    data = (
        "response_id,submitted_at,rating,recommend,region\n"
        "R1,2026-03-01,5,9,EMEA\n"  # row 2: fine
        "R2,2026-03-02,7,9,EMEA\n"  # row 3: rating outside 1-5
        "R3,not a date,4,9,EMEA\n"  # row 4
        "R1,2026-03-04,4,9,EMEA\n"  # row 5: duplicate of row 2
        "R5,2026-03-05,4,11,Mars\n"  # row 6: recommend 11, unknown region
        "R6,2099-01-01,4,9,\n"  # row 7: future
        "R7,2026-03-07,,,\n"  # row 8: neither score: left out and counted, not a problem
    )
    staged = stage(world, data.encode())
    outcome = service.check_upload(world.lead, staged, mapping_for(staged, world.partnership.id))
    problems = [p.numbered() for p in outcome.problems]
    assert (outcome.rows, outcome.errors, outcome.no_answer) == (7, 5, 1)
    # The file-level message comes first and names the scale the ratings fit (1–7 here).
    assert problems[0].startswith("Satisfaction ratings in this file run from 4 to 7")
    assert "This looks like a 1–7 scale" in problems[0]
    assert any(p.startswith("Row 3:") and "7 is outside 1–5" in p for p in problems)
    assert any(p.startswith("Row 4:") and "not a date" in p for p in problems)
    assert any(p.startswith("Row 5:") and "also on row 2" in p for p in problems)
    assert any(p.startswith("Row 6:") and "11 is outside 0–10" in p for p in problems)
    assert any(p.startswith("Row 6:") and "“Mars”" in p and "APAC, EMEA" in p for p in problems)
    assert any(p.startswith("Row 7:") and "future" in p for p in problems)
    assert not any(p.startswith("Row 8:") for p in problems)
    assert service.problems_csv_path(staged).read_text().count("\n") == 1 + len(problems)


def test_a_file_failing_on_its_last_row_leaves_nothing(world, monkeypatch):
    monkeypatch.setattr(service, "BATCH_ROWS", 10)
    rows = [f"R{i},2026-03-01T10:00:00,4,8" for i in range(1, 60)] + ["R60,2026-03-01,9,8"]
    staged = stage(
        world, ("response_id,submitted_at,rating,recommend\n" + "\n".join(rows)).encode()
    )
    mapping = mapping_for(staged, world.partnership.id)
    with pytest.raises(service.ImportRefused) as refused:
        service.commit_upload(world.lead, staged, mapping)
    assert [p.row for p in refused.value.outcome.problems] == [None, 61]
    assert count() == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyImport)) == 0


def test_reimporting_the_same_file_adds_nothing(regions):
    first = import_file(regions, SAMPLES / "generic.csv")
    again = import_file(regions, SAMPLES / "generic.csv")
    assert (again.rows_added, again.rows_skipped) == (0, first.rows_added)
    assert count() == first.rows_added


def test_a_longer_export_adds_only_its_new_rows_whatever_the_batches(world, monkeypatch):
    """Rows held already are skipped wherever they fall (on SQLite the INSERT skips them, in
    statements that split a batch), counted exactly, and the monthly sums follow."""
    from tests.test_satisfaction_months import assert_consistent

    def export(rows: int) -> bytes:
        lines = [
            f"R{i},2026-03-{1 + i % 28:02d}T10:00:00,{1 + i % 5},{i % 11}" for i in range(rows)
        ]
        return ("response_id,submitted_at,rating,recommend\n" + "\n".join(lines)).encode()

    first = import_file(world, export(3_000), "march.csv")
    assert (first.rows_added, first.rows_skipped) == (3_000, 0)
    monkeypatch.setattr(service, "BATCH_ROWS", 7_000)  # one batch, more rows than a statement
    again = import_file(world, export(7_000), "march-later.csv")
    assert (again.rows_added, again.rows_skipped) == (4_000, 3_000)
    assert count() == 7_000
    assert sum(cell[0] for cell in assert_consistent().values()) == 7_000


def test_rows_without_ids_are_keyed_by_their_values(world):
    data = b"submitted_at,rating\n2026-03-01T10:00:00,4\n2026-03-01T11:00:00,5\n"
    assert import_file(world, data).rows_added == 2
    again = import_file(world, data)
    assert (again.rows_added, again.rows_skipped) == (0, 2)


def test_ambiguous_local_dates_need_a_choice(world):
    data = b"response_id,submitted_at,rating\nR1,03/11/2026 14:05,4\nR2,04/10/2026 09:00,5\n"
    staged = stage(world, data)
    mapping = mapping_for(staged, world.partnership.id)
    file = service.open_staged(staged)
    facts = service.scan_file(file, mapping)
    assert facts.local_dates and service.resolve_date_order(mapping, facts) is None
    mapping.date_order = "dmy"
    service.commit_upload(world.lead, staged, mapping)
    assert response("R1").submitted_at.isoformat() == "2026-11-03T14:05:00+00:00"


def test_day_first_is_decided_from_the_file(world):
    data = b"response_id,submitted_at,rating\nR1,03/11/2026 14:05,4\nR2,25/10/2026 09:00,5\n"
    import_file(world, data)
    assert response("R1").month == Month(2026, 11)


def test_choice_text_defaults():
    assert service.default_choice("rating", "Very satisfied") == 5
    assert service.default_choice("rating", "Neither satisfied nor dissatisfied") == 3
    assert service.default_choice("rating", "Very dissatisfied") == 1
    assert service.default_choice("recommend", "10 - Extremely likely") == 10
    assert service.default_choice("recommend", "0 - Not at all likely") == 0
    assert service.default_choice("recommend", "7 (fairly)") == 7
    assert service.default_choice("rating", "Whatever") is None


def test_corrected_choice_text_and_remembered_mapping(regions):
    staged = stage(regions, SAMPLES / "microsoft_forms.xlsx")
    mapping = mapping_for(staged, regions.partnership.id)
    mapping.choices["rating"]["Satisfied"] = 3  # the lead corrects one answer
    service.commit_upload(regions.lead, staged, mapping)
    assert set(db.session.scalars(sa.select(SurveyResponse.rating))) <= {1, 2, 3, 5}
    saved = db.session.scalars(sa.select(ImportMapping)).one()
    assert saved.file_format is SurveyFormat.MICROSOFT_FORMS
    assert saved.mapping["choices"]["rating"]["Satisfied"] == 3

    later = stage(regions, SAMPLES / "microsoft_forms_en_gb.csv")
    file = service.open_staged(later)
    proposed = service.default_mapping(
        file, service.saved_mapping(regions.partnership.id, file.format)
    )
    assert proposed.choices["rating"]["Satisfied"] == 3
    assert proposed.columns["rating"] == "How satisfied are you with the program?"


def test_too_many_distinct_texts_is_a_clear_error(world):
    rows = "\n".join(f"R{i},2026-03-01,answer {i}" for i in range(60))
    staged = stage(world, f"response_id,submitted_at,rating\n{rows}\n".encode())
    file = service.open_staged(staged)
    mapping = service.default_mapping(file, None)
    with pytest.raises(ValidationFailed, match="more than 50"):
        service.scan_file(file, mapping)


# ----------------------------------------------------------------------------- undo, audit, rights


def test_undo_removes_exactly_that_imports_responses_and_is_audited(world):
    first = import_file(world, GENERIC.encode())
    other = import_file(world, b"response_id,submitted_at,rating\nX1,2026-03-01,4\n")
    removed = service.undo_import(world.lead, world.partnership.id, first.id)
    assert removed == 3
    assert [r.response_key for r in db.session.scalars(sa.select(SurveyResponse))] == ["X1"]
    db.session.refresh(first)
    assert first.undone_at is not None and first.undone_by_id == world.lead.id
    history = service.import_history(world.partnership.id)
    assert [view.state for view in history] == ["Confirmed", "Undone"]
    assert history[0].id == other.id
    entries = db.session.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.object_type == "SurveyImport", AuditEntry.object_id == str(first.id)
        )
    ).all()
    assert {entry.action.value for entry in entries} >= {"insert", "update"}
    assert all(entry.actor_id == world.lead.id for entry in entries)
    assert any("undone_at" in entry.changes for entry in entries)
    with pytest.raises(ValidationFailed):
        service.undo_import(world.lead, world.partnership.id, first.id)


def test_provider_uploads_but_cannot_undo(world):
    staged = stage(world, GENERIC.encode(), actor=world.provider)
    record = service.commit_upload(
        world.provider, staged, mapping_for(staged, world.partnership.id)
    )
    assert record.uploaded_by_id == world.provider.id
    with pytest.raises(PermissionDenied):
        service.undo_import(world.provider, world.partnership.id, record.id)


@pytest.mark.parametrize("who", ["sponsor", "viewer", "outsider"])
def test_sponsor_viewer_and_outsider_cannot_upload(world, who):
    with pytest.raises(PermissionDenied):
        stage(world, GENERIC.encode(), actor=world.user(who))
