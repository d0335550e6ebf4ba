"""Survey imports: stage an uploaded file, map its columns, check every row, commit all rows
or none, list the imports and undo one."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import json
import math
import queue
import re
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import chain
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from mls_tracker import access, audit, jobs
from mls_tracker.access import Action
from mls_tracker.extensions import db
from mls_tracker.formhelp import to_int
from mls_tracker.models import (
    ImportMapping,
    Job,
    Partnership,
    Region,
    StagedFile,
    SurveyFormat,
    SurveyImport,
    SurveyResponse,
    User,
    utcnow,
)
from mls_tracker.models.satisfaction import ImportState, SatisfactionMonth
from mls_tracker.periods import Month
from mls_tracker.services import satisfaction_months, staged_files, webhooks
from mls_tracker.services.errors import NotFound, ValidationFailed
from mls_tracker.services.survey_columns import values_fit
from mls_tracker.services.survey_files import (
    LEFT_OUT_KINDS,
    Column,
    FileRejected,
    Limits,
    SurveyFile,
    check_shape,
    excel_serial_datetime,
    open_survey_file,
)

# ----------------------------------------------------------------------------- constants

FIELDS = ("response_id", "submitted_at", "program", "region", "rating", "recommend", "comment")
FIELD_LABELS = {
    "response_id": "Response id",
    "submitted_at": "Submitted at",
    "program": "Program or course",
    "region": "Region",
    "rating": "Satisfaction rating (1–5)",
    "recommend": "Likelihood to recommend (0–10)",
    "comment": "Comment",
}
SCALES = {"rating": (1, 5), "recommend": (0, 10)}
# Scales a satisfaction question may be asked on: its answers are mapped linearly to 1–5.
RATING_SCALES = {"1-5": (1, 5), "1-7": (1, 7), "1-10": (1, 10), "0-10": (0, 10)}
RATING_SCALE_DEFAULT = "1-5"
DATE_ORDERS = ("auto", "dmy", "mdy")
BATCH_ROWS = 5_000
MAX_CHOICES = 50  # distinct answer texts per scale a person can reasonably map by hand
PROBLEMS_SHOWN = 500
PREVIEW_ROWS = 20
STAGED_TTL = dt.timedelta(hours=24)
STAGED_KIND = "survey"
# Clocks differ and times without a zone are taken as UTC: only this far ahead is "future".
FUTURE_SLACK = dt.timedelta(hours=14)
CHECK_JOB = "survey_import_check"
COMMIT_JOB = "survey_import"
ROLE_REFUSED = "Your role in this partnership does not allow this."

_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]")

# Column keys the survey tools use, by format: (response id, submitted at).
_TOOL_KEYS: dict[SurveyFormat, tuple[tuple[str, ...], tuple[str, ...]]] = {
    SurveyFormat.QUALTRICS: (
        ("ResponseId", "ResponseID", "_recordId"),
        ("RecordedDate", "EndDate"),
    ),
    SurveyFormat.SURVEYMONKEY: (
        ("Respondent ID", "RespondentID"),
        ("End Date", "EndDate", "Start Date", "StartDate"),
    ),
    SurveyFormat.MICROSOFT_FORMS: (("ID", "Id"), ("Completion time", "Start time")),
    SurveyFormat.GOOGLE_FORMS: ((), ("Timestamp",)),
    SurveyFormat.GENERIC: (("response_id",), ("submitted_at",)),
}
# Question-text keywords, in the order they are tried on each column.
_KEYWORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("recommend", re.compile(r"recommend|likely", re.I)),
    (
        "comment",
        re.compile(r"comment|feedback|why|suggest|improve|better|anything else|open-ended", re.I),
    ),
    ("rating", re.compile(r"satisf|rating|rate\b", re.I)),
    ("region", re.compile(r"region", re.I)),
    ("program", re.compile(r"program|course", re.I)),
    ("response_id", re.compile(r"response.?id|respondent.?id", re.I)),
    ("submitted_at", re.compile(r"submitted|completion time|end ?date|recorded", re.I)),
)

# Choice texts of the common scales → numbers (a leading number in the text wins first).
_RATING_WORDS = {
    "extremely satisfied": 5,
    "very satisfied": 5,
    "completely satisfied": 5,
    "satisfied": 4,
    "somewhat satisfied": 4,
    "moderately satisfied": 4,
    "neither satisfied nor dissatisfied": 3,
    "neither satisfied or dissatisfied": 3,
    "neutral": 3,
    "somewhat dissatisfied": 2,
    "moderately dissatisfied": 2,
    "dissatisfied": 2,
    "very dissatisfied": 1,
    "extremely dissatisfied": 1,
    "completely dissatisfied": 1,
    "excellent": 5,
    "very good": 4,
    "good": 4,
    "fair": 3,
    "average": 3,
    "poor": 2,
    "very poor": 1,
}
_RECOMMEND_WORDS = {
    "extremely likely": 10,
    "not at all likely": 0,
    "not likely at all": 0,
}
# Answers that say the question was not answered: stored as no answer to that question (the
# row still counts for the other one), never refused as "not a number".
NO_ANSWER_TEXTS = frozenset(
    {
        "n/a",
        "na",
        "n.a.",
        "n.a",
        "not applicable",
        "does not apply",
        "doesn't apply",
        "don't know",
        "dont know",
        "do not know",
        "i don't know",
        "i do not know",
        "not sure",
        "no opinion",
        "prefer not to say",
        "prefer not to answer",
        "no answer",
        "-",
        "–",
        "—",
    }
)
_NO_ANSWER_PREFIX = re.compile(r"^\s*-?\d{1,3}\s*[-–—:=]\s*")
_LEADING_NUMBER = re.compile(r"^\s*(\d{1,2})(?:\.0+)?(?:\s*[-–—:=(]|\s*$|\s+\D)")


def clock() -> dt.datetime:
    """Now, for the "not in the future" rule (tests set it to a fixed moment)."""
    return utcnow()


# ----------------------------------------------------------------------------- errors


class UploadNotFound(LookupError):
    """No staged upload with this token in this partnership (or it has expired)."""


# ----------------------------------------------------------------------------- staging


@dataclass(frozen=True)
class StagedUpload:
    """An upload kept in the database (``services.staged_files``) until it is imported or
    expires, so that its check and import run on any worker."""

    token: str
    partnership_id: int
    uploader_id: int | None
    file_name: str  # for display only: never part of a path
    size: int
    sha256: str
    created_at: dt.datetime

    @property
    def data_path(self) -> Path:
        """A local copy of the file (fetched from the database on this machine's first
        use); UploadNotFound when the upload is gone."""
        path = staged_files.local_copy(self.token)
        if path is None:
            raise UploadNotFound(self.token)
        return path


def upload_limit() -> int:
    """The largest upload accepted, in bytes (MAX_UPLOAD_MB)."""
    return int(current_app.config.get("MAX_CONTENT_LENGTH") or 50 * 1024 * 1024)


def file_limits() -> Limits:
    """The shape limits of survey files (SURVEY_MAX_COLUMNS, _ROWS, _LINE_BYTES, _HEADER_BYTES)."""
    config = current_app.config
    defaults = Limits()
    return Limits(
        max_columns=int(config.get("SURVEY_MAX_COLUMNS") or defaults.max_columns),
        max_rows=int(config.get("SURVEY_MAX_ROWS") or defaults.max_rows),
        max_line_bytes=int(config.get("SURVEY_MAX_LINE_BYTES") or defaults.max_line_bytes),
        max_header_bytes=int(config.get("SURVEY_MAX_HEADER_BYTES") or defaults.max_header_bytes),
    )


def upload_limit_text() -> str:
    size = upload_limit()
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    return f"{size / 1024:g} KB"


def display_name(file_name: str | None) -> str:
    """A file name fit to show and store: no folders, no control characters, ≤ 255 chars."""
    name = re.split(r"[\\/]", file_name or "")[-1]
    name = _UNSAFE_NAME.sub("", name).strip()
    return name[-255:] or "upload"


def sweep_staged(now: dt.datetime | None = None) -> int:
    """Remove expired staged uploads (a day after they were staged); returns how many."""
    return staged_files.sweep(now)


def stage_upload(
    actor: User, partnership_id: int, stream: IO[bytes], file_name: str | None
) -> StagedUpload:
    """Keep an uploaded file in the database and recognise it; a file that cannot be read
    is refused (FileRejected) and nothing is kept."""
    access.require(actor, Action.UPLOAD_SURVEYS, partnership_id, message=ROLE_REFUSED)
    sweep_staged()
    name = display_name(file_name)
    row = staged_files.receive(
        stream,
        kind=STAGED_KIND,
        partnership_id=partnership_id,
        user_id=actor.id,
        file_name=name,
        limit=upload_limit(),
        too_large=f"The file is larger than {upload_limit_text()}, the most this "
        "installation accepts. Split it into smaller files.",
        ttl=STAGED_TTL,
        # The whole file is read once here so that a row breaking the limits anywhere in it
        # is refused now, with nothing staged, rather than on the mapping page or in the check.
        check=lambda path: check_shape(open_survey_file(path, name, limits=file_limits())),
    )
    return _staged_view(row)


def _staged_view(row: StagedFile) -> StagedUpload:
    return StagedUpload(
        token=row.token,
        partnership_id=row.partnership_id,
        uploader_id=row.user_id,
        file_name=row.file_name,
        size=row.size,
        sha256=row.sha256,
        created_at=row.created_at,
    )


def get_staged(partnership_id: int, token: str) -> StagedUpload:
    """The staged upload ``token`` of this partnership; UploadNotFound otherwise."""
    row = staged_files.find(STAGED_KIND, partnership_id, token)
    if row is None:
        raise UploadNotFound(token)
    return _staged_view(row)


def discard_staged(staged: StagedUpload) -> None:
    staged_files.discard(staged.token)


def open_staged(staged: StagedUpload, file_format: SurveyFormat | None = None) -> SurveyFile:
    return open_survey_file(
        staged.data_path, staged.file_name, format=file_format, limits=file_limits()
    )


# ----------------------------------------------------------------------------- mapping


@dataclass
class Mapping:
    """Which column holds each field (by Column.key), choice texts → numbers, date order."""

    format: SurveyFormat
    columns: dict[str, str | None] = field(default_factory=dict)
    choices: dict[str, dict[str, int]] = field(default_factory=dict)
    date_order: str = "auto"
    rating_scale: str = RATING_SCALE_DEFAULT  # the scale the satisfaction question was asked on
    # Kinds of responses left out by default (survey_files.LEFT_OUT_KINDS) the lead includes.
    include: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "format": self.format.value,
            "columns": {name: self.columns.get(name) for name in FIELDS},
            "choices": {name: dict(values) for name, values in self.choices.items()},
            "date_order": self.date_order,
            **(
                {"rating_scale": self.rating_scale}
                if self.rating_scale != RATING_SCALE_DEFAULT
                else {}
            ),
            **({"include": list(self.include)} if self.include else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Mapping:
        columns = data.get("columns") or {}
        return cls(
            format=SurveyFormat(data["format"]),
            columns={name: columns.get(name) or None for name in FIELDS},
            choices={
                name: {str(text): int(number) for text, number in values.items()}
                for name, values in (data.get("choices") or {}).items()
                if name in SCALES
            },
            date_order=data.get("date_order") if data.get("date_order") in DATE_ORDERS else "auto",
            rating_scale=data.get("rating_scale")
            if data.get("rating_scale") in RATING_SCALES
            else RATING_SCALE_DEFAULT,
            include=tuple(k for k in LEFT_OUT_KINDS if k in (data.get("include") or ())),
        )

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.as_json(), sort_keys=True).encode()).hexdigest()

    @property
    def scale_note(self) -> str | None:
        """What the pages say when the satisfaction question's scale is not 1–5."""
        return scale_note(self.rating_scale)


