"""The partnership workbook: its sheets and columns, the template (XLSX, or a zip of one CSV
per sheet), and reading an uploaded workbook (or one sheet as CSV) into rows of text.

Reading reuses the survey import's file checks (``services/survey_files``): the file is
sniffed by its content (an ``.xlsx`` that is really a CSV is read as the CSV it is), a zip is
refused before openpyxl opens it when it would inflate too far or suspiciously well (a zip
bomb), and worksheet XML is streamed with entity declarations refused."""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from openpyxl.styles import Font

from mls_tracker.models import SurveyFormat
from mls_tracker.services.survey_files import (
    DEFAULT_MAX_XLSX_UNCOMPRESSED,
    FileRejected,
    Limits,
    SurveyFile,
    _cell_text,
    _check_workbook,
    _csv_rows,
    _detect_encoding,
    _ignore_openpyxl_warnings,
    _open_workbook,
    _sniff_delimiter,
    _sniff_kind,
    _unreadable_workbook,
)


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    heading: str
    required: bool
    help: str


@dataclass(frozen=True, slots=True)
class Sheet:
    name: str
    purpose: str
    columns: tuple[Column, ...]

    @property
    def file_name(self) -> str:
        return f"{self.name.lower()}.csv"


UNITS_TEXT = "%, hours, days, count, score, currency"
SHEETS: tuple[Sheet, ...] = (
    Sheet(
        "SLAs",
        "One row per SLA; a second row with the same code and a later effective month adds a "
        "new target from that month.",
        (
            Column("code", "Code", True, "Short and unique, e.g. SLA-01 (at most 20 characters)."),
            Column("name", "Name", True, "What is measured."),
            Column("unit", "Unit", True, UNITS_TEXT),
            Column("direction", "Direction", True, "higher is better, lower is better"),
            Column("target", "Target", True, "A number."),
            Column("at_risk", "At-risk threshold", True, "A number on the bad side of the target."),
            Column("weight", "Weight", False, "A number ≥ 0 (default 1)."),
            Column("effective_from", "Effective from", True, "The first month, YYYY-MM."),
            Column("category", "Category", False, "Free text, e.g. Delivery, Quality."),
        ),
    ),
    Sheet(
        "Sponsors",
        "One row per sponsorship: a person sponsoring one region on one side.",
        (
            Column("name", "Name", True, "The sponsor's name."),
            Column("email", "E-mail", False, "Their e-mail address."),
            Column("region", "Region", True, "A region code (e.g. EMEA) or name."),
            Column("side", "Side", True, "client, provider"),
            Column("start", "Start", True, "A date, YYYY-MM-DD."),
            Column("end", "End", False, "A date on or after the start; empty while sponsoring."),
        ),
    ),
    Sheet(
        "Expectations",
        "What both sides agreed.",
        (
            Column("title", "Title", True, "A short name, unique in the partnership."),
            Column(
                "category",
                "Category",
                True,
                "performance, measurement, client satisfaction, service level, communication, "
                "other",
            ),
            Column("wording", "Wording", True, "The agreed statement."),
            Column("revisit_by", "Revisit by", True, "A date, YYYY-MM-DD."),
        ),
    ),
    Sheet(
        "Actions",
        "Open action items.",
        (
            Column("title", "Title", True, "What is to be done."),
            Column("owner_side", "Owner side", True, "client, provider"),
            Column("owner_email", "Owner e-mail", False, "The owner's e-mail address."),
            Column("due", "Due date", True, "A date, YYYY-MM-DD."),
            Column("status", "Status", False, "open, in progress, blocked (default open)"),
            Column("notes", "Notes", False, "Free text."),
        ),
    ),
    Sheet(
        "Actuals",
        "Monthly actuals of the SLAs (from the SLAs sheet or already in the partnership).",
        (
            Column("sla_code", "SLA code", True, "A code from the SLAs sheet."),
            Column("month", "Month", True, "YYYY-MM, not in the future."),
            Column("value", "Value", True, "A number, or n/a when the month does not apply."),
        ),
    ),
)
SHEETS_BY_NAME = {sheet.name.lower(): sheet for sheet in SHEETS}
INSTRUCTIONS = "Instructions"
MAX_SHEET_ROWS = 200_000


