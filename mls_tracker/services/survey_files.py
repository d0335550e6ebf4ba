"""Reading uploaded survey files: CSV or XLSX on disk → columns and a stream of string rows."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import json
import re
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal
from xml.parsers import expat
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import openpyxl
import openpyxl.xml
from defusedxml import DefusedXmlException
from openpyxl.utils.cell import column_index_from_string
from openpyxl.workbook.workbook import Workbook

from mls_tracker.models import SurveyFormat
from mls_tracker.services.errors import ValidationFailed

# openpyxl parses every XML part with defusedxml when it is importable; without it a workbook
# could carry an entity-expansion ("billion laughs") payload, so we refuse to read workbooks.
XML_IS_SAFE: bool = bool(openpyxl.xml.DEFUSEDXML)

DEFAULT_MAX_XLSX_UNCOMPRESSED = 250 * 1024 * 1024
DEFAULT_MAX_COLUMNS = 500
DEFAULT_MAX_ROWS = 1_000_000
DEFAULT_MAX_LINE_BYTES = 1024 * 1024
DEFAULT_MAX_HEADER_BYTES = 512 * 1024
#: A member this much larger than its compressed size (and above the floor) is a zip bomb.
MAX_COMPRESSION_RATIO = 100
COMPRESSION_RATIO_FLOOR = 1024 * 1024

DELIMITERS = (",", ";", "\t")
SAMPLE_COUNT = 5
VALUE_COUNT = 30
_SAMPLE_ROWS = 100  # answer rows looked at for column samples
_CHUNK = 256 * 1024
_SNIFF_CHARS = 64 * 1024
_XLSX_BATCH = 500

_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_BINARY_MAGICS = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\x1f\x8b": "a gzip archive",
}

# Directory entries of an OLE2 compound file name their streams in UTF-16 LE; an encrypted
# OOXML package (Excel's "Encrypt with Password") always has these two streams.
_ENCRYPTION_STREAMS = ("EncryptionInfo".encode("utf-16-le"), "EncryptedPackage".encode("utf-16-le"))

# Responses a Qualtrics export holds that are not learners' finished answers, by kind: the
# "Status" column (choice text, or its number in numeric exports) marks the survey owner's
# tests and previews and the responses Qualtrics flagged as spam; "Finished" is False (0) for
# a response closed before its end. They are left out unless the lead includes them.
LEFT_OUT_KINDS = ("test", "preview", "spam", "unfinished")
LEFT_OUT_NAMES = {
    "test": ("test response", "test responses"),
    "preview": ("preview response", "preview responses"),
    "spam": ("response flagged as spam", "responses flagged as spam"),
    "unfinished": ("unfinished response", "unfinished responses"),
}
_QUALTRICS_STATUS_KINDS = {
    "Survey Test": "test",
    "2": "test",
    "Survey Preview": "preview",
    "1": "preview",
    "Offline Survey Preview": "preview",
    "17": "preview",
    "Preview Spam": "preview",
    "9": "preview",
    "Spam": "spam",
    "8": "spam",
    "Imported Spam": "spam",
    "12": "spam",
}
_NOT_FINISHED = frozenset({"false", "0"})


def left_out_text(counts: dict[str, int]) -> str:
    """ "3 test responses, 2 unfinished responses" for the kinds counted, in a fixed order."""
    parts = []
    for kind in LEFT_OUT_KINDS:
        if count := counts.get(kind, 0):
            one, many = LEFT_OUT_NAMES[kind]
            parts.append(f"{count:,} {one if count == 1 else many}")
    return ", ".join(parts)


NOT_A_SURVEY_FILE = (
    "This file is not a CSV file or an Excel workbook ({what}). Export the survey responses "
    "as CSV or XLSX and upload that file."
)
ENCRYPTED_WORKBOOK = (
    "This workbook is password-protected. Open it in Excel, remove the password "
    "(File › Info › Protect Workbook), save and upload again."
)
OLD_EXCEL = (
    "This is an old Excel 97–2003 workbook (.xls). Open it in Excel and save it as an Excel "
    "Workbook (.xlsx) or as CSV, then upload that file."
)
EMPTY_FILE = "The file is empty."
NO_RESPONSES = "The file has column headings but no responses."


class FileRejected(ValidationFailed):
    """The whole file is refused; ``str(error)`` is the message shown to the user."""

    def __init__(self, message: str, field: str | None = "file") -> None:
        super().__init__(message, field=field)


@dataclass(frozen=True, slots=True)
class Limits:
    """How big a survey file may be in shape, checked while reading it so that a hostile file
    (a million columns on one line, say) is refused before it costs memory or a huge page."""

    max_columns: int = DEFAULT_MAX_COLUMNS  # cells in any row, headings included
    max_rows: int = DEFAULT_MAX_ROWS  # rows of the file, headings and blank rows included
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES  # one CSV record / one worksheet row, as UTF-8
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES  # the heading rows together, as UTF-8


TOO_MANY_COLUMNS = (
    "Row {row} has more than {limit:,} columns, the most this installation accepts. Export "
    "only the survey's questions (leave out embedded data and unused columns) and upload again."
)
TOO_MANY_ROWS = (
    "The file has more than {limit:,} rows, the most this installation accepts. Split the "
    "responses into smaller files and upload each."
)
LINE_TOO_LONG = (
    "Row {row} is longer than {size}, the most this installation accepts for one row. Check "
    "that the file is a survey export with one response per row."
)
HEADER_TOO_BIG = (
    "The column headings take more than {size}, the most this installation accepts. Export "
    "the survey with shorter headings (question ids rather than full texts) and upload again."
)


def _size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    return f"{size / 1024:g} KB" if size >= 1024 else f"{size} bytes"


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


@dataclass(frozen=True, slots=True)
class Column:
    index: int  # position within a row returned by SurveyFile.rows()
    key: str  # stable id, unique within the file: remembered in mappings between imports
    label: str  # what a person recognises: the question text
    samples: tuple[str, ...]  # up to 5 distinct non-empty values from the first answer rows
    # The time zone the export names for this column's times (Qualtrics' ImportId row,
    # e.g. "America/Denver"); None when the file does not say.
    timezone: str | None = None
    # Up to VALUE_COUNT distinct non-empty values from the first answer rows (the samples
    # first): what the column guesser judges a column by.
    values: tuple[str, ...] = ()


@dataclass
class SurveyFile:
    """An uploaded survey file, recognised; ``rows()`` streams its answers from disk."""

    path: Path
    file_name: str
    kind: Literal["csv", "xlsx"]
    detected_format: SurveyFormat
    format: SurveyFormat
    columns: list[Column]
    header_rows: int
    encoding: str | None = None
    delimiter: str | None = None
    sheet_name: str | None = None  # xlsx only: the worksheet read
    # Qualtrics only: indexes of the "Status" and "Finished" columns. rows() leaves out test,
    # preview, spam and unfinished responses (LEFT_OUT_KINDS) but the kinds in ``include``,
    # counting them in ``left_out`` and those it yields in ``included`` (both reset by each
    # call); none when skip_test_responses is off.
    status_index: int | None = field(default=None, repr=False)
    finished_index: int | None = field(default=None, repr=False)
    skip_test_responses: bool = True
    include: frozenset[str] = frozenset()
    left_out: dict[str, int] = field(default_factory=dict, repr=False)
    included: dict[str, int] = field(default_factory=dict, repr=False)
    limits: Limits = field(default_factory=Limits, repr=False)

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Each answer row as (spreadsheet row number, cells), reopening the file each call."""
        return self._rows(None)

    def left_out_kind(self, cells: list[str]) -> str | None:
        """The kind of response (LEFT_OUT_KINDS) a row is that is not a finished answer."""
        status, finished = self.status_index, self.finished_index
        if status is not None and status < len(cells):
            kind = _QUALTRICS_STATUS_KINDS.get(cells[status])
            if kind is not None:
                return kind
        if (
            finished is not None
            and finished < len(cells)
            and cells[finished].lower() in _NOT_FINISHED
        ):
            return "unfinished"
        return None

    def _rows(
        self, workbook: Workbook | None, *, everything: bool = False
    ) -> Iterator[tuple[int, list[str]]]:
        width = len(self.columns)
        self.left_out, self.included = {}, {}
        sort = (
            self.skip_test_responses
            and not everything
            and (self.status_index is not None or self.finished_index is not None)
        )
        for number, cells in _raw_rows(self, workbook):
            if number <= self.header_rows or not any(cells):
                continue
            if sort and (kind := self.left_out_kind(cells)):
                counts = self.included if kind in self.include else self.left_out
                counts[kind] = counts.get(kind, 0) + 1
                if kind not in self.include:
                    continue
            if len(cells) < width:
                cells.extend([""] * (width - len(cells)))
            elif len(cells) > width:
                del cells[width:]
            yield number, cells