def saved_mapping(partnership_id: int, file_format: SurveyFormat) -> ImportMapping | None:
    return db.session.scalar(
        sa.select(ImportMapping).where(
            ImportMapping.partnership_id == partnership_id,
            ImportMapping.file_format == file_format,
        )
    )


def _guess_columns(file: SurveyFile) -> dict[str, str | None]:
    keys = {column.key for column in file.columns}
    chosen: dict[str, str | None] = dict.fromkeys(FIELDS)
    ids, times = _TOOL_KEYS[file.format]
    chosen["response_id"] = next((k for k in ids if k in keys), None)
    chosen["submitted_at"] = next((k for k in times if k in keys), None)
    by_name = {column.key.strip().lower(): column.key for column in file.columns}
    for name in FIELDS:  # the generic headings, wherever they appear
        if chosen[name] is None and name in by_name:
            chosen[name] = by_name[name]
    used = {key for key in chosen.values() if key}
    for column in file.columns:
        if column.key in used:
            continue
        if column.samples and all(sample.isdigit() for sample in column.samples):
            coded = {"region", "program", "comment"}  # numeric codes of a choice question
        else:
            coded = set()
        text = f"{column.key} {column.label}"
        # The first keyword that matches, among the fields the column's answers fit, decides
        # what the column is about ("How likely …" answered 1–5 is not a recommend score).
        values = column.values or column.samples
        name = next(
            (
                name
                for name, pattern in _KEYWORDS
                if pattern.search(text) and values_fit(name, values, _scale_number)
            ),
            None,
        )
        if name is not None and chosen[name] is None and name not in coded:
            chosen[name] = column.key
            used.add(column.key)
    return chosen


def _scale_number(name: str, text: str) -> int | None:
    """The number an answer stands for on ``name``'s scale, for the column guesser."""
    number = _whole_number(text)
    return number if number is not None else default_choice(name, text)


def default_mapping(file: SurveyFile, saved: ImportMapping | None) -> Mapping:
    """The mapping to propose: the remembered one where its columns are in this file, the
    rest guessed from the format's column names and the question texts."""
    guessed = _guess_columns(file)
    if saved is None:
        return Mapping(format=file.format, columns=guessed)
    remembered = Mapping.from_json({**saved.mapping, "format": file.format.value})
    keys = {column.key for column in file.columns}
    columns = {
        name: (key if key in keys else guessed[name]) for name, key in remembered.columns.items()
    }
    return Mapping(
        format=file.format,
        columns=columns,
        choices=remembered.choices,
        date_order=remembered.date_order,
        rating_scale=remembered.rating_scale,
        include=remembered.include,
    )


def default_choice(name: str, text: str) -> int | None:
    """The number a choice text stands for on the ``rating`` or ``recommend`` scale."""
    low, high = SCALES[name]
    match = _LEADING_NUMBER.match(text)
    if match:
        number = int(match.group(1))
        return number if low <= number <= high else None
    words = _RATING_WORDS if name == "rating" else _RECOMMEND_WORDS
    return words.get(" ".join(text.lower().replace("’", "'").split()))


def is_no_answer(text: str) -> bool:
    """Whether an answer text means "no answer" (N/A, Not applicable, Don't know …), also
    behind a choice code ("6 - Not applicable")."""
    words = " ".join(text.lower().replace("’", "'").split())
    choice = _NO_ANSWER_PREFIX.sub("", words, count=1)
    return any(
        candidate in NO_ANSWER_TEXTS
        for candidate in (words, words.rstrip("."), choice, choice.rstrip("."))
    )


def _whole_number(text: str) -> int | None:
    number = to_int(text)
    if number is not None:
        return number
    try:
        decimal = float(text.replace(",", "."))
    except ValueError:
        return None
    return int(decimal) if decimal.is_integer() else None


@dataclass
class FileFacts:
    """What the mapping page must ask about: answer texts that are not numbers, and
    whether the dates say which of day and month comes first."""

    choice_values: dict[str, list[str]]
    date_order_found: str | None  # "dmy" | "mdy" | None when no date decides it
    local_dates: bool  # any date written as dd/mm/yyyy or mm/dd/yyyy


_LOCAL_DATE = re.compile(
    r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})"
    r"(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp][Mm]))?)?$"
)


def check_mapping(file: SurveyFile, mapping: Mapping) -> None:
    """Required columns are mapped and exist: ONE message naming every missing one."""
    keys = {column.key for column in file.columns}
    missing = []
    for name, key in mapping.columns.items():
        if key and key not in keys:
            missing.append(f"{FIELD_LABELS[name]} (column “{key}”)")
    if not mapping.columns.get("submitted_at"):
        missing.insert(0, FIELD_LABELS["submitted_at"])
    if not (mapping.columns.get("rating") or mapping.columns.get("recommend")):
        missing.append(f"{FIELD_LABELS['rating']} or {FIELD_LABELS['recommend'].lower()}")
    if missing:
        raise ValidationFailed(
            "Required columns are missing: " + "; ".join(missing) + ". Choose the column "
            "holding each, or add it to the file.",
        )


