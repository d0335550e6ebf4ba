"""Survey files as the tools really export them (issue 15, points 11, 13, 14, 15, 16): each
fixture under tests/data/surveys/ is our own small file with the layout of a real export."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest

from mls_tracker.services import survey_import as service
from mls_tracker.services.survey_files import FileRejected, SurveyFile, open_survey_file

SAMPLES = Path(__file__).parent / "data" / "surveys"


@pytest.fixture(autouse=True)
def _after_the_samples(monkeypatch):
    monkeypatch.setattr(service, "clock", lambda: dt.datetime(2027, 1, 15, tzinfo=dt.UTC))


def open_sample(name: str, **kwargs) -> SurveyFile:
    return open_survey_file(SAMPLES / name, name, **kwargs)


def checked(world, name: str, data: bytes | None = None):
    """(staged upload, proposed mapping, outcome of the whole-file check) for a sample."""
    data = data if data is not None else (SAMPLES / name).read_bytes()
    staged = service.stage_upload(world.lead, world.partnership.id, io.BytesIO(data), name)
    file = service.open_staged(staged)
    mapping = service.proposed_mapping(staged, file)
    outcome = service.check_upload(world.lead, staged, mapping)
    return staged, mapping, outcome


# ------------------------------------------------------------------ 15. a NUL in a heading


def test_a_nul_byte_in_a_heading_cell_is_dropped_not_a_reason_to_refuse(world):
    raw = (SAMPLES / "excel_nul_heading.csv").read_bytes()
    assert raw.count(b"\x00") == 1  # in the "rating" heading, as Excel re-saving left it
    survey = open_sample("excel_nul_heading.csv")
    assert [c.key for c in survey.columns] == [
        "response_id",
        "submitted_at",
        "program",
        "region",
        "rating",
        "recommend",
        "comment",
    ]
    assert len(list(survey.rows())) == 3

    _staged, mapping, outcome = checked(world, "excel_nul_heading.csv")
    assert mapping.columns["rating"] == "rating"
    assert (outcome.rows, outcome.new, outcome.errors) == (3, 3, 0)


def test_binary_content_is_still_refused(tmp_path):
    nuls = tmp_path / "nuls.csv"
    nuls.write_bytes(b"response_id,submitted_at,rating\n" + b"R1,2026-11-03,4\x00\n" * 9)
    with pytest.raises(FileRejected, match="not a CSV file .* contains binary data"):
        open_survey_file(nuls, nuls.name)
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(b"response_id,submitted_at\x00,rating\nR1,2026-11-03,\x03\x04\n")
    with pytest.raises(FileRejected, match="contains binary data"):
        open_survey_file(mixed, mixed.name)