# --------------------------------------------------------------------------- opening


def open_survey_file(
    path: Path,
    file_name: str,
    *,
    format: SurveyFormat | None = None,
    max_xlsx_uncompressed: int = DEFAULT_MAX_XLSX_UNCOMPRESSED,
    limits: Limits | None = None,
) -> SurveyFile:
    """Recognise the file at ``path``; raise FileRejected when it cannot be read as a survey
    or is bigger in shape than ``limits`` allow (rows are counted only by ``check_shape``)."""
    path = Path(path)
    limits = limits or Limits()
    kind = _sniff_kind(path)
    if kind == "xlsx":
        _require_safe_xml()
        _check_workbook(path, max_xlsx_uncompressed, limits)
        survey = SurveyFile(
            path, file_name, "xlsx", SurveyFormat.GENERIC, SurveyFormat.GENERIC, [], 0
        )
        survey.limits = limits
        # One parse of the workbook for recognising it: openpyxl scans a whole sheet on
        # opening when the sheet does not declare its dimensions.
        with _open_workbook(path) as workbook:
            survey.sheet_name = _first_non_empty_sheet(workbook)
            _recognise(survey, format, workbook)
    else:
        encoding = _detect_encoding(path)
        survey = SurveyFile(
            path, file_name, "csv", SurveyFormat.GENERIC, SurveyFormat.GENERIC, [], 0
        )
        survey.limits = limits
        survey.encoding = encoding
        survey.delimiter = _sniff_delimiter(path, encoding)
        _recognise(survey, format, None)
    return survey