def scan_file(file: SurveyFile, mapping: Mapping) -> FileFacts:
    """One pass over the mapped rating, recommend and submitted-at columns."""
    index = _column_index(file.columns)
    scales = [
        (name, index[key]) for name in SCALES if (key := mapping.columns.get(name)) and key in index
    ]
    date_key = mapping.columns.get("submitted_at")
    date_column = index.get(date_key) if date_key else None
    found: dict[str, dict[str, None]] = {name: {} for name, _ in scales}
    first_over_12 = second_over_12 = local = False
    for _, cells in file.rows():
        for name, position in scales:
            text = cells[position]
            if (
                text
                and text not in found[name]
                and _whole_number(text) is None
                and not is_no_answer(text)
            ):
                found[name][text] = None
                if len(found[name]) > MAX_CHOICES:
                    raise ValidationFailed(
                        f"The column mapped to {FIELD_LABELS[name].lower()} holds more than "
                        f"{MAX_CHOICES} different answers that are not numbers: it is probably "
                        "not that question. Choose another column.",
                        field=name,
                    )
        if date_column is not None:
            match = _LOCAL_DATE.match(cells[date_column])
            if match:
                local = True
                first_over_12 |= int(match.group(1)) > 12
                second_over_12 |= int(match.group(2)) > 12
    order = "dmy" if first_over_12 else "mdy" if second_over_12 else None
    return FileFacts(
        choice_values={
            name: sorted(values, key=_choice_order(name)) for name, values in found.items()
        },
        date_order_found=order,
        local_dates=local,
    )


def _choice_order(name: str) -> Callable[[str], tuple]:
    def key(text: str) -> tuple:
        number = default_choice(name, text)
        return (number is None, -(number or 0), text.lower())

    return key


def resolve_date_order(mapping: Mapping, facts: FileFacts) -> str | None:
    """The day/month order to read local dates with, or None when the user must choose."""
    if mapping.date_order != "auto":
        return mapping.date_order
    if not facts.local_dates:
        return "dmy"  # nothing ambiguous to read
    return facts.date_order_found


def save_mapping(actor: User, partnership_id: int, mapping: Mapping) -> None:
    """Remember the mapping for the next file of this format (committed by the caller)."""
    access.require(actor, Action.UPLOAD_SURVEYS, partnership_id, message=ROLE_REFUSED)
    stored = saved_mapping(partnership_id, mapping.format)
    data = mapping.as_json()
    if stored is None:
        db.session.add(
            ImportMapping(partnership_id=partnership_id, file_format=mapping.format, mapping=data)
        )
    elif stored.mapping != data:
        stored.mapping = data


def store_mapping(staged: StagedUpload, mapping: Mapping, order: str | None) -> None:
    """Keep the mapping chosen for a staged upload (and the date order it resolved to)."""
    data = {"mapping": mapping.as_json(), "order": order}
    staged_files.update(staged.token, mapping=data, check=None)


def staged_mapping(staged: StagedUpload) -> tuple[Mapping, str | None] | None:
    try:
        data = staged_files.notes(staged.token)["mapping"]
        return Mapping.from_json(data["mapping"]), data.get("order")
    except (OSError, ValueError, KeyError, TypeError):
        return None


@functools.cache  # a handful of answers per scale: the exact arithmetic once each, not per row
def to_five(number: int, scale: str) -> int:
    """An answer on ``scale`` (RATING_SCALES) mapped linearly to 1–5, rounded half up:
    the low end is 1, the high end 5 (on 1–10: 1–2 → 1, 3–4 → 2, 5–6 → 3, 7–8 → 4, 9–10 → 5)."""
    low, high = RATING_SCALES[scale]
    exact = 1 + Fraction(4 * (number - low), high - low)
    return math.floor(exact + Fraction(1, 2))


def scale_label(scale: str) -> str:
    low, high = RATING_SCALES[scale]
    return f"{low}–{high}"


def scale_note(scale: str) -> str | None:
    """What the pages say about a satisfaction question asked on another scale than 1–5."""
    if scale == RATING_SCALE_DEFAULT or scale not in RATING_SCALES:
        return None
    low, high = RATING_SCALES[scale]
    groups: dict[int, list[int]] = {}
    for answer in range(low, high + 1):
        groups.setdefault(to_five(answer, scale), []).append(answer)
    parts = ", ".join(
        f"{a[0]}–{a[-1]} → {five}" if len(a) > 1 else f"{a[0]} → {five}"
        for five, a in groups.items()
    )
    return (
        f"Satisfaction was asked on a {scale_label(scale)} scale and mapped linearly to the "
        f"1–5 figures, rounded half up: {parts}."
    )


def scale_found(low: int, high: int) -> str | None:
    """The smallest known scale holding every rating from ``low`` to ``high``, if any."""
    fits = [
        name
        for name, (start, end) in RATING_SCALES.items()
        if start <= low and high <= end and (start == 1 or low == 0)
    ]
    return min(fits, key=lambda name: RATING_SCALES[name][1] - RATING_SCALES[name][0], default=None)


# Returned by RowReader.parse for a respondent who answered neither question: left out and
# counted, never a reason to refuse the file.
NO_ANSWER = "no rating or recommend answer"


# ----------------------------------------------------------------------------- parsing rows


@dataclass(frozen=True, slots=True)
class Problem:
    row: int | None
    message: str
    field: str | None = None  # the response field (FIELDS) it is about; None: the whole row/file

    def numbered(self) -> str:
        return f"Row {self.row}: {self.message}" if self.row else self.message


@dataclass(slots=True)
class ParsedRow:
    row: int
    key: str
    response_id: str | None
    submitted_at: dt.datetime
    program: str | None
    region_id: int | None
    region_name: str | None
    rating: int | None
    recommend: int | None
    comment: str | None
    # Without response ids: the key rows imported before 2026-12 were stored under (a hash
    # of the mapped cells), so that re-importing such a file still adds nothing.
    legacy_key: str | None = None

    @property
    def month(self) -> Month:
        """The UTC month of submission: the month the response counts in."""
        return Month(self.submitted_at.year, self.submitted_at.month)


def _column_index(columns: Sequence[Column]) -> dict[str, int]:
    index: dict[str, int] = {}
    for column in columns:
        index.setdefault(column.key, column.index)
    return index


def parse_when(text: str, order: str | None, zone: dt.tzinfo = dt.UTC) -> dt.datetime:
    """A submitted-at text → aware UTC datetime. ISO 8601 (offsets converted), or a local
    dd/mm/yyyy or mm/dd/yyyy form read in ``order``; a time without an offset is in ``zone``
    (the zone the export names, else UTC). ValueError else."""
    if text[4:5] == "-" and text[:4].isdigit():  # ISO 8601, the common case
        value = dt.datetime.fromisoformat(text)
        if value.tzinfo is None:
            if zone is dt.UTC:
                return value.replace(tzinfo=dt.UTC)
            return value.replace(tzinfo=zone).astimezone(dt.UTC)
        return value.astimezone(dt.UTC)
    # (An Excel serial starts with five digits, so it never reaches the branch above.)
    serial = excel_serial_datetime(text)  # 45597.145833: a date Excel stored as a number
    if serial is not None:
        return serial.replace(tzinfo=zone).astimezone(dt.UTC)
    match = _LOCAL_DATE.match(text)
    if match:
        if order is None:
            raise ValueError("ambiguous")
        first, second, year, hour, minute, second_s, half = match.groups()
        day, month = (int(first), int(second)) if order == "dmy" else (int(second), int(first))
        year_n = int(year) + (2000 if len(year) == 2 else 0)
        hour_n = int(hour or 0)
        if half:
            if not 1 <= hour_n <= 12:
                raise ValueError("hour")
            hour_n = hour_n % 12 + (12 if half.lower() == "pm" else 0)
        return dt.datetime(
            year_n, month, day, hour_n, int(minute or 0), int(second_s or 0), tzinfo=zone
        ).astimezone(dt.UTC)
    value = dt.datetime.fromisoformat(text.replace("/", "-") if text[:4].isdigit() else text)
    if value.tzinfo is None:
        return value.replace(tzinfo=zone).astimezone(dt.UTC)
    return value.astimezone(dt.UTC)


# What a row's problem says to do about a choice text that is not a number.
CHOICE_HINT = "give it one on the mapping page"


