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


# ------------------------------------------------------------------ 13. Excel serial dates


@pytest.mark.parametrize("name", ["excel_serial_dates.csv", "excel_serial_dates.xlsx"])
def test_excel_serial_dates_are_read_as_dates(world, name):
    survey = open_sample(name)
    assert [cells[1] for _, cells in survey.rows()] == ["45597.145833", "45598.5", "45600"]

    staged, mapping, outcome = checked(world, name)
    assert mapping.columns["submitted_at"] == "submitted_at"
    assert (outcome.rows, outcome.new, outcome.errors) == (3, 3, 0)
    shown = service.preview_rows(survey, mapping, world.partnership.id, None)
    assert [row.submitted_at for row in shown] == [
        dt.datetime(2024, 11, 1, 3, 30, tzinfo=dt.UTC),
        dt.datetime(2024, 11, 2, 12, 0, tzinfo=dt.UTC),
        dt.datetime(2024, 11, 4, 0, 0, tzinfo=dt.UTC),
    ]
    record = service.commit_upload(world.lead, staged, mapping)
    assert record.rows_added == 3


def test_excel_serial_dates_follow_the_zone_the_export_names():
    assert service.parse_when("45597.145833", None) == dt.datetime(
        2024, 11, 1, 3, 30, tzinfo=dt.UTC
    )
    denver = service.ZoneInfo("America/Denver")
    assert service.parse_when("45597.145833", None, denver) == dt.datetime(
        2024, 11, 1, 9, 30, tzinfo=dt.UTC
    )
    with pytest.raises(ValueError):
        service.parse_when("4559", None)  # a small number is not taken for a date