def check_shape(survey: SurveyFile) -> None:
    """Read the whole file once, refusing it (FileRejected) when any row breaks the limits:
    run before a file is accepted, so that a bad row far down is found at upload."""
    if survey.kind == "csv":  # a workbook's rows were all counted by _check_workbook
        for _ in _csv_rows(survey, clean=False):
            pass  # the reader enforces every limit as it goes


def _recognise(survey: SurveyFile, format: SurveyFormat | None, workbook: Workbook | None) -> None:
    """Fill in the format, heading rows and columns of ``survey`` from its first rows."""
    blanks, head = _leading_rows(survey, 8, workbook)
    if not head:
        raise FileRejected(EMPTY_FILE)
    detected = detect_format(head)
    survey.detected_format = detected
    survey.format = format or detected
    header_rows, keys, labels = _structure(survey.format, head)
    survey.header_rows = blanks + header_rows
    heading_size = sum(_utf8_size(cell) + 1 for row in head[:header_rows] for cell in row)
    if heading_size > survey.limits.max_header_bytes:
        raise FileRejected(HEADER_TOO_BIG.format(size=_size_text(survey.limits.max_header_bytes)))
    zones = (
        _import_id_time_zones(head, header_rows) if survey.format is SurveyFormat.QUALTRICS else {}
    )
    if survey.format is SurveyFormat.QUALTRICS:
        # "Status" is the field id of current exports; legacy ones name it in the second row.
        named = [
            i for i, (k, lbl) in enumerate(zip(keys, labels, strict=True)) if "Status" in (k, lbl)
        ]
        survey.status_index = named[0] if named else None
        finished = [
            i for i, (k, lbl) in enumerate(zip(keys, labels, strict=True)) if "Finished" in (k, lbl)
        ]
        survey.finished_index = finished[0] if finished else None

    # Columns with neither a heading nor any value (trailing delimiters) are still columns so
    # that indexes stay positional; samples come from the first answer rows.
    survey.columns = [
        Column(i, k, lbl, (), zones.get(i))
        for i, (k, lbl) in enumerate(zip(keys, labels, strict=True))
    ]
    samples: list[dict[str, None]] = [{} for _ in keys]
    answered = 0
    # Samples come from every response, those left out by default too: a file holding only
    # test responses can still be mapped, and its check says they were left out.
    with closing(survey._rows(workbook, everything=True)) as answers:
        for _, cells in itertools.islice(answers, _SAMPLE_ROWS):
            answered += 1
            for i, value in enumerate(cells):
                if value and len(samples[i]) < VALUE_COUNT:
                    samples[i][value] = None
    if not answered:
        raise FileRejected(NO_RESPONSES)
    survey.columns = [
        Column(
            c.index,
            c.key,
            c.label,
            tuple(samples[c.index])[:SAMPLE_COUNT],
            c.timezone,
            tuple(samples[c.index]),
        )
        for c in survey.columns
    ]