class RowReader:
    """Turns a file's rows into values as they will be stored, or problems: the one row
    validation, for files and for responses pushed through the API alike."""

    def __init__(
        self,
        columns: Sequence[Column],
        mapping: Mapping,
        regions: Iterable[Region],
        order: str | None,
        *,
        choice_hint: str = CHOICE_HINT,
    ) -> None:
        index = _column_index(columns)
        self.positions = {
            name: index[key] for name, key in mapping.columns.items() if key and key in index
        }
        self.mapped = [self.positions[name] for name in FIELDS if name in self.positions]
        self.choices = {name: dict(mapping.choices.get(name, {})) for name in SCALES}
        self.rating_scale = (
            mapping.rating_scale if mapping.rating_scale in RATING_SCALES else RATING_SCALE_DEFAULT
        )
        # Numeric ratings outside the declared scale, and the range of every numeric rating
        # (``rating_range``: those read through _scale, and the plain ones met).
        self.ratings_outside = 0
        self._range: tuple[int, int] | None = None
        # The answers most files hold, read at once in the hot loop: each scale's whole
        # numbers written plainly ("4"), unless given a number on the mapping page.
        self._plain = {name: self._plain_answers(name) for name in SCALES}
        self._plain_ratings: set[str] = set()
        self.order = order
        self.regions: dict[str, tuple[int, str]] = {}
        for region in regions:
            self.regions[region.name.strip().lower()] = (region.id, region.name)
        self.region_names = ", ".join(sorted(name for _, name in self.regions.values()))
        self.latest = clock() + FUTURE_SLACK
        # Rows without a response id: how often each whole raw row was met so far.
        self.occurrences: dict[str, int] = {}
        self.choice_hint = choice_hint
        column = next((c for c in columns if c.index == self.positions.get("submitted_at")), None)
        self.zone: dt.tzinfo = ZoneInfo(column.timezone) if column and column.timezone else dt.UTC

    def _plain_answers(self, name: str) -> dict[str, int]:
        """Text → stored value of the whole numbers on ``name``'s scale, as _scale reads them."""
        if name == "rating":
            low, high = RATING_SCALES[self.rating_scale]
        else:
            low, high = SCALES[name]
        plain = {}
        for number in range(low, high + 1):
            if str(number) not in self.choices[name]:
                converted = name == "rating" and self.rating_scale != RATING_SCALE_DEFAULT
                plain[str(number)] = to_five(number, self.rating_scale) if converted else number
        return plain

    @property
    def rating_range(self) -> tuple[int, int] | None:
        """The lowest and highest numeric rating read so far, None before any."""
        numbers = [int(text) for text in self._plain_ratings]
        numbers += self._range or ()
        return (min(numbers), max(numbers)) if numbers else None

    def _scale(self, name: str, text: str, problems: list[tuple[str, str]]) -> int | None:
        if not text:
            return None
        try:
            number: int | None = int(text)
        except ValueError:
            number = _whole_number(text)
        if number is None:
            number = self.choices[name].get(text)
            if number is None and is_no_answer(text):
                return None  # N/A, Don't know …: no answer to this question
            if number is None:
                problems.append(
                    (
                        name,
                        f"{FIELD_LABELS[name].split(' (')[0].lower()} “{text}” is not a number; "
                        + self.choice_hint,
                    )
                )
                return None
        if name == "rating" and text not in self.choices[name]:
            seen = self._range
            if seen is None:
                self._range = (number, number)
            elif number < seen[0] or number > seen[1]:
                self._range = (min(seen[0], number), max(seen[1], number))
            low, high = RATING_SCALES[self.rating_scale]
            if not low <= number <= high:
                self.ratings_outside += 1
                problems.append((name, f"satisfaction rating {text} is outside {low}–{high}"))
                return None
            return (
                number
                if self.rating_scale == RATING_SCALE_DEFAULT
                else to_five(number, self.rating_scale)
            )
        low, high = SCALES[name]
        if not low <= number <= high:
            label = FIELD_LABELS[name].split(" (")[0].lower()
            problems.append((name, f"{label} {text} is outside {low}–{high}"))
            return None
        return number

    def _when(self, text: str, problems: list[tuple[str, str]]) -> dt.datetime | None:
        if not text:
            problems.append(("submitted_at", "submitted at is empty"))
            return None
        try:
            when = parse_when(text, self.order, self.zone)
        except ValueError:
            problems.append(("submitted_at", f"submitted at “{text}” is not a date and time"))
            return None
        if when > self.latest:
            problems.append(("submitted_at", f"submitted at {text} is in the future"))
            return None
        return when

    def row_key(self, cells: list[str]) -> str:
        """A row's identity when the file has no response id: a fingerprint of the WHOLE raw
        row (every cell, mapped or not) and how many times that very row came before it in
        the file. The same file imported twice adds nothing whatever the mapping; identical
        rows of different people (same time, same answers) stay distinct responses."""
        digest = hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode()).hexdigest()
        seen = self.occurrences.get(digest, 0) + 1
        self.occurrences[digest] = seen
        return f"row:{digest}:{seen}"

    def parse(self, number: int, cells: list[str]) -> ParsedRow | list[Problem] | str:
        """The row's values, or its problems (each naming its field), or NO_ANSWER for a
        respondent who answered neither question (whatever else the row holds)."""
        problems: list[tuple[str, str]] = []
        at = self.positions.get  # the cell index of each mapped field
        id_at = at("response_id")
        row_key = None if id_at is not None else self.row_key(cells)
        text = cells[self.positions["submitted_at"]]
        when = None
        # The common case inline (a past ISO 8601 time without an offset, read as UTC); any
        # other text goes through _when, which says what is wrong with it.
        if self.zone is dt.UTC and text[4:5] == "-" and text[:4].isdigit():
            try:
                value = dt.datetime.fromisoformat(text)
            except ValueError:
                pass
            else:
                if value.tzinfo is None:
                    value = value.replace(tzinfo=dt.UTC)
                    if value <= self.latest:
                        when = value
        if when is None:
            when = self._when(text, problems)
        answered = len(problems)  # problems before reading the two answers
        rating_at, recommend_at = at("rating"), at("recommend")
        rating = recommend = None
        if rating_at is not None:
            answer = cells[rating_at]
            rating = self._plain["rating"].get(answer)
            if rating is None:
                rating = self._scale("rating", answer, problems)
            else:
                self._plain_ratings.add(answer)
        if recommend_at is not None:
            answer = cells[recommend_at]
            recommend = self._plain["recommend"].get(answer)
            if recommend is None:
                recommend = self._scale("recommend", answer, problems)
        if rating is None and recommend is None and len(problems) == answered:
            return NO_ANSWER
        region_id = region_name = None
        region_at = at("region")
        if region_at is not None and (text := cells[region_at]):
            found = self.regions.get(text.lower())
            if found is None:
                problems.append(
                    (
                        "region",
                        f"region “{text}” is not one of this partnership's regions "
                        f"({self.region_names or 'none defined'})",
                    )
                )
            else:
                region_id, region_name = found
        program_at = at("program")
        program = cells[program_at] or None if program_at is not None else None
        if program and len(program) > 200:
            problems.append(("program", "program is longer than 200 characters"))
        response_id = cells[id_at] if id_at is not None else None
        if response_id is not None:
            if not response_id:
                problems.append(("response_id", "response id is empty"))
            elif len(response_id) > 128:
                problems.append(("response_id", "response id is longer than 128 characters"))
        if problems:
            return [Problem(number, message, name) for name, message in problems]
        legacy_key = None
        if response_id:
            key = response_id
        else:
            assert row_key is not None
            key = row_key
            raw = "\x1f".join(cells[i] for i in self.mapped)
            legacy_key = "sha256:" + hashlib.sha256(raw.encode()).hexdigest()
        comment_at = at("comment")
        comment = cells[comment_at] or None if comment_at is not None else None
        assert when is not None
        # Positional: the fields in ParsedRow's order (the hot path of a large import).
        return ParsedRow(
            number,
            key,
            response_id,
            when,
            program,
            region_id,
            region_name,
            rating,
            recommend,
            comment,
            legacy_key,
        )


def partnership_regions(partnership_id: int) -> list[Region]:
    partnership = db.session.get(Partnership, partnership_id)
    return list(partnership.regions) if partnership else []


def preview_rows(
    file: SurveyFile,
    mapping: Mapping,
    partnership_id: int,
    order: str | None,
    limit: int = PREVIEW_ROWS,
) -> list[ParsedRow | Problem]:
    """The first rows as they will be stored (or their problems)."""
    reader = RowReader(file.columns, mapping, partnership_regions(partnership_id), order)
    shown: list[ParsedRow | Problem] = []
    rows = file.rows()
    try:
        for number, cells in rows:
            parsed = reader.parse(number, cells)
            if parsed is NO_ANSWER:
                continue  # left out of the import (the check counts them)
            shown.append(
                parsed
                if isinstance(parsed, ParsedRow)
                else Problem(number, "; ".join(p.message for p in parsed))
            )
            if len(shown) >= limit:
                break
    finally:
        close = getattr(rows, "close", None)
        if close:
            close()
    return shown


# --------------------------------------------------------------- checking and committing


