"""Reading survey files: formats recognised, text decoded, rows streamed, bad files refused."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest

from mls_tracker.models import SurveyFormat
from mls_tracker.services import survey_files
from mls_tracker.services.errors import ValidationFailed
from mls_tracker.services.survey_files import (
    Column,
    FileRejected,
    SurveyFile,
    detect_format,
    open_survey_file,
)

SAMPLES = Path(__file__).parent / "data" / "surveys"


def open_sample(name: str, **kwargs) -> SurveyFile:
    return open_survey_file(SAMPLES / name, name, **kwargs)


def by_key(survey: SurveyFile) -> dict[str, Column]:
    return {c.key: c for c in survey.columns}


def first_row(survey: SurveyFile) -> dict[str, str]:
    _, cells = next(iter(survey.rows()))
    return {c.key: cells[c.index] for c in survey.columns}


def rejection(path: Path, **kwargs) -> str:
    with pytest.raises(FileRejected) as caught:
        open_survey_file(path, path.name, **kwargs)
    assert isinstance(caught.value, ValidationFailed)
    return str(caught.value)


# --------------------------------------------------------------------------- the samples


def test_qualtrics_numeric_csv():
    survey = open_sample("qualtrics_numeric.csv")
    assert (survey.kind, survey.encoding, survey.delimiter) == ("csv", "utf-8-sig", ",")
    assert survey.detected_format is survey.format is SurveyFormat.QUALTRICS
    assert survey.header_rows == 3
    keys = [c.key for c in survey.columns]
    assert keys[:3] == ["StartDate", "EndDate", "Status"]
    assert keys[-5:] == ["Q1", "Q2", "Q3", "Q4", "Q5"]
    columns = by_key(survey)
    assert columns["Q1"].label == "Overall, how satisfied were you with this program?"
    assert columns["ResponseId"].label == "Response ID"
    assert set(columns["Q1"].samples) <= {"1", "2", "3", "4", "5"}

    rows = list(survey.rows())
    # 40 responses, one of them the owner's "Survey Preview" (Status 1), which is skipped.
    assert len(rows) == 39
    number, cells = rows[0]
    assert number == 4
    row = dict(zip(keys, cells, strict=True))
    assert row["Q5"] == 'Useful, practical and "well paced".\nWould recommend to my team, too.'
    assert row["ResponseId"].startswith("R_")
    assert row["StartDate"] == "2026-10-06 10:36:50"
    assert all(len(cells) == len(keys) for _, cells in rows)
    assert all(cells[2] == "0" for _, cells in rows)
    assert 7 not in [n for n, _ in rows]  # record 7 is the preview
    assert rows[-1][0] == 43
    survey.skip_test_responses = False
    assert [c[2] for n, c in survey.rows() if n == 7] == ["1"]


def test_qualtrics_choice_text_xlsx():
    survey = open_sample("qualtrics_choice_text.xlsx")
    assert (survey.kind, survey.encoding, survey.delimiter) == ("xlsx", None, None)
    assert survey.sheet_name == "Sheet0"
    assert survey.detected_format is SurveyFormat.QUALTRICS
    assert survey.header_rows == 3
    columns = by_key(survey)
    assert columns["Q2"].label == "How likely are you to recommend this program to a colleague?"
    values = {cells[columns["Q1"].index] for _, cells in survey.rows()}
    assert {"Very satisfied", "Satisfied", "Very dissatisfied"} <= values
    nps = {cells[columns["Q2"].index] for _, cells in survey.rows()}
    assert "10 - Extremely likely" in nps
    assert first_row(survey)["Progress"] == "100"  # an int cell, not "100.0"
    assert len(list(survey.rows())) == 39


def test_qualtrics_fourth_import_id_row_and_legacy_export(tmp_path):
    path = tmp_path / "four.csv"
    path.write_text(
        "StartDate,ResponseId,Status,Q1\n"
        "Start Date,Response ID,Response Type,How satisfied?\n"
        '"{""ImportId"":""startDate""}","{""ImportId"":""_recordId""}",'
        '"{""ImportId"":""status""}","{""ImportId"":""QID1""}"\n'
        '"{""ImportId"":""startDate""}","{""ImportId"":""_recordId""}",,\n'
        "2026-11-03 10:00:00,R_1,IP Address,5\n",
        encoding="utf-8",
    )
    survey = open_survey_file(path, path.name)
    assert survey.format is SurveyFormat.QUALTRICS and survey.header_rows == 4
    assert list(survey.rows()) == [(5, ["2026-11-03 10:00:00", "R_1", "IP Address", "5"])]

    legacy = tmp_path / "legacy.csv"
    legacy.write_text(
        "V1,V2,V7,V8,Q1\n"
        "ResponseID,ResponseSet,Status,StartDate,How satisfied?\n"
        "R_2,Default Response Set,0,2026-11-03 10:00:00,4\n"
        "R_3,Default Response Set,1,2026-11-03 11:00:00,2\n",
        encoding="utf-8",
    )
    survey = open_survey_file(legacy, legacy.name)
    assert survey.format is SurveyFormat.QUALTRICS and survey.header_rows == 2
    assert by_key(survey)["Q1"].label == "How satisfied?"
    assert [n for n, _ in survey.rows()] == [3]  # R_3 is a "Survey Preview" (Status 1)


@pytest.mark.parametrize("name", ["surveymonkey.csv", "surveymonkey.xlsx"])
def test_surveymonkey(name):
    survey = open_sample(name)
    assert survey.detected_format is SurveyFormat.SURVEYMONKEY
    assert survey.header_rows == 2
    keys = [c.key for c in survey.columns]
    assert keys[:2] == ["Respondent ID", "Collector ID"]
    matrix = "Please rate the following aspects of the program."
    assert f"{matrix} | Facilitator" in keys
    assert f"{matrix} | Course materials" in keys
    assert f"{matrix} | Pace" in keys
    # A question answered in one column keeps its text; "Other" splits a question in two.
    assert "How satisfied were you with the program overall?" in keys
    assert "What could we do better?" in keys
    assert "Where are you based? | Response" in keys
    assert "Where are you based? | Other (please specify)" in keys
    assert len(set(keys)) == len(keys)
    columns = by_key(survey)
    assert columns[f"{matrix} | Pace"].label == f"{matrix} | Pace"
    assert set(columns[f"{matrix} | Pace"].samples) <= {"Excellent", "Good", "Fair", "Poor"}

    rows = list(survey.rows())
    assert len(rows) == 30 and rows[0][0] == 3
    row = first_row(survey)
    assert row["Respondent ID"] == "114523698809"  # a big integer, exactly
    assert row["Start Date"] == "11/21/2026 10:44:57 AM"
    others = [c[columns["Where are you based? | Other (please specify)"].index] for _, c in rows]
    assert "Middle East, working remotely" in others


def test_microsoft_forms_xlsx_has_real_datetimes():
    survey = open_sample("microsoft_forms.xlsx")
    assert survey.detected_format is SurveyFormat.MICROSOFT_FORMS
    assert survey.header_rows == 1 and survey.sheet_name == "Sheet1"
    assert [c.key for c in survey.columns][:6] == [
        "ID",
        "Start time",
        "Completion time",
        "Email",
        "Name",
        "Last modified time",
    ]
    row = first_row(survey)
    assert row["ID"] == "1"
    assert row["Start time"] == "2026-10-02T17:36:28"
    assert row["How satisfied are you with the program?"] in survey_samples_satisfaction()
    assert row["Name"] == ""
    assert len(list(survey.rows())) == 25


def survey_samples_satisfaction() -> set[str]:
    return {
        "Very satisfied",
        "Satisfied",
        "Neither satisfied nor dissatisfied",
        "Dissatisfied",
        "Very dissatisfied",
    }


def test_microsoft_forms_unicode_text_en_gb():
    survey = open_sample("microsoft_forms_en_gb.csv")
    assert (survey.encoding, survey.delimiter) == ("utf-16", "\t")
    assert survey.detected_format is SurveyFormat.MICROSOFT_FORMS
    row = first_row(survey)
    assert row["Start time"] == "01/10/2026 12:44"
    assert row["Which program did you attend?"] == "Data Privacy 2026"
    assert len(list(survey.rows())) == 20


def test_generic_csv():
    survey = open_sample("generic.csv")
    assert (survey.encoding, survey.delimiter) == ("utf-8", ",")
    assert survey.detected_format is SurveyFormat.GENERIC
    assert [c.key for c in survey.columns] == list(survey_files.GENERIC_COLUMNS)
    rows = list(survey.rows())
    assert len(rows) == 30
    assert rows[0] == (
        2,
        [
            "NW-2026-0001",
            "2026-10-21T16:12:08",
            "Leading Hybrid Teams",
            "APAC",
            "5",
            "0",
            "Loved the examples from São Paulo and Zürich.",
        ],
    )
    rating = survey.columns[4].index
    assert rows[6][1][rating] == ""  # row 7 has no rating, only a recommend score
    comments = [cells[6] for _, cells in rows]
    assert "Line one of my feedback.\nLine two: more time for questions, please." in comments
    # Record numbers, not physical lines: a quoted newline does not shift later rows.
    assert [n for n, _ in rows] == list(range(2, 32))


def test_generic_semicolon_cp1252():
    survey = open_sample("generic_semicolon_cp1252.csv")
    assert (survey.encoding, survey.delimiter) == ("cp1252", ";")
    assert survey.detected_format is SurveyFormat.GENERIC
    # Headings are matched case-insensitively: keys are the documented lower-case names.
    assert [c.key for c in survey.columns] == list(survey_files.GENERIC_COLUMNS)
    assert survey.columns[0].label == "Response_ID"
    assert first_row(survey)["comment"] == "Café – très bien"


def test_detected_format_can_be_overridden():
    survey = open_sample("qualtrics_numeric.csv", format=SurveyFormat.GENERIC)
    assert survey.detected_format is SurveyFormat.QUALTRICS
    assert survey.format is SurveyFormat.GENERIC
    assert survey.header_rows == 1
    number, cells = next(iter(survey.rows()))
    assert number == 2 and cells[0] == "Start Date"  # the question-text row, now an answer

    survey = open_sample("generic.csv", format=SurveyFormat.MICROSOFT_FORMS)
    assert survey.detected_format is SurveyFormat.GENERIC
    assert survey.format is SurveyFormat.MICROSOFT_FORMS
    assert survey.header_rows == 1


def test_detect_format_from_first_rows():
    assert detect_format([["ID", "Start time", "Completion time", "Email"]]) is (
        SurveyFormat.MICROSOFT_FORMS
    )
    assert detect_format([["Respondent ID", "Collector ID", "Q"], ["", "", "Response"]]) is (
        SurveyFormat.SURVEYMONKEY
    )
    assert detect_format([["whatever", "else"], ["1", "2"]]) is SurveyFormat.GENERIC


def test_rows_can_be_read_twice_and_pad_short_rows(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_bytes(
        b"submitted_at,rating,comment\r\n2026-11-03,5\r\n\r\n,,\r\n  2026-11-04 , 4 ,ok,extra\r\n"
    )
    survey = open_survey_file(path, "ragged.csv")
    expected = [(2, ["2026-11-03", "5", ""]), (5, ["2026-11-04", "4", "ok"])]
    assert list(survey.rows()) == expected
    assert list(survey.rows()) == expected


def test_xlsx_cells_become_strings(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    wb.create_sheet("Notes")
    ws.title = "Empty"
    data = wb.create_sheet("Answers")
    data.append(["submitted_at", "rating", "score", "flag", "day", "comment"])
    data.append(
        [dt.datetime(2026, 11, 3, 14, 5, 12), 5.0, 4.25, True, dt.date(2026, 11, 4), " hi "]
    )
    data["E2"].number_format = "yyyy-mm-dd"
    path = tmp_path / "cells.xlsx"
    wb.save(path)
    survey = open_survey_file(path, "cells.xlsx")
    assert survey.sheet_name == "Answers"  # the first sheet with anything in it
    assert list(survey.rows()) == [
        (2, ["2026-11-03T14:05:12", "5", "4.25", "TRUE", "2026-11-04", "hi"])
    ]


# --------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    ("encoding", "bom", "reported"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),
        ("utf-16-le", codecs.BOM_UTF16_LE, "utf-16"),
        ("utf-16-be", codecs.BOM_UTF16_BE, "utf-16"),
        ("cp1252", b"", "cp1252"),
    ],
)
def test_encodings(tmp_path, encoding, bom, reported):
    text = 'submitted_at\trating\tcomment\r\n2026-11-03\t5\t"Café – très bien\r\nmerci"\r\n'
    path = tmp_path / "enc.csv"
    path.write_bytes(bom + text.encode(encoding))
    survey = open_survey_file(path, path.name)
    assert (survey.encoding, survey.delimiter) == (reported, "\t")
    assert list(survey.rows()) == [(2, ["2026-11-03", "5", "Café – très bien\r\nmerci"])]


def test_utf8_is_validated_over_the_whole_file(tmp_path):
    # Valid UTF-8 for the first megabytes, then one Windows-1252 byte: cp1252 is the truth.
    path = tmp_path / "late.csv"
    lines = ["submitted_at,rating,comment"] + ["2026-11-03,5,fine"] * 200_000
    path.write_bytes(("\n".join(lines) + "\n2026-11-04,4,Caf").encode() + b"\xe9\n")
    survey = open_survey_file(path, path.name)
    assert survey.encoding == "cp1252"
    assert list(survey.rows())[-1] == (200_002, ["2026-11-04", "4", "Café"])


def test_undecodable_text_is_refused(tmp_path):
    path = tmp_path / "mystery.csv"
    # 0x81 and 0x8D are neither UTF-8 here nor defined in Windows-1252.
    path.write_bytes(b"submitted_at,comment\n2026-11-03,\x81\x8d\n")
    assert "encoding could not be recognised" in rejection(path)


def test_semicolon_sniffed_despite_commas_in_text(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text(
        "submitted_at;rating;comment\n2026-11-03;5;Good, clear, short\n2026-11-04;4;ok, thanks\n",
        encoding="utf-8",
    )
    survey = open_survey_file(path, path.name)
    assert survey.delimiter == ";"
    assert [c for _, c in survey.rows()][0] == ["2026-11-03", "5", "Good, clear, short"]


# --------------------------------------------------------------------------- refusals


def test_empty_files_are_refused(tmp_path):
    assert rejection(SAMPLES / "empty.csv") == "The file is empty."
    blank = tmp_path / "blank.csv"
    blank.write_bytes(b" \r\n\t\r\n")
    assert rejection(blank) == "The file is empty."
    bom_only = tmp_path / "bom.csv"
    bom_only.write_bytes(codecs.BOM_UTF8 + b"\r\n")
    assert rejection(bom_only) == "The file is empty."


def test_headings_without_responses_are_refused(tmp_path):
    path = tmp_path / "headings.csv"
    path.write_text("response_id,submitted_at,rating\n,,\n\n", encoding="utf-8")
    assert rejection(path) == "The file has column headings but no responses."
    qualtrics = tmp_path / "qualtrics.csv"
    with (SAMPLES / "qualtrics_numeric.csv").open(encoding="utf-8-sig", newline="") as source:
        head = [next(csv.reader(source)) for _ in range(3)]
    with qualtrics.open("w", encoding="utf-8", newline="") as target:
        csv.writer(target).writerows(head)
    assert rejection(qualtrics) == "The file has column headings but no responses."


def test_binary_files_named_csv_are_refused(tmp_path):
    assert "not a CSV file or an Excel workbook" in rejection(SAMPLES / "binary_named.csv")
    pdf = tmp_path / "report.csv"
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    assert "PDF" in rejection(pdf)
    nul = tmp_path / "nul.csv"
    nul.write_bytes(b"submitted_at,rating\n2026-11-03,\x00\x00\x01\x02\n")
    assert "binary data" in rejection(nul)
    archive = tmp_path / "archive.csv"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("notes.txt", "hello")
    assert "zip archive, not a workbook" in rejection(archive)


def test_password_protected_workbook_is_refused():
    assert rejection(SAMPLES / "password_protected.xlsx") == (
        "This workbook is password-protected. Open it in Excel, remove the password "
        "(File › Info › Protect Workbook), save and upload again."
    )


def test_old_xls_workbook_is_refused(tmp_path):
    path = tmp_path / "old.xlsx"
    header = (SAMPLES / "password_protected.xlsx").read_bytes()[:512]
    path.write_bytes(header + "Workbook".encode("utf-16-le").ljust(1024, b"\x00"))
    message = rejection(path)
    assert ".xls" in message and "save it as an Excel Workbook (.xlsx) or as CSV" in message


def test_zip_bomb_is_refused_before_parsing(monkeypatch):
    def must_not_parse(*args, **kwargs):
        raise AssertionError("the workbook was parsed")

    monkeypatch.setattr(openpyxl, "load_workbook", must_not_parse)
    assert (SAMPLES / "zip_bomb.xlsx").stat().st_size < 60 * 1024
    assert "compressed suspiciously well" in rejection(SAMPLES / "zip_bomb.xlsx")


def test_workbook_larger_than_the_limit_is_refused():
    message = rejection(SAMPLES / "surveymonkey.xlsx", max_xlsx_uncompressed=10 * 1024)
    assert "would expand to more than" in message


def test_entity_expansion_is_refused():
    message = rejection(SAMPLES / "billion_laughs.xlsx")
    assert "not allowed (entity declarations)" in message


def test_xml_must_be_parsed_safely(monkeypatch):
    assert openpyxl.xml.DEFUSEDXML is True
    monkeypatch.setattr(survey_files, "XML_IS_SAFE", False)
    with pytest.raises(RuntimeError, match="defusedxml"):
        open_sample("surveymonkey.xlsx")


def test_damaged_workbook_is_refused(tmp_path):
    path = tmp_path / "damaged.xlsx"
    data = (SAMPLES / "surveymonkey.xlsx").read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert "not a CSV file or an Excel workbook" in rejection(path)


def test_workbook_without_default_style_raises_no_warning(tmp_path):
    # Survey tools write workbooks without styles.xml; openpyxl warns about it, we must not.
    source = io.BytesIO()
    wb = openpyxl.Workbook()
    wb.active.append(["submitted_at", "rating"])
    wb.active.append(["2026-11-03", 5])
    wb.save(source)
    path = tmp_path / "nostyle.xlsx"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            if info.filename != "xl/styles.xml":
                dst.writestr(info, src.read(info.filename))
    survey = open_survey_file(path, path.name)  # pytest runs with -W error
    assert list(survey.rows()) == [(2, ["2026-11-03", "5"])]


# --------------------------------------------------------------------------- streaming


def test_large_csv_streams_with_bounded_memory(tmp_path):
    path = tmp_path / "large.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["response_id", "submitted_at", "program", "region", "rating", "comment"])
        for n in range(200_000):
            writer.writerow(
                [
                    f"R-{n:06d}",
                    "2026-11-03T10:00:00",
                    "Negotiation Essentials",
                    "EMEA",
                    n % 5 + 1,
                    "Très utile, merci — see you next time",
                ]
            )
    size = path.stat().st_size
    assert size > 15_000_000

    tracemalloc.start()
    try:
        survey = open_survey_file(path, path.name)
        count = 0
        total = 0
        for _, cells in survey.rows():
            count += 1
            total += int(cells[4])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 200_000 and total == 600_000
    print(f"peak {peak:,} bytes while streaming a {size:,}-byte CSV")
    assert peak < size / 10, f"peak {peak} bytes for a {size}-byte file"


def test_qualtrics_columns_carry_the_time_zone_of_their_import_id_row():
    survey = open_survey_file(SAMPLES / "qualtrics_numeric.csv", "qualtrics_numeric.csv")
    zones = {c.key: c.timezone for c in survey.columns}
    assert zones["RecordedDate"] == zones["StartDate"] == "America/Denver"
    assert zones["Q1"] is None