def _import_id_time_zones(head: list[list[str]], header_rows: int) -> dict[int, str]:
    """Column index → the ``timeZone`` named in Qualtrics' ImportId heading row, for the
    columns that have one and name a zone this system knows."""
    zones: dict[int, str] = {}
    for row in head[2:header_rows]:
        for index, cell in enumerate(row):
            if index in zones or not cell.startswith(_IMPORT_ID_STARTS):
                continue
            try:
                zone = json.loads(cell.replace("'", '"')).get("timeZone")
            except (ValueError, AttributeError):
                continue
            if isinstance(zone, str) and zone:
                try:
                    ZoneInfo(zone)
                except (ZoneInfoNotFoundError, ValueError):
                    continue
                zones[index] = zone
    return zones


def _leading_rows(
    survey: SurveyFile, count: int, workbook: Workbook | None
) -> tuple[int, list[list[str]]]:
    """(leading blank rows, the first ``count`` rows after them)."""
    rows: list[list[str]] = []
    blanks = 0
    with closing(_raw_rows(survey, workbook)) as raw:
        for _, cells in raw:
            if not rows and not any(cells):
                blanks += 1
                continue
            rows.append(cells)
            if len(rows) >= count:
                break
    return blanks, rows


# --------------------------------------------------------------------------- formats

_QUALTRICS_METADATA = {"StartDate", "EndDate", "Status", "ResponseId", "RecordedDate", "Finished"}
_QUALTRICS_LEGACY = {"ResponseID", "ResponseSet"}
# Current exports head the respondent's columns "Respondent ID", "Collector ID", …; older
# ones "RespondentID", "CollectorID", "StartDate", "EndDate".
_SURVEYMONKEY_METADATA = ({"Respondent ID", "Collector ID"}, {"RespondentID", "CollectorID"})
_SURVEYMONKEY_PLAIN = {"Response", "Open-Ended Response"}
_FORMS_METADATA = {"id", "start time", "completion time"}
GENERIC_COLUMNS = (
    "response_id",
    "submitted_at",
    "program",
    "region",
    "rating",
    "recommend",
    "comment",
)


# Excel's 1900 date system: day 1 is 1900-01-01 and Excel counts a 29 Feb 1900 that never
# was, so from day 61 on a serial is the days since 1899-12-30; the fraction is the time of
# day. Five-digit days (1927–2173) only: smaller numbers are more likely answers than dates.
_EXCEL_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)


def excel_serial_datetime(text: str) -> dt.datetime | None:
    """The naive date-time an Excel serial date such as ``45597.145833`` stands for
    (2024-11-01 03:30:00, to the nearest second), or None when ``text`` is not one. A
    workbook cell holding a date without a date format, or a CSV saved from one, has these."""
    if not _EXCEL_SERIAL.match(text):
        return None
    days, _, fraction = text.partition(".")
    seconds = round(float(f"0.{fraction or 0}") * 86400)
    return _EXCEL_EPOCH + dt.timedelta(days=int(days), seconds=seconds)


# Current exports write {"ImportId":"QID1"}; the 2016 export {'ImportId': 'QID1'}.
_IMPORT_ID_STARTS = ('{"ImportId"', "{'ImportId'")


def _is_import_id_row(cells: list[str]) -> bool:
    filled = [c for c in cells if c]
    return bool(filled) and all(c.startswith(_IMPORT_ID_STARTS) for c in filled)


def _is_surveymonkey_subheading(cells: list[str]) -> bool:
    """SurveyMonkey's second heading row (``,Response,Response,…``): empty under the
    respondent's details, "Response", "Open-Ended Response" or a choice under each question."""
    return (
        bool(cells)
        and not cells[0].strip()
        and any(c.strip() in _SURVEYMONKEY_PLAIN for c in cells)
    )


def detect_format(head: list[list[str]]) -> SurveyFormat:
    """Recognise the exporting tool from the first rows of a file (blank leading rows removed)."""
    first = {c.strip() for c in head[0]}
    second = {c.strip() for c in head[1]} if len(head) > 1 else set()
    if len(head) > 2 and _QUALTRICS_METADATA & first and _is_import_id_row(head[2]):
        return SurveyFormat.QUALTRICS
    if second >= _QUALTRICS_LEGACY or (
        len(_QUALTRICS_METADATA & first) >= 3 and "ResponseId" in first
    ):
        return SurveyFormat.QUALTRICS
    if any(first >= names for names in _SURVEYMONKEY_METADATA) or (
        len(head) > 1 and _is_surveymonkey_subheading(head[1])
    ):
        return SurveyFormat.SURVEYMONKEY
    if {c.lower() for c in first} >= _FORMS_METADATA:
        return SurveyFormat.MICROSOFT_FORMS
    if head[0] and head[0][0].strip() == "Timestamp":  # Google Forms' first column
        return SurveyFormat.GOOGLE_FORMS
    return SurveyFormat.GENERIC