@dataclass
class Outcome:
    rows: int = 0
    new: int = 0
    duplicates: int = 0
    errors: int = 0  # rows with at least one problem
    problems: list[Problem] = field(default_factory=list)  # the first PROBLEMS_SHOWN
    problem_count: int = 0
    no_answer: int = 0  # respondents who answered neither question: left out, counted
    # Responses that are not learners' finished answers (test, preview, spam, unfinished),
    # by kind: left out of ``rows``, or included in them because the lead chose so.
    left_out: dict[str, int] = field(default_factory=dict)
    included: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "new": self.new,
            "duplicates": self.duplicates,
            "errors": self.errors,
            "problem_count": self.problem_count,
            "no_answer": self.no_answer,
            "problems": [[p.row, p.message] for p in self.problems],
            "left_out": self.left_out,
            "included": self.included,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outcome:
        return cls(
            rows=data["rows"],
            new=data["new"],
            duplicates=data["duplicates"],
            errors=data["errors"],
            problem_count=data["problem_count"],
            no_answer=data.get("no_answer", 0),
            problems=[Problem(row, message) for row, message in data["problems"]],
            left_out=data.get("left_out") or {},
            included=data.get("included") or {},
        )


Progress = Callable[[int, int | None, str], None]


class ProblemLog:
    """Keeps the first problems in memory and, optionally, all of them in a CSV file."""

    def __init__(
        self, outcome: Outcome, path: Path | None, shown: int | None = PROBLEMS_SHOWN
    ) -> None:
        self.outcome = outcome
        self.shown = shown  # None: keep every problem in memory
        self.handle = path.open("w", newline="", encoding="utf-8") if path else None
        self.writer = csv.writer(self.handle) if self.handle else None
        if self.writer:
            self.writer.writerow(["row", "problem"])

    def add(self, problem: Problem, first: bool = False) -> None:
        self.outcome.problem_count += 1
        if first:  # a message about the whole file, shown before the rows' problems
            self.outcome.problems.insert(0, problem)
        elif self.shown is None or len(self.outcome.problems) < self.shown:
            self.outcome.problems.append(problem)
        if self.writer:
            self.writer.writerow([problem.row or "", problem.message])

    def close(self) -> None:
        if self.handle:
            self.handle.close()


def _existing_keys(
    partnership_id: int, keys: list[str], connection: sa.Connection | None = None
) -> set[str]:
    """Which of ``keys`` the partnership has already. Plain SQL with one marker per key:
    compiling an expanding IN of thousands of values costs more than the query itself."""
    if not keys:
        return set()
    connection = connection or db.session.connection()
    table = SurveyResponse.__tablename__
    if connection.dialect.name == "postgresql":
        # One array parameter: PostgreSQL plans it at once, whatever the number of keys.
        sql = (
            f"SELECT response_key FROM {table} WHERE partnership_id = %s AND response_key = ANY(%s)"  # noqa: S608, E501
        )
        return {row[0] for row in connection.exec_driver_sql(sql, (partnership_id, keys))}
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    found: set[str] = set()
    for start in range(0, len(keys), BATCH_ROWS):
        chunk = keys[start : start + BATCH_ROWS]
        sql = (
            f"SELECT response_key FROM {SurveyResponse.__tablename__} "  # noqa: S608
            f"WHERE partnership_id = {marker} AND response_key IN "
            f"({', '.join([marker] * len(chunk))})"
        )
        found.update(row[0] for row in connection.exec_driver_sql(sql, (partnership_id, *chunk)))
    return found


