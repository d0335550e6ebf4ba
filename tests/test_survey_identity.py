"""Issue 15, point 10: a row's identity when the file has no response-id column. It is a
fingerprint of the whole raw row plus its occurrence in the file, never of the mapped cells
alone: learners with identical answers are not merged, two students of the same second are
two responses, and the same file imported twice adds nothing whatever the mapping."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import SurveyImport, SurveyResponse
from mls_tracker.periods import Month
from mls_tracker.services import survey_import as service
from tests.test_survey_import import import_file, mapping_for, stage

SAMPLES = Path(__file__).parent / "data" / "surveys"


@pytest.fixture(autouse=True)
def _after_the_files(monkeypatch):
    monkeypatch.setattr(service, "clock", lambda: dt.datetime(2027, 1, 15, tzinfo=dt.UTC))


def responses() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse))


def test_six_learners_with_identical_answers_are_six_responses(world):
    # Six rows, identical but for two times: the mapped cells' fingerprint made them 2.
    record = import_file(world, SAMPLES / "no_ids_six_identical_learners.csv")
    assert (record.rows_added, record.rows_skipped) == (6, 0)
    assert responses() == 6
    # Checked again, the same file finds all six already imported.
    staged = stage(world, SAMPLES / "no_ids_six_identical_learners.csv")
    mapping = mapping_for(staged, world.partnership.id)
    outcome = service.check_upload(world.lead, staged, mapping, "dmy")
    assert (outcome.rows, outcome.new, outcome.duplicates) == (6, 0, 6)


def test_two_students_with_the_same_second_and_answers_are_two_responses(world):
    staged = stage(world, SAMPLES / "no_ids_same_second.csv")
    mapping = mapping_for(
        staged,
        world.partnership.id,
        submitted_at="Timestamp",
        rating="How satisfied were you with the course?",
        recommend="How likely are you to recommend it?",
        comment="Anything else?",
        response_id=None,
        program=None,
        region=None,
    )
    outcome = service.check_upload(world.lead, staged, mapping, "dmy")
    assert (outcome.rows, outcome.new, outcome.duplicates) == (3, 3, 0)
    record = service.commit_upload(world.lead, staged, mapping)
    assert (record.rows_added, record.rows_skipped) == (3, 0)
    fours = db.session.scalars(sa.select(SurveyResponse).where(SurveyResponse.rating == 4)).all()
    assert len(fours) == 2 and fours[0].response_key != fours[1].response_key


def test_the_same_file_twice_adds_nothing_whatever_the_mapping(world):
    # First without the comment and program columns, then with them: the mapped cells
    # differ, the file does not.
    first = import_file(
        world, SAMPLES / "no_ids_remapped.csv", comment=None, program=None, recommend=None
    )
    assert (first.rows_added, first.rows_skipped) == (4, 0)
    again = import_file(world, SAMPLES / "no_ids_remapped.csv")
    assert (again.rows_added, again.rows_skipped) == (0, 4)
    assert responses() == 4
    # A later export of the same survey with one more response adds only that one.
    longer = (SAMPLES / "no_ids_remapped.csv").read_bytes() + (
        b"2026-11-06T08:00:00,Data Literacy,5,10,\n"
    )
    third = import_file(world, longer, "no_ids_remapped_later.csv")
    assert (third.rows_added, third.rows_skipped) == (1, 4)
    assert responses() == 5


def test_rows_imported_under_the_old_key_are_still_recognised(world):
    """A file imported before this change (keys hashed from the mapped cells) adds nothing
    when it is imported again."""
    record = SurveyImport(
        partnership_id=world.partnership.id,
        file_name="before.csv",
        file_format=service.SurveyFormat.GENERIC,
        file_sha256="0" * 64,
        uploaded_by_id=world.lead.id,
    )
    db.session.add(record)
    db.session.flush()
    for when, rating in (("2026-03-01T10:00:00", "4"), ("2026-03-01T11:00:00", "5")):
        old_key = hashlib.sha256("\x1f".join([when, rating]).encode()).hexdigest()
        db.session.add(
            SurveyResponse(
                partnership_id=world.partnership.id,
                import_id=record.id,
                response_key="sha256:" + old_key,
                submitted_at=dt.datetime.fromisoformat(when).replace(tzinfo=dt.UTC),
                month=Month(2026, 3),
                rating=int(rating),
            )
        )
    db.session.commit()
    data = b"submitted_at,rating\n2026-03-01T10:00:00,4\n2026-03-01T11:00:00,5\n"
    again = import_file(world, data)
    assert (again.rows_added, again.rows_skipped) == (0, 2)
    assert responses() == 2