def _normal(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip().lower().replace("e-mail", "email"))


@dataclass(frozen=True, slots=True)
class Problem:
    sheet: str | None  # None: the file as a whole
    row: int | None
    message: str

    @property
    def where(self) -> str:
        if self.sheet is None:
            return "File"
        return f"{self.sheet}, row {self.row}" if self.row else self.sheet


@dataclass
class Workbook:
    """An uploaded workbook read as text: rows by sheet, each (row number, {column key: text})."""

    file_name: str
    kind: str  # "xlsx" or "csv"
    sheets: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    csv_sheet: str | None = None  # a CSV upload: the sheet it was read as


# ----------------------------------------------------------------------------- template


def template_xlsx() -> bytes:
    """The empty workbook: a sheet per kind of row with its headings, and instructions."""
    book = openpyxl.Workbook()
    info = book.active
    info.title = INSTRUCTIONS
    info.append(["How to fill in this workbook"])
    info["A1"].font = Font(bold=True, size=14)
    info.append(
        [
            "Fill in the sheets you need and leave the others with their heading row only. "
            "Do not rename sheets or headings. Dates are YYYY-MM-DD, months YYYY-MM."
        ]
    )
    info.append(
        [
            "Importing the same workbook again adds nothing: rows already in the partnership "
            "are recognised and skipped."
        ]
    )
    info.append([])
    info.append(["Sheet", "Column", "Required", "Allowed values"])
    for cell in info[5]:
        cell.font = Font(bold=True)
    for sheet in SHEETS:
        for column in sheet.columns:
            info.append(
                [sheet.name, column.heading, "yes" if column.required else "no", column.help]
            )
    info.column_dimensions["A"].width = 16
    info.column_dimensions["B"].width = 20
    info.column_dimensions["D"].width = 90
    for sheet in SHEETS:
        page = book.create_sheet(sheet.name)
        page.append([column.heading for column in sheet.columns])
        for index, cell in enumerate(page[1], start=1):
            cell.font = Font(bold=True)
            page.column_dimensions[openpyxl.utils.get_column_letter(index)].width = 20
        page.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def template_csv_zip() -> bytes:
    """A zip of one CSV per sheet, each with its heading row."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for sheet in SHEETS:
            text = io.StringIO()
            csv.writer(text).writerow([column.heading for column in sheet.columns])
            archive.writestr(sheet.file_name, text.getvalue())
    return out.getvalue()


# ----------------------------------------------------------------------------- reading


_SURVEY_WORDING = (
    (
        "Export the survey responses as CSV or XLSX and upload that file.",
        "Download the template, fill it in and upload it as .xlsx, or one sheet of it as .csv.",
    ),
    ("than a survey export needs", "than a partnership workbook needs"),
    (
        "Check that the file is a survey export with one response per row.",
        "Check that the file is the partnership workbook.",
    ),
)


def read_workbook(path: Path, file_name: str, limits: Limits | None = None) -> Workbook:
    """Every sheet of the file at ``path`` as text rows, and the problems of its shape
    (unknown sheets, missing columns). FileRejected when the file cannot be read at all."""
    try:
        return _read_workbook(path, file_name, limits)
    except FileRejected as error:
        message = str(error)
        for survey, ours in _SURVEY_WORDING:
            message = message.replace(survey, ours)
        raise FileRejected(message) from error


def _read_workbook(path: Path, file_name: str, limits: Limits | None) -> Workbook:
    limits = limits or Limits(max_rows=MAX_SHEET_ROWS)
    kind = _sniff_kind(Path(path))
    book = Workbook(file_name=file_name, kind=kind)
    if kind == "xlsx":
        _check_workbook(Path(path), DEFAULT_MAX_XLSX_UNCOMPRESSED, limits)
        with _open_workbook(Path(path)) as opened:
            try:
                with warnings.catch_warnings():
                    _ignore_openpyxl_warnings()
                    for page in opened.worksheets:
                        _read_sheet(book, page.title, _sheet_rows(page))
            except FileRejected:
                raise
            except Exception as exc:
                raise _unreadable_workbook(exc) from exc
        if not book.sheets and not book.problems:
            book.problems.append(
                Problem(
                    None,
                    None,
                    "The workbook has none of the sheets "
                    + ", ".join(s.name for s in SHEETS)
                    + ". Download the template and copy your rows into it.",
                )
            )
    else:
        _read_csv(book, Path(path), limits)
    return book


def _sheet_rows(page) -> list[tuple[int, list[str]]]:
    rows = []
    for number, values in enumerate(page.iter_rows(values_only=True), start=1):
        texts = [_cell_text(value) for value in values]
        while texts and not texts[-1]:
            texts.pop()
        rows.append((number, texts))
    return rows


def _read_csv(book: Workbook, path: Path, limits: Limits) -> None:
    encoding = _detect_encoding(path)
    survey = SurveyFile(
        path, book.file_name, "csv", SurveyFormat.GENERIC, SurveyFormat.GENERIC, [], 1
    )
    survey.encoding = encoding
    survey.delimiter = _sniff_delimiter(path, encoding)
    survey.limits = limits
    rows = list(_csv_rows(survey))
    headings = {_normal(cell) for cell in (rows[0][1] if rows else [])}
    stem = _normal(Path(book.file_name).stem)
    sheet = SHEETS_BY_NAME.get(stem)
    if sheet is None:  # the sheet whose headings the file has most of
        best = max(SHEETS, key=lambda s: sum(_normal(c.heading) in headings for c in s.columns))
        if any(_normal(c.heading) in headings for c in best.columns):
            sheet = best
    if sheet is None:
        raise FileRejected(
            "This CSV file's headings match none of the workbook's sheets. Use the headings of "
            "one sheet of the template (e.g. SLA code, Month, Value for the actuals)."
        )
    book.csv_sheet = sheet.name
    _read_sheet(book, sheet.name, rows)


def _read_sheet(book: Workbook, title: str, rows: list[tuple[int, list[str]]]) -> None:
    sheet = SHEETS_BY_NAME.get(title.strip().lower())
    if sheet is None:
        if title.strip().lower() != INSTRUCTIONS.lower() and any(any(r) for _, r in rows):
            book.problems.append(
                Problem(
                    title,
                    None,
                    f"There is no sheet called “{title}” in the template: the sheets are "
                    + ", ".join(s.name for s in SHEETS)
                    + ". Rename it or move its rows to the right sheet.",
                )
            )
        return
    filled = [(n, r) for n, r in rows if any(r)]
    if not filled:
        book.sheets[sheet.name] = []
        return
    header_number, header = filled[0]
    wanted = {_normal(c.heading): c for c in sheet.columns} | {
        _normal(c.key): c for c in sheet.columns
    }
    positions: dict[str, int] = {}
    for index, heading in enumerate(header):
        column = wanted.get(_normal(heading))
        if column is not None and column.key not in positions:
            positions[column.key] = index
    missing = [c.heading for c in sheet.columns if c.required and c.key not in positions]
    if missing:
        book.problems.append(
            Problem(
                sheet.name,
                header_number,
                "Missing column"
                + ("s" if len(missing) > 1 else "")
                + ": "
                + ", ".join(f"“{m}”" for m in missing)
                + ". Keep the template's headings in the first row.",
            )
        )
        return
    data = []
    for number, cells in filled[1:]:
        data.append(
            (
                number,
                {
                    key: (cells[index].strip() if index < len(cells) else "")
                    for key, index in positions.items()
                },
            )
        )
    book.sheets[sheet.name] = data