class _Inserter:
    """Batched inserts of survey responses through the session's connection, with values
    already in the dialect's storage form (the hot path of a large import).

    On PostgreSQL each batch is sent with COPY, on SQLite as multi-row INSERTs, by a
    background thread, so that the database's work on each batch (index updates, foreign-key
    checks) overlaps with parsing the next one here: both drivers let go of the GIL while the
    database works, once per statement. The session's connection is the thread's alone until
    close(); at most two batches wait in the queue, so memory stays bounded. A SQLite
    database in memory (one connection per thread) is written here, in this thread.

    On SQLite the INSERT itself skips the keys the partnership holds already (``ON CONFLICT
    DO NOTHING`` on the unique key) and counts them in ``skipped``: no query beforehand."""

    COLUMNS = (
        "partnership_id",
        "import_id",
        "response_key",
        "submitted_at",
        "month",
        "program",
        "region_id",
        "rating",
        "recommend",
        "comment",
    )

    def __init__(self, partnership_id: int, import_id: int) -> None:
        self.connection = db.session.connection()
        dialect = self.connection.dialect
        self.sqlite = dialect.name == "sqlite"
        self.postgresql = dialect.name == "postgresql"
        table, columns = SurveyResponse.__tablename__, ", ".join(self.COLUMNS)
        self.copy_sql = f"COPY {table} ({columns}) FROM STDIN"
        marker = "?" if dialect.paramstyle == "qmark" else "%s"
        self.sql = (
            f"INSERT INTO {table} ({columns}) "  # noqa: S608
            f"VALUES ({', '.join([marker] * len(self.COLUMNS))})"
        )
        self.partnership_id = partnership_id
        self.import_id = import_id
        self.skipped = 0  # rows whose key the partnership held (SQLite: found by the INSERT)
        self._rows_per_statement = 0
        if self.sqlite:
            raw = self.connection.connection.driver_connection
            try:
                variables = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
            except AttributeError:  # Python < 3.11: SQLite's own default before 3.32
                variables = 999
            self._rows_per_statement = max(1, min(BATCH_ROWS, variables // len(self.COLUMNS)))
        self.streaming = self.postgresql or (self.sqlite and _file_database(self.connection))
        self._queue: queue.Queue[list[tuple] | None] = queue.Queue(maxsize=2)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def skips_held(self) -> bool:
        """Whether the INSERT itself leaves out (and counts) the keys the partnership holds."""
        return self.sqlite

    def insert(self, rows: list[ParsedRow]) -> None:
        if not rows:
            return
        pid, iid = self.partnership_id, self.import_id
        if self.sqlite:
            # SQLAlchemy's own SQLite storage format for DateTime and Date.
            values = []
            for r in rows:
                # The UTC time without its "+00:00": SQLAlchemy's own SQLite format.
                stamp = r.submitted_at.isoformat(" ", "microseconds")[:26]
                values.append(
                    (
                        pid,
                        iid,
                        r.key,
                        stamp,
                        stamp[:8] + "01",
                        r.program,
                        r.region_id,
                        r.rating,
                        r.recommend,
                        r.comment,
                    )
                )
        else:
            values = [
                (
                    pid,
                    iid,
                    r.key,
                    r.submitted_at,
                    dt.date(r.submitted_at.year, r.submitted_at.month, 1),
                    r.program,
                    r.region_id,
                    r.rating,
                    r.recommend,
                    r.comment,
                )
                for r in rows
            ]
        if self.streaming:
            self._in_background(values)
        elif self.sqlite:
            self._write_sqlite(values)
        else:
            self.connection.exec_driver_sql(self.sql, values)

    def _write(self, values: list[tuple]) -> None:
        if self.postgresql:
            raw = self.connection.connection.driver_connection
            with raw.cursor() as cursor, cursor.copy(self.copy_sql) as copy:
                for row in values:
                    copy.write_row(row)
        else:
            self._write_sqlite(values)

    def _write_sqlite(self, values: list[tuple]) -> None:
        """As few INSERTs as SQLite's limit on parameters allows, each of many rows: one
        statement, one release of the GIL, per few thousand rows."""
        cursor = self.connection.connection.driver_connection.cursor()
        try:
            step = self._rows_per_statement
            for start in range(0, len(values), step):
                chunk = values[start : start + step]
                cursor.execute(_sqlite_insert(len(chunk)), list(chain.from_iterable(chunk)))
                self.skipped += len(chunk) - cursor.rowcount
        finally:
            cursor.close()

    def _in_background(self, values: list[tuple]) -> None:
        if self._error is not None:
            raise self._error
        if self._thread is None:
            self._thread = threading.Thread(target=self._write_batches, daemon=True)
            self._thread.start()
        self._queue.put(values)

    def _write_batches(self) -> None:
        while (values := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain what is queued; the caller sees the error
            try:
                self._write(values)
            except BaseException as error:  # handed to the caller's thread
                self._error = error

    def close(self, error: BaseException | None = None) -> None:
        """Waits for the queued batches; re-raises the writing thread's error, if any,
        unless the caller is already failing with ``error``."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join()
        self._thread = None
        if error is None and self._error is not None:
            raise self._error


@functools.lru_cache(maxsize=8)
def _sqlite_insert(rows: int) -> str:
    """INSERT of ``rows`` responses in one statement, skipping keys the partnership holds."""
    one = f"({', '.join(['?'] * len(_Inserter.COLUMNS))})"
    return (
        f"INSERT INTO {SurveyResponse.__tablename__} ({', '.join(_Inserter.COLUMNS)}) "  # noqa: S608
        f"VALUES {', '.join([one] * rows)} "
        "ON CONFLICT (partnership_id, response_key) DO NOTHING"
    )


def _file_database(connection: sa.Connection) -> bool:
    """Whether every connection of the engine opens the same SQLite database (a file, not
    memory): another thread may then write through this one's connection."""
    url = connection.engine.url
    database = url.database or ""
    return database not in ("", ":memory:") and "mode=memory" not in str(url)


def process_file(
    file: SurveyFile,
    mapping: Mapping,
    partnership_id: int,
    *,
    order: str | None,
    import_id: int | None = None,
    problems_path: Path | None = None,
    progress: Progress | None = None,
    total: int | None = None,
) -> Outcome:
    """One streaming pass over a file: every row parsed and checked; with ``import_id``, new
    rows are inserted in batches into the current transaction (the caller rolls it back when
    the outcome has errors). Memory holds one batch and the keys seen so far."""
    check_mapping(file, mapping)
    reader = RowReader(file.columns, mapping, partnership_regions(partnership_id), order)
    outcome = Outcome()
    log = ProblemLog(outcome, problems_path)
    try:
        process_rows(
            file.rows(),
            reader,
            partnership_id,
            log,
            import_id=import_id,
            progress=progress,
            total=total,
        )
        if reader.ratings_outside:
            log.add(Problem(None, _scale_message(reader, outcome.rows)), first=True)
        outcome.left_out, outcome.included = dict(file.left_out), dict(file.included)
    finally:
        log.close()
    return outcome


def process_rows(
    rows: Iterable[tuple[int, list[str]]],
    reader: RowReader,
    partnership_id: int,
    log: ProblemLog,
    *,
    import_id: int | None = None,
    progress: Progress | None = None,
    total: int | None = None,
    where: Callable[[int], str] = "on row {}".format,
) -> None:
    """Every row (number, cells) parsed and checked into ``log.outcome``: problems logged,
    rows already in the partnership (or earlier in ``rows``) counted as duplicates; with
    ``import_id``, new rows inserted in batches into the current transaction while no row has
    a problem. A response id met twice in ``rows`` is a problem of the later row, saying
    ``where`` the first is."""
    outcome = log.outcome
    inserter = _Inserter(partnership_id, import_id) if import_id is not None else None
    seen: dict[str, int] = {}  # key → first row
    batch: list[ParsedRow] = []
    verb = "Importing" if inserter else "Checking"

    # While batches stream on the session's connection, look keys up on another one (it
    # sees committed rows; these rows' own keys are in ``seen``), opened when a key is first
    # looked up: on SQLite usually never (a new SQLite connection's set-up waits for the
    # write lock this import holds).
    lookups: list[sa.Connection] = []

    def lookup() -> sa.Connection | None:
        if inserter is None or not inserter.streaming:
            return None
        if not lookups:
            lookups.append(db.engine.connect())
        return lookups[0]

    def flush() -> None:
        # Where the INSERT leaves out the keys held already, only the keys rows without
        # response ids were stored under before 2026-12 are looked up (usually none); once a
        # row has a problem nothing is inserted, and every key is looked up to count.
        held_by_insert = inserter is not None and inserter.skips_held and not outcome.errors
        keys = [] if held_by_insert else [row.key for row in batch]
        keys += [row.legacy_key for row in batch if row.legacy_key]
        existing = _existing_keys(partnership_id, keys, lookup()) if keys else set()
        fresh = [row for row in batch if row.key not in existing and row.legacy_key not in existing]
        outcome.duplicates += len(batch) - len(fresh)
        outcome.new += len(fresh)
        if inserter is not None and not outcome.errors:
            inserter.insert(fresh)
        batch.clear()
        if progress:
            progress(outcome.rows, total, f"{verb}: {outcome.rows:,} rows read")

    try:
        for number, cells in rows:
            outcome.rows += 1
            parsed = reader.parse(number, cells)
            if parsed is NO_ANSWER:
                outcome.no_answer += 1
                continue
            if type(parsed) is list:
                outcome.errors += 1
                for problem in parsed:
                    log.add(problem)
                continue
            first = seen.get(parsed.key)
            if first is not None:
                if parsed.response_id:
                    outcome.errors += 1
                    message = f"response id “{parsed.key}” is also {where(first)}"
                    log.add(Problem(number, message, "response_id"))
                else:
                    outcome.duplicates += 1  # the very same answers twice
                continue
            seen[parsed.key] = number
            batch.append(parsed)
            if len(batch) >= BATCH_ROWS:
                flush()
        flush()
        if inserter is not None:
            inserter.close()
            # Counted as new when sent: those the INSERT found held are duplicates.
            outcome.new -= inserter.skipped
            outcome.duplicates += inserter.skipped
    except BaseException as error:
        if inserter is not None:
            inserter.close(error)
        raise
    finally:
        for connection in lookups:
            connection.close()


def _scale_message(reader: RowReader, rows: int) -> str:
    """The file-level message when ratings fall outside the declared scale: it names the
    scale the file's ratings fit, and how to declare it."""
    low, high = reader.rating_range or (0, 0)
    outside = reader.ratings_outside
    declared = scale_label(reader.rating_scale)
    found = scale_found(low, high)
    said = (
        f"Satisfaction ratings in this file run from {low} to {high}: {outside:,} of "
        f"{rows:,} row{'s' * (rows != 1)} {'are' if outside != 1 else 'is'} outside "
        f"{declared}, the scale chosen for the question."
    )
    if found is None:
        return (
            f"{said} That fits no scale MLS Tracker can map (1–5, 1–7, 1–10, 0–10): check the "
            "column mapped to the satisfaction rating."
        )
    return (
        f"{said} This looks like a {scale_label(found)} scale: choose “{scale_label(found)}” "
        "as the scale of the satisfaction question on the mapping page, and its answers are "
        "mapped linearly to the 1–5 figures."
    )


# ----------------------------------------------------------------------------- use cases


def _staged_file(staged: StagedUpload, mapping: Mapping) -> SurveyFile:
    try:
        file = open_staged(staged, mapping.format)
    except UploadNotFound as gone:
        raise ValidationFailed("This upload has expired. Upload the file again.") from gone
    file.include = frozenset(mapping.include)
    return file


def _order_for(file: SurveyFile, mapping: Mapping) -> str | None:
    if mapping.date_order != "auto":
        return mapping.date_order
    return resolve_date_order(mapping, scan_file(file, mapping))


def check_upload(
    actor: User,
    staged: StagedUpload,
    mapping: Mapping,
    order: str | None = None,
    progress: Progress | None = None,
) -> Outcome:
    """Check every row of a staged upload with a mapping; the outcome (and a CSV of every
    problem) are kept beside the upload for the preview page."""
    access.require(actor, Action.UPLOAD_SURVEYS, staged.partnership_id, message=ROLE_REFUSED)
    file = _staged_file(staged, mapping)
    with tempfile.TemporaryDirectory(prefix="mls-check-") as folder:
        problems = Path(folder) / "problems.csv"
        outcome = process_file(
            file,
            mapping,
            staged.partnership_id,
            order=order or _order_for(file, mapping),
            problems_path=problems,
            progress=progress,
        )
        staged_files.update(
            staged.token,
            check={"digest": mapping.digest(), "outcome": outcome.as_json()},
            problems_csv=problems.read_bytes(),
        )
    return outcome


def stored_check(staged: StagedUpload, mapping: Mapping) -> Outcome | None:
    """The outcome of the last check of this upload with this very mapping, if any."""
    data = staged_files.notes(staged.token).get("check")
    if not isinstance(data, dict) or data.get("digest") != mapping.digest():
        return None
    return Outcome.from_json(data["outcome"])


def problems_csv_path(staged: StagedUpload) -> Path | None:
    return staged_files.problems_copy(staged.token)


FILE_ADVICE = "Fix the file or the mapping and try again."


class ImportRefused(ValidationFailed):
    """The rows have problems: nothing was saved."""

    def __init__(self, outcome: Outcome, advice: str = FILE_ADVICE) -> None:
        rows = outcome.errors
        super().__init__(
            f"Nothing was saved: {rows:,} row{'s' * (rows != 1)} "
            f"{'have' if rows != 1 else 'has'} problems. {advice}"
        )
        self.outcome = outcome


def record_import(
    actor: User,
    partnership_id: int,
    run: Callable[[int], Outcome],
    *,
    advice: str = FILE_ADVICE,
    **fields: Any,
) -> tuple[SurveyImport, Outcome]:
    """A new import of ``actor`` (the SurveyImport ``fields``) filled by ``run(import_id)``,
    all rows or none: when any row has a problem the transaction is rolled back and
    ImportRefused raised. The governance rule lives here: a lead's import counts at once,
    anyone else's (a provider's) is proposed until a lead confirms it. The caller commits,
    acting as ``actor`` (``audit.acting_as``)."""
    lead = access.can(actor, Action.MANAGE, partnership_id)
    record = SurveyImport(
        partnership_id=partnership_id,
        uploaded_by_id=actor.id,
        state=ImportState.CONFIRMED if lead else ImportState.PROPOSED,
        confirmed_by_id=actor.id if lead else None,
        confirmed_at=utcnow() if lead else None,
        **fields,
    )
    db.session.add(record)
    db.session.flush()
    try:
        outcome = run(record.id)
    except BaseException:
        db.session.rollback()
        raise
    if outcome.errors:
        db.session.rollback()
        raise ImportRefused(outcome, advice)
    satisfaction_months.add_import(record.id)
    record.rows_added = outcome.new
    record.rows_skipped = outcome.duplicates
    return record, outcome


def commit_upload(
    actor: User,
    staged: StagedUpload,
    mapping: Mapping,
    order: str | None = None,
    progress: Progress | None = None,
    total: int | None = None,
) -> SurveyImport:
    """Import every row of a staged upload, or none: one transaction, rows already in the
    partnership skipped. Raises ImportRefused when any row has a problem."""
    access.require(actor, Action.UPLOAD_SURVEYS, staged.partnership_id, message=ROLE_REFUSED)
    file = _staged_file(staged, mapping)
    order = order or _order_for(file, mapping)
    if order is None:
        raise ValidationFailed("Choose whether dates are day-first or month-first.", "date_order")
    with audit.acting_as(actor.id):
        record, _ = record_import(
            actor,
            staged.partnership_id,
            lambda import_id: process_file(
                file,
                mapping,
                staged.partnership_id,
                order=order,
                import_id=import_id,
                progress=progress,
                total=total,
            ),
            file_name=staged.file_name,
            file_format=mapping.format,
            file_sha256=staged.sha256,
            rating_scale=None
            if mapping.rating_scale == RATING_SCALE_DEFAULT
            else mapping.rating_scale,
        )
        save_mapping(actor, staged.partnership_id, mapping)
        webhooks.emit_survey_import("survey_import.committed", record)
        db.session.commit()
    return record


def confirm_import(actor: User, partnership_id: int, import_id: int) -> SurveyImport:
    """A lead confirms a provider's proposed import: from now on its responses count in
    every figure (the partnership's cached figures are dropped with this audited write)."""
    access.require(actor, Action.MANAGE, partnership_id, message=ROLE_REFUSED)
    record = db.session.get(SurveyImport, import_id)
    if record is None or record.partnership_id != partnership_id:
        raise NotFound()
    if record.undone_at is not None:
        raise ValidationFailed("This import was undone: there is nothing to confirm.")
    if record.state is ImportState.CONFIRMED:
        raise ValidationFailed("This import was confirmed already.")
    with audit.acting_as(actor.id):
        record.state = ImportState.CONFIRMED
        record.confirmed_by_id = actor.id
        record.confirmed_at = utcnow()
        webhooks.emit_survey_import("survey_import.confirmed", record)
        db.session.commit()
    return record


@dataclass(frozen=True)
class ProposedResponses:
    """Responses of imports still waiting for a lead's confirmation: not counted anywhere."""

    responses: int
    imports: int

    def __bool__(self) -> bool:
        return self.responses > 0


def proposed_responses(
    partnership_id: int, first: Month | None = None, last: Month | None = None
) -> ProposedResponses:
    """How many responses (from ``first`` to ``last``) and imports are still proposed (from
    the monthly sums: one small query whatever the number of responses)."""
    m = SatisfactionMonth
    query = (
        sa.select(sa.func.sum(m.responses), sa.func.count(sa.distinct(m.import_id)))
        .join(SurveyImport, SurveyImport.id == m.import_id)
        .where(m.partnership_id == partnership_id, SurveyImport.state == ImportState.PROPOSED)
    )
    if first is not None:
        query = query.where(m.month >= first)
    if last is not None:
        query = query.where(m.month <= last)
    responses, imports = db.session.execute(query).one()
    return ProposedResponses(responses=int(responses or 0), imports=int(imports))


def undo_import(actor: User, partnership_id: int, import_id: int) -> int:
    """Remove every response of an import; the import stays in the history as undone."""
    access.require(actor, Action.MANAGE, partnership_id, message=ROLE_REFUSED)
    record = db.session.get(SurveyImport, import_id)
    if record is None or record.partnership_id != partnership_id:
        raise NotFound()
    if record.undone_at is not None:
        raise ValidationFailed("This import was undone already.")
    with audit.acting_as(actor.id):
        satisfaction_months.remove_import(record.id)
        removed = db.session.execute(
            sa.delete(SurveyResponse).where(SurveyResponse.import_id == record.id),
            execution_options={satisfaction_months.SUMS_KEPT: True},
        ).rowcount
        record.undone_at = utcnow()
        record.undone_by_id = actor.id
        db.session.commit()
    return removed


# ----------------------------------------------------------------------------- the pages' steps


class MappingNeeded(ValidationFailed):
    """The upload's mapping no longer fits its file: choose the columns again."""


class CheckNeeded(ValidationFailed):
    """The upload must be checked (again) with the mapping shown before it can be imported."""


@dataclass(frozen=True)
class Preview:
    """What the preview page shows of a staged upload and the mapping chosen for it."""

    file: SurveyFile
    mapping: Mapping
    order: str | None
    rows: list[ParsedRow | Problem]
    outcome: Outcome | None  # the last check with this very mapping, None until it ran
    check_job: jobs.JobView | None  # the check under way, while there is no outcome


@dataclass(frozen=True)
class ImportResult:
    job: jobs.JobView
    token: str | None  # a failed import's upload, still staged: it can be mapped again


def staged_upload(partnership_id: int, token: str) -> StagedUpload:
    """The staged upload ``token`` of this partnership; NotFound (answered 404) otherwise."""
    try:
        return get_staged(partnership_id, token)
    except UploadNotFound as exc:
        raise NotFound() from exc


def open_for_mapping(staged: StagedUpload, file_format: SurveyFormat | None) -> SurveyFile:
    """The staged file read as ``file_format`` (None: as recognised). A file that cannot be
    read is removed before FileRejected is raised: there is nothing left to map."""
    try:
        return open_staged(staged, file_format)
    except FileRejected:
        discard_staged(staged)
        raise


def proposed_mapping(staged: StagedUpload, file: SurveyFile) -> Mapping:
    """The mapping to show first: the one chosen for this upload when it is for the format
    the file is read as, otherwise the partnership's remembered one completed by guesses."""
    kept = staged_mapping(staged)
    if kept and kept[0].format is file.format:
        return kept[0]
    return default_mapping(file, saved_mapping(staged.partnership_id, file.format))


def submit_check(
    actor: User, partnership_id: int, token: str, mapping: Mapping, order: str | None
) -> int:
    """Keeps the mapping chosen for a staged upload and queues checking every row with it;
    the job's id."""
    access.require(actor, Action.UPLOAD_SURVEYS, partnership_id, message=ROLE_REFUSED)
    staged = staged_upload(partnership_id, token)
    store_mapping(staged, mapping, order)
    return jobs.submit(
        CHECK_JOB,
        partnership_id=partnership_id,
        user_id=actor.id,
        params={"token": staged.token, "mapping": mapping.as_json(), "order": order},
    )


def job_of(partnership_id: int, job_id: int | None, kind: str) -> jobs.JobView | None:
    """The job ``job_id`` when it is a ``kind`` job of this partnership, else None."""
    if job_id is None:
        return None
    view = jobs.get(job_id)
    if view is None or view.partnership_id != partnership_id or view.kind != kind:
        return None
    return view


def preview_upload(staged: StagedUpload, check_job_id: int | None = None) -> Preview | None:
    """The first rows of a staged upload read with its chosen mapping, and the last check's
    outcome (or the check job under way). None when no mapping was chosen yet; MappingNeeded
    when the chosen one no longer fits the file."""
    kept = staged_mapping(staged)
    if kept is None:
        return None
    chosen, order = kept
    try:
        file = open_staged(staged, chosen.format)
        file.include = frozenset(chosen.include)
        check_mapping(file, chosen)
    except ValidationFailed as error:
        raise MappingNeeded(str(error), error.field) from error
    outcome = stored_check(staged, chosen)
    return Preview(
        file=file,
        mapping=chosen,
        order=order,
        rows=preview_rows(file, chosen, staged.partnership_id, order),
        outcome=outcome,
        check_job=job_of(staged.partnership_id, check_job_id, CHECK_JOB)
        if outcome is None
        else None,
    )


def problems_csv(staged: StagedUpload) -> Path:
    """The CSV of every problem the last check found; NotFound before any check."""
    path = problems_csv_path(staged)
    if path is None:
        raise NotFound()
    return path


def submit_commit(actor: User, partnership_id: int, token: str, digest: str | None) -> int:
    """Queues importing a staged upload whose last check, with the very mapping the preview
    showed (``digest``; None when the form was not valid), found no row with a problem; the
    job's id. CheckNeeded or ValidationFailed say why nothing was queued."""
    access.require(actor, Action.UPLOAD_SURVEYS, partnership_id, message=ROLE_REFUSED)
    staged = staged_upload(partnership_id, token)
    kept = staged_mapping(staged)
    outcome = stored_check(staged, kept[0]) if kept else None
    if not digest or kept is None or outcome is None:
        raise CheckNeeded("Check the whole file before importing it.")
    chosen, order = kept
    if digest != chosen.digest():
        raise CheckNeeded("The mapping changed since this preview: check the file again.")
    if outcome.errors:
        raise ValidationFailed("Nothing can be imported while rows have problems.")
    return jobs.submit(
        COMMIT_JOB,
        partnership_id=partnership_id,
        user_id=actor.id,
        params={
            "token": staged.token,
            "mapping": chosen.as_json(),
            "order": order,
            "total": outcome.rows,
        },
    )


def job_token(job_id: int) -> str | None:
    job = db.session.get(Job, job_id)
    token = (job.params or {}).get("token") if job is not None else None
    return token if isinstance(token, str) else None


def retry_job(actor: User, partnership_id: int, job_id: int) -> jobs.JobView:
    """Queues again a failed check or import of this partnership (its worker stopped, say)
    while its upload is still staged; the job as it was. NotFound for another partnership's
    job, JobFailed when it has not failed, ValidationFailed when the upload has expired."""
    access.require(actor, Action.UPLOAD_SURVEYS, partnership_id, message=ROLE_REFUSED)
    view = jobs.get(job_id)
    if view is None or view.partnership_id != partnership_id:
        raise NotFound()
    if view.kind not in (CHECK_JOB, COMMIT_JOB):
        raise NotFound()
    token = job_token(job_id)
    try:
        get_staged(partnership_id, token or "")
    except UploadNotFound as gone:
        raise ValidationFailed("This upload has expired. Upload the file again.") from gone
    jobs.retry(job_id)
    return view


def import_result(partnership_id: int, job_id: int) -> ImportResult:
    """An import job of this partnership (NotFound otherwise) and, when it failed, the token
    of its upload if that is still staged."""
    job = job_of(partnership_id, job_id, COMMIT_JOB)
    if job is None:
        raise NotFound()
    token = job_token(job.id) if job.state == "failed" else None
    if token:
        try:
            get_staged(partnership_id, token)
        except UploadNotFound:
            token = None
    return ImportResult(job=job, token=token or None)


# ----------------------------------------------------------------------------- history


@dataclass(frozen=True)
class ImportView:
    id: int
    file_name: str
    format: str
    uploaded_by: str | None
    uploaded_by_id: int | None
    created_at: dt.datetime
    rows_added: int
    rows_skipped: int
    undone_at: dt.datetime | None
    undone_by: str | None
    confirmed: bool = True
    confirmed_at: dt.datetime | None = None
    confirmed_by: str | None = None

    @property
    def proposed(self) -> bool:
        """Waiting for a lead's confirmation: its responses do not count yet."""
        return not self.confirmed and self.undone_at is None

    @property
    def state(self) -> str:
        if self.undone_at:
            return "Undone"
        return "Confirmed" if self.confirmed else "Proposed"


SORTS = {
    "date": lambda: (SurveyImport.created_at.desc(), SurveyImport.id.desc()),
    "file": lambda: (sa.func.lower(SurveyImport.file_name), SurveyImport.id.desc()),
    "added": lambda: (SurveyImport.rows_added.desc(), SurveyImport.id.desc()),
    "format": lambda: (SurveyImport.file_format, SurveyImport.id.desc()),
}


def import_history(partnership_id: int, sort: str = "date") -> list[ImportView]:
    return _import_views(partnership_id, order_by=SORTS.get(sort, SORTS["date"])())


def import_view(partnership_id: int, import_id: int) -> ImportView:
    """One import of this partnership, as the history shows it; NotFound otherwise."""
    views = _import_views(partnership_id, SurveyImport.id == import_id)
    if not views:
        raise NotFound()
    return views[0]


def _import_views(
    partnership_id: int, *criteria: sa.ColumnElement[bool], order_by: tuple = ()
) -> list[ImportView]:
    uploader = sa.orm.aliased(User)
    undoer = sa.orm.aliased(User)
    confirmer = sa.orm.aliased(User)
    rows = db.session.execute(
        sa.select(SurveyImport, uploader.display_name, undoer.display_name, confirmer.display_name)
        .outerjoin(uploader, uploader.id == SurveyImport.uploaded_by_id)
        .outerjoin(undoer, undoer.id == SurveyImport.undone_by_id)
        .outerjoin(confirmer, confirmer.id == SurveyImport.confirmed_by_id)
        .where(SurveyImport.partnership_id == partnership_id, *criteria)
        .order_by(*order_by)
    )
    return [
        ImportView(
            id=record.id,
            file_name=record.file_name,
            format=record.file_format.value,
            uploaded_by=uploaded_by,
            uploaded_by_id=record.uploaded_by_id,
            created_at=record.created_at,
            rows_added=record.rows_added,
            rows_skipped=record.rows_skipped,
            undone_at=record.undone_at,
            undone_by=undone_by,
            confirmed=record.state is ImportState.CONFIRMED,
            confirmed_at=record.confirmed_at,
            confirmed_by=confirmed_by,
        )
        for record, uploaded_by, undone_by, confirmed_by in rows
    ]


HISTORY_HEADER = (
    "file",
    "format",
    "uploaded by",
    "uploaded at (UTC)",
    "rows added",
    "skipped as duplicates",
    "state",
    "confirmed at (UTC)",
    "confirmed by",
    "undone at (UTC)",
    "undone by",
)


def history_rows(views: Iterable[ImportView]) -> Iterator[list[Any]]:
    for view in views:
        yield [
            view.file_name,
            view.format,
            view.uploaded_by or "",
            view.created_at.strftime("%Y-%m-%d %H:%M"),
            view.rows_added,
            view.rows_skipped,
            view.state,
            view.confirmed_at.strftime("%Y-%m-%d %H:%M") if view.confirmed_at else "",
            view.confirmed_by or "",
            view.undone_at.strftime("%Y-%m-%d %H:%M") if view.undone_at else "",
            view.undone_by or "",
        ]


# ----------------------------------------------------------------------------- jobs


def _job_staged(ctx: jobs.JobContext) -> tuple[User, StagedUpload, Mapping, str | None]:
    actor = ctx.acting_user()
    if actor is None or ctx.partnership_id is None:
        raise jobs.JobFailed("An import needs the person who started it and its partnership.")
    try:
        staged = get_staged(ctx.partnership_id, ctx.params["token"])
    except UploadNotFound as exc:
        raise jobs.JobFailed("This upload has expired. Upload the file again.") from exc
    return actor, staged, Mapping.from_json(ctx.params["mapping"]), ctx.params.get("order")


@jobs.handler(CHECK_JOB)
def run_check(ctx: jobs.JobContext) -> dict[str, Any]:
    actor, staged, mapping, order = _job_staged(ctx)
    outcome = check_upload(actor, staged, mapping, order, progress=ctx.progress)
    return {
        "digest": mapping.digest(),
        **{k: v for k, v in outcome.as_json().items() if k != "problems"},
    }


@jobs.handler(COMMIT_JOB)
def run_commit(ctx: jobs.JobContext) -> dict[str, Any]:
    actor, staged, mapping, order = _job_staged(ctx)
    total = ctx.params.get("total")
    try:
        record = commit_upload(actor, staged, mapping, order, progress=ctx.progress, total=total)
    except ImportRefused as refused:
        raise jobs.JobFailed(
            str(refused),
            details={
                "token": staged.token,
                "problem_count": refused.outcome.problem_count,
                "problems": [[p.row, p.message] for p in refused.outcome.problems[:50]],
            },
        ) from refused
    except ValidationFailed as failed:
        raise jobs.JobFailed(str(failed), details={"token": staged.token}) from failed
    result = {
        "import_id": record.id,
        "rows_added": record.rows_added,
        "rows_skipped": record.rows_skipped,
        "file_name": record.file_name,
        "state": record.state.value,
        "no_answer": (stored_check(staged, mapping) or Outcome()).no_answer,
        "scale_note": scale_note(mapping.rating_scale),
        # The check the import follows read the same file with the same mapping.
        "left_out": (stored_check(staged, mapping) or Outcome()).left_out,
        "included": (stored_check(staged, mapping) or Outcome()).included,
    }
    discard_staged(staged)
    return result