def _structure(fmt: SurveyFormat, head: list[list[str]]) -> tuple[int, list[str], list[str]]:
    """(header rows, column keys, column labels) of a file read as ``fmt``."""
    # Columns are those the heading rows name; cells beyond them in answer rows are dropped.
    subheading = len(head) > 1 and _is_surveymonkey_subheading(head[1])
    heading_rows = (
        2
        if fmt is SurveyFormat.QUALTRICS or (fmt is SurveyFormat.SURVEYMONKEY and subheading)
        else 1
    )
    width = max(len(r) for r in head[:heading_rows])
    pad = [(r + [""] * (width - len(r)))[:width] for r in head]
    if fmt is SurveyFormat.QUALTRICS and len(pad) > 1:
        ids, texts = pad[0], pad[1]
        headings = 2
        # Current exports add one row of {"ImportId": …}; some older exports repeated it.
        while headings < len(pad) and headings < 4 and _is_import_id_row(pad[headings]):
            headings += 1
        keys = [
            k or t or f"Column {i + 1}" for i, (k, t) in enumerate(zip(ids, texts, strict=True))
        ]
        labels = [
            t or k or f"Column {i + 1}" for i, (k, t) in enumerate(zip(ids, texts, strict=True))
        ]
        return headings, _unique(keys), labels
    # A SurveyMonkey file without its second heading row ("condensed") has one heading row.
    if fmt is SurveyFormat.SURVEYMONKEY and subheading:
        questions, subs = pad[0], pad[1]
        carried: list[str] = []
        current = ""
        for i, q in enumerate(questions):
            current = q or (current if subs[i] else "")
            carried.append(current)
        spans = {q: carried.count(q) for q in set(carried)}
        keys, labels = [], []
        for i, (q, sub) in enumerate(zip(carried, subs, strict=True)):
            if not q:
                text = sub or f"Column {i + 1}"
            elif not sub or (sub in _SURVEYMONKEY_PLAIN and spans[q] == 1):
                text = q
            else:
                text = f"{q} | {sub}"
            keys.append(text)
            labels.append(text)
        return 2, _unique(keys), labels
    headings = pad[0]
    labels = [h or f"Column {i + 1}" for i, h in enumerate(headings)]
    keys = labels
    if fmt is SurveyFormat.GENERIC:  # documented names match case-insensitively
        keys = [k.lower() if k.lower() in GENERIC_COLUMNS else k for k in labels]
    return 1, _unique(keys), labels


