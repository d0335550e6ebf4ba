"""Survey files as the tools really export them (issue 15, points 11, 13, 14, 15, 16): each
fixture under tests/data/surveys/ is our own small file with the layout of a real export."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest

from mls_tracker.models import SurveyFormat
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


# ------------------------------------------------------------------ 14. SurveyMonkey, Google


def test_surveymonkey_headed_without_spaces():
    survey = open_sample("surveymonkey_no_spaces.csv")
    assert survey.detected_format is SurveyFormat.SURVEYMONKEY
    assert survey.header_rows == 1
    assert [n for n, _ in survey.rows()] == [2, 3, 4, 5]


def test_surveymonkey_second_heading_row_is_not_a_response():
    survey = open_sample("surveymonkey_response_row.csv")
    assert survey.detected_format is SurveyFormat.SURVEYMONKEY
    assert survey.header_rows == 2
    rows = list(survey.rows())
    assert [n for n, _ in rows] == [3, 4, 5]
    assert "Response" not in {cell for _, cells in rows for cell in cells}
    keys = [c.key for c in survey.columns]
    assert keys[3:] == [
        "Which program did you attend?",
        "How satisfied were you with the program overall?",
        "How likely is it that you would recommend this program to a colleague?",
        "What could we do better?",
    ]


def test_surveymonkey_without_spaces_and_with_its_second_heading_row(tmp_path):
    path = tmp_path / "sm.csv"
    path.write_text(
        "RespondentID,CollectorID,StartDate,EndDate,How satisfied were you?\n"
        ",,,,Response\n"
        "5120334101,90211876,11/03/2026 09:15:02 AM,11/03/2026 09:21:40 AM,4\n",
        encoding="utf-8",
    )
    survey = open_survey_file(path, path.name)
    assert survey.detected_format is SurveyFormat.SURVEYMONKEY
    assert survey.header_rows == 2
    assert [n for n, _ in survey.rows()] == [3]


@pytest.mark.parametrize(
    ("name", "rows", "response_id", "submitted_at"),
    [
        ("surveymonkey_no_spaces.csv", 4, "RespondentID", "EndDate"),
        ("surveymonkey_response_row.csv", 3, "Respondent ID", "End Date"),
    ],
)
def test_surveymonkey_exports_import_every_response(world, name, rows, response_id, submitted_at):
    staged, mapping, outcome = checked(world, name)
    assert mapping.format is SurveyFormat.SURVEYMONKEY
    assert mapping.columns["response_id"] == response_id
    assert mapping.columns["submitted_at"] == submitted_at
    assert mapping.columns["rating"] == "How satisfied were you with the program overall?"
    assert mapping.columns["recommend"] == (
        "How likely is it that you would recommend this program to a colleague?"
    )
    assert (outcome.rows, outcome.new, outcome.errors) == (rows, rows, 0), outcome.problems
    assert service.commit_upload(world.lead, staged, mapping).rows_added == rows


def test_google_forms_has_a_format_of_its_own_and_timestamp_is_the_submitted_at(world):
    survey = open_sample("google_forms.csv")
    assert survey.detected_format is SurveyFormat.GOOGLE_FORMS
    assert survey.header_rows == 1

    staged, mapping, outcome = checked(world, "google_forms.csv")
    assert mapping.format is SurveyFormat.GOOGLE_FORMS
    assert mapping.columns["submitted_at"] == "Timestamp"
    assert mapping.columns["rating"] == "How satisfied are you with the course?"
    assert mapping.columns["recommend"] == (
        "How likely are you to recommend this course to a colleague?"
    )
    assert (outcome.rows, outcome.errors) == (4, 0), outcome.problems
    record = service.commit_upload(world.lead, staged, mapping)
    assert record.file_format is SurveyFormat.GOOGLE_FORMS
    shown = service.preview_rows(survey, mapping, world.partnership.id, "mdy")
    assert shown[2].submitted_at == dt.datetime(2026, 11, 17, 9, 41, 3, tzinfo=dt.UTC)