def _unique(keys: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for key in keys:
        candidate, n = key, 2
        while candidate in seen:
            candidate, n = f"{key} ({n})", n + 1
        seen.add(candidate)
        out.append(candidate)
    return out


# --------------------------------------------------------------------------- content sniffing


def _sniff_kind(path: Path) -> Literal["csv", "xlsx"]:
    with path.open("rb") as fh:
        start = fh.read(8)
    if not start.strip():
        if path.stat().st_size == len(start):
            raise FileRejected(EMPTY_FILE)
        return "csv"  # whitespace first; the encoding pass decides whether anything follows
    if start.startswith(_ZIP_MAGIC):
        return "xlsx"
    if start.startswith(_EMPTY_ZIP_MAGIC):
        raise FileRejected(NOT_A_SURVEY_FILE.format(what="it is an empty zip archive"))
    if start.startswith(_CFB_MAGIC):
        raise FileRejected(ENCRYPTED_WORKBOOK if _is_encrypted_package(path) else OLD_EXCEL)
    for magic, what in _BINARY_MAGICS.items():
        if start.startswith(magic):
            raise FileRejected(NOT_A_SURVEY_FILE.format(what=f"it is {what}"))
    return "csv"


def _is_encrypted_package(path: Path) -> bool:
    """Whether a compound file has the streams of an encrypted OOXML package (chunked scan)."""
    overlap = max(len(n) for n in _ENCRYPTION_STREAMS)
    found = set()
    tail = b""
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            window = tail + chunk
            found.update(n for n in _ENCRYPTION_STREAMS if n in window)
            if len(found) == len(_ENCRYPTION_STREAMS):
                return True
            tail = window[-overlap:]
    return False


def _detect_encoding(path: Path) -> str:
    """The encoding that decodes the WHOLE file, checked in chunks; refuses binary content."""
    with path.open("rb") as fh:
        start = fh.read(4)
    if start.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    elif len(start) >= 4 and start[1] == 0 and start[3] == 0 and start[0] and start[2]:
        candidates = ["utf-16-le"]  # "Unicode text" written without a byte-order mark
    elif len(start) >= 4 and start[0] == 0 and start[2] == 0 and start[1] and start[3]:
        candidates = ["utf-16-be"]
    else:
        # UTF-8 first: cp1252 text is almost never valid UTF-8, whereas the reverse decodes to
        # mojibake. latin-1 is never tried: it "decodes" anything, so it proves nothing.
        candidates = ["utf-8", "cp1252"]
    for encoding in candidates:
        verdict = _decodes_whole_file(path, encoding)
        if verdict == "ok":
            return encoding
        if verdict == "empty":
            raise FileRejected(EMPTY_FILE)
        if verdict == "binary":
            raise FileRejected(NOT_A_SURVEY_FILE.format(what="it contains binary data"))
    raise FileRejected(
        "The file's text encoding could not be recognised. Save it as CSV UTF-8 "
        "(Excel: File › Save As › CSV UTF-8) and upload again."
    )


#: NUL characters a text file may hold (Excel re-saving a file can leave one in a heading
#: cell); they are dropped from the cells. More, or any NUL beside other control characters,
#: is binary content.
MAX_STRAY_NULS = 8
_CONTROL_CHARS = re.compile(r"[\x01-\x08\x0e-\x19\x1b-\x1f]")


def _decodes_whole_file(path: Path, encoding: str) -> Literal["ok", "empty", "binary", "invalid"]:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    blank = True
    nuls = 0
    controls = False
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                text = decoder.decode(chunk)
                nuls += text.count("\x00")
                controls = controls or bool(_CONTROL_CHARS.search(text))
                if nuls > MAX_STRAY_NULS or (nuls and controls):
                    return "binary"
                if blank and text.strip():
                    blank = False
            text = decoder.decode(b"", final=True)
            blank = blank and not text.strip()
    except UnicodeDecodeError:
        return "invalid"
    return "empty" if blank else "ok"


def _sniff_delimiter(path: Path, encoding: str) -> str:
    """The one of , ; TAB that splits the first records into the most, most consistent fields."""
    with path.open(encoding=encoding, newline="") as fh:
        sample = fh.read(_SNIFF_CHARS)
        complete = not fh.read(1)
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        records = [r for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r]
        if not complete and len(records) > 1:
            records = records[:-1]  # the last may be cut off mid-record
        records = records[:50]
        if not records:
            continue
        counts = [len(r) for r in records]
        mode = max(set(counts), key=lambda n: (counts.count(n), n))
        if mode < 2:
            continue
        score = (counts.count(mode) / len(counts), mode)
        if score > best_score:
            best, best_score = delimiter, score
    return best


# --------------------------------------------------------------------------- workbooks


def _check_workbook(path: Path, limit: int, limits: Limits | None = None) -> None:
    """Refuse a zip that is not a workbook, would inflate too far, or has a sheet bigger in
    shape than ``limits`` allow, BEFORE openpyxl parses any of it."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileRejected(NOT_A_SURVEY_FILE.format(what="it is a damaged zip archive")) from exc
    names = {m.filename for m in members}
    if "xl/workbook.xml" not in names and not any(n.endswith("workbook.xml") for n in names):
        raise FileRejected(NOT_A_SURVEY_FILE.format(what="it is a zip archive, not a workbook"))
    # zipfile stops every member at its declared size, so these figures bound what is read.
    total = sum(m.file_size for m in members)
    too_big = (
        "This workbook would expand to more than {mb} MB when opened, which is more than "
        "a survey export needs. Save it as CSV, or remove unused sheets, and upload again."
    )
    if total > limit:
        raise FileRejected(too_big.format(mb=limit // (1024 * 1024)))
    for m in members:
        if m.file_size > COMPRESSION_RATIO_FLOOR and (
            m.file_size > MAX_COMPRESSION_RATIO * max(m.compress_size, 1)
        ):
            raise FileRejected(
                "This workbook is compressed suspiciously well (a part of it would expand more "
                f"than {MAX_COMPRESSION_RATIO} times), so it was not opened. Save it as CSV and "
                "upload again."
            )
    if limits is not None:
        with zipfile.ZipFile(path) as archive:
            for member in members:
                _scan_sheet_shape(archive, member, limits)


_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_ROW_TAG = f"{_MAIN_NS}}}row"
_CELL_TAG = f"{_MAIN_NS}}}c"
_CELL_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?\d*$")
ENTITIES_FORBIDDEN = (
    "This workbook contains XML constructs that are not allowed (entity declarations), "
    "so it was not opened. Save it again from Excel, or as CSV, and upload again."
)


def _scan_sheet_shape(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limits: Limits) -> None:
    """Stream one part of a workbook through expat, keeping nothing but counters, and refuse
    a worksheet row with too many cells (or a cell placed too far right), too many bytes, or
    too many rows. openpyxl builds each row's whole element tree before handing it over, so
    the declared sheet dimension (which a file may state falsely) is not relied on. Parts
    that are not XML stop the scan quietly: openpyxl cannot read them as a sheet either."""
    state = {"depth": 0, "rows": 0, "cells": 0, "start": 0}

    def start(name: str, attrs: dict[str, str]) -> None:
        if name == _ROW_TAG:
            state["depth"] += 1
            if state["depth"] > 1:
                return  # a row inside a row: its cells count towards the outer one
            state["rows"] += 1
            state["cells"] = 0
            state["start"] = parser.CurrentByteIndex
            number = attrs.get("r", "")
            # openpyxl yields an empty row for every row number skipped, so r counts too.
            if state["rows"] > limits.max_rows or (
                number.isdigit() and int(number) > limits.max_rows
            ):
                raise FileRejected(TOO_MANY_ROWS.format(limit=limits.max_rows))
        elif name == _CELL_TAG and state["depth"]:
            state["cells"] += 1
            ref = _CELL_REF.match(attrs.get("r", ""))
            # openpyxl pads a row with empty cells up to the last one's column.
            column = column_index_from_string(ref[1].upper()) if ref else 0
            if max(state["cells"], column) > limits.max_columns:
                raise FileRejected(
                    TOO_MANY_COLUMNS.format(row=state["rows"], limit=limits.max_columns)
                )

    def end(name: str) -> None:
        if name != _ROW_TAG or not state["depth"]:
            return
        state["depth"] -= 1
        if not state["depth"] and (
            parser.CurrentByteIndex - state["start"] > limits.max_line_bytes
        ):
            raise FileRejected(
                LINE_TOO_LONG.format(row=state["rows"], size=_size_text(limits.max_line_bytes))
            )

    def no_entities(*_args: object) -> None:
        raise FileRejected(ENTITIES_FORBIDDEN)

    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.EntityDeclHandler = no_entities
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        with archive.open(member) as part:
            while chunk := part.read(_CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except expat.ExpatError:
        return
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise FileRejected(NOT_A_SURVEY_FILE.format(what="it is a damaged zip archive")) from exc


def _require_safe_xml() -> None:
    if not XML_IS_SAFE:
        raise RuntimeError("openpyxl is not using defusedxml: refusing to read XLSX files")


@contextmanager
def _open_workbook(path: Path) -> Iterator[Workbook]:
    """A read-only workbook; the file is ours to close even when openpyxl fails halfway."""
    _require_safe_xml()
    with path.open("rb") as fh:
        try:
            with warnings.catch_warnings():
                _ignore_openpyxl_warnings()
                workbook = openpyxl.load_workbook(
                    fh, read_only=True, data_only=True, keep_links=False
                )
        except Exception as exc:  # defusedxml, zip, XML and openpyxl errors alike
            raise _unreadable_workbook(exc) from exc
        try:
            yield workbook
        finally:
            workbook.close()


def _ignore_openpyxl_warnings() -> None:
    # Exports from survey tools lack styles or carry extensions openpyxl does not support;
    # openpyxl says so with UserWarnings that mean nothing to a person importing answers.
    warnings.filterwarnings("ignore", category=UserWarning, module=r"openpyxl(\.|$)")


def _unreadable_workbook(exc: Exception) -> FileRejected:
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and cause not in chain:  # openpyxl re-raises as ValueError
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    if any(isinstance(e, DefusedXmlException) for e in chain):
        return FileRejected(
            "This workbook contains XML constructs that are not allowed (entity declarations), "
            "so it was not opened. Save it again from Excel, or as CSV, and upload again."
        )
    return FileRejected(
        "This workbook could not be read. Open it in Excel, save it again as .xlsx or as CSV, "
        "and upload again."
    )


def _first_non_empty_sheet(workbook: Workbook) -> str:
    try:
        with warnings.catch_warnings():
            _ignore_openpyxl_warnings()
            for sheet in workbook.worksheets:
                for row in sheet.iter_rows(values_only=True):
                    if any(_cell_text(v) for v in row):
                        return sheet.title
    except Exception as exc:
        raise _unreadable_workbook(exc) from exc
    raise FileRejected(EMPTY_FILE)


def _cell_text(value: object, number_format: str = "General") -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        fmt = number_format.lower()
        if value.time() == dt.time() and "h" not in fmt and "s" not in fmt:
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    return str(value).strip()


def _xlsx_rows(survey: SurveyFile, workbook: Workbook | None) -> Iterator[tuple[int, list[str]]]:
    if workbook is None:
        with _open_workbook(survey.path) as opened:
            yield from _xlsx_rows(survey, opened)
        return
    sheet = workbook[survey.sheet_name] if survey.sheet_name else workbook.worksheets[0]
    # Read-only sheets yield every row from row 1, filling gaps with empty rows, so
    # counting gives the row number Excel shows.
    rows = enumerate(sheet.iter_rows(min_row=1, min_col=1), start=1)
    while True:
        # Warnings are silenced around each batch, never across a yield to the caller.
        batch = []
        try:
            with warnings.catch_warnings():
                _ignore_openpyxl_warnings()
                for number, row in itertools.islice(rows, _XLSX_BATCH):
                    if number > survey.limits.max_rows:
                        raise FileRejected(TOO_MANY_ROWS.format(limit=survey.limits.max_rows))
                    if len(row) > survey.limits.max_columns:
                        raise FileRejected(
                            TOO_MANY_COLUMNS.format(row=number, limit=survey.limits.max_columns)
                        )
                    texts = [_cell_text(c.value, c.number_format or "") for c in row]
                    while texts and not texts[-1]:
                        texts.pop()
                    batch.append((number, texts))
        except FileRejected:
            raise
        except Exception as exc:
            raise _unreadable_workbook(exc) from exc
        if not batch:
            return
        yield from batch


# --------------------------------------------------------------------------- csv


class _BoundedLines:
    """The lines of a text file for ``csv.reader``, refusing a record (which may span lines)
    longer than the limit BEFORE it is read whole: ``readline`` is given what is left."""

    def __init__(self, fh: IO[str], limit: int) -> None:
        self._fh = fh
        self._limit = limit
        self.record_size = 0  # reset by the reader after each record
        self.record_number = 1
        self.nul = False  # whether a line read so far held a NUL character

    def __iter__(self) -> Iterator[str]:
        # A generator rather than __next__: csv.reader resumes it for every line, the hot
        # loop of a large import.
        readline, limit = self._fh.readline, self._limit
        while True:
            # A UTF-8 character takes at least one byte, so reading one character more than
            # the bytes left is enough to tell a line too long.
            line = readline(limit - self.record_size + 1)
            if not line:
                return
            self.record_size += (
                len(line) if line.isascii() else len(line.encode("utf-8", "surrogatepass"))
            )
            if self.record_size > limit:
                raise FileRejected(
                    LINE_TOO_LONG.format(row=self.record_number, size=_size_text(limit))
                )
            if "\x00" in line:
                self.nul = True
            yield line


def _csv_rows(survey: SurveyFile, *, clean: bool = True) -> Iterator[tuple[int, list[str]]]:
    """Each record as (row number, cells), its cells stripped and without NULs (as read when
    ``clean`` is False: for counting rows only)."""
    assert survey.encoding and survey.delimiter
    limits = survey.limits
    max_rows, max_columns = limits.max_rows, limits.max_columns
    strip = str.strip
    with survey.path.open(encoding=survey.encoding, newline="") as fh:
        lines = _BoundedLines(fh, limits.max_line_bytes)
        reader = csv.reader(lines, delimiter=survey.delimiter)
        number = 0
        try:
            for record in reader:
                number += 1
                if number > max_rows:
                    raise FileRejected(TOO_MANY_ROWS.format(limit=max_rows))
                if len(record) > max_columns:
                    raise FileRejected(TOO_MANY_COLUMNS.format(row=number, limit=max_columns))
                lines.record_size = 0
                lines.record_number = number + 1
                if not clean:
                    yield number, record
                elif lines.nul:
                    yield number, [cell.replace("\x00", "").strip() for cell in record]
                else:
                    yield number, list(map(strip, record))
        except csv.Error as exc:
            raise FileRejected(f"Row {number + 1} could not be read as CSV: {exc}.") from exc


def _raw_rows(survey: SurveyFile, workbook: Workbook | None) -> Iterator[tuple[int, list[str]]]:
    return _xlsx_rows(survey, workbook) if survey.kind == "xlsx" else _csv_rows(survey)
