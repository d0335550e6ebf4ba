"""Regenerate the survey sample files in this folder: ``python tests/data/surveys/make_samples.py``.

Deterministic: a fixed seed, fixed workbook timestamps and fixed zip member dates, so running it
again gives the same bytes. Every file is made here; none was downloaded.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
import struct
import zipfile
import zlib
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent
SEED = 20261103
FIXED = dt.datetime(2026, 11, 20, 9, 0, 0)
ZIP_DATE = (2026, 11, 20, 9, 0, 0)

PROGRAMS = ("Leading Hybrid Teams", "Negotiation Essentials", "Data Privacy 2026")
REGIONS = ("North America", "EMEA", "APAC", "LATAM", "India")
SATISFACTION = {
    5: "Very satisfied",
    4: "Satisfied",
    3: "Neither satisfied nor dissatisfied",
    2: "Dissatisfied",
    1: "Very dissatisfied",
}
COMMENTS = (
    "",
    "",
    "Great facilitator, very practical.",
    'The "role play" exercises were the best part, honestly.',
    "Too long, but useful; I'd cut the second module.",
    "Café – très bien organisé, merci !",
    "Loved the examples from São Paulo and Zürich.",
    "Line one of my feedback.\nLine two: more time for questions, please.",
    "Materials arrived late, otherwise fine.",
    "Señora Núñez explained GDPR better than anyone so far.",
)
#: The Qualtrics comment asserted by the tests: commas, quotes and a quoted newline.
QUALTRICS_COMMENT = 'Useful, practical and "well paced".\nWould recommend to my team, too.'


def _random_rating(rng: random.Random) -> int:
    return rng.choices((5, 4, 3, 2, 1), weights=(40, 35, 12, 8, 5))[0]


def _random_nps(rng: random.Random) -> int:
    return rng.choices(range(11), weights=(1, 1, 1, 2, 2, 3, 4, 8, 14, 16, 14))[0]


def _moment(rng: random.Random) -> dt.datetime:
    day = dt.datetime(2026, 10, 1, 8, 0) + dt.timedelta(days=rng.randrange(61))
    return day + dt.timedelta(seconds=rng.randrange(10 * 3600))


def _response_id(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "R_" + "".join(rng.choice(alphabet) for _ in range(15))


def _ip(rng: random.Random) -> str:
    return f"203.0.113.{rng.randrange(1, 255)}"


def _write_csv(
    path: Path, rows: list[list[object]], *, encoding: str, delimiter: str = ","
) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))


def _save_workbook(wb: openpyxl.Workbook, path: Path) -> None:
    wb.properties.creator = "MLS Tracker samples"
    wb.properties.created = FIXED
    wb.properties.modified = FIXED
    buffer = io.BytesIO()
    wb.save(buffer)
    _rewrite_zip(buffer.getvalue(), path)


def _rewrite_zip(data: bytes, path: Path, replace: dict[str, bytes] | None = None) -> None:
    """Rewrite an xlsx with fixed member dates (openpyxl stamps the current time)."""
    replace = replace or {}
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            content = replace.get(info.filename, source.read(info.filename))
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"<dcterms:modified([^>]*)>[^<]*<",
                    rb"<dcterms:modified\1>2026-11-20T09:00:00Z<",
                    content,
                )
            member = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            member.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(member, content)


# --------------------------------------------------------------------------- Qualtrics

QUALTRICS_META = (
    ("StartDate", "Start Date", '{"ImportId":"startDate","timeZone":"America/Denver"}'),
    ("EndDate", "End Date", '{"ImportId":"endDate","timeZone":"America/Denver"}'),
    ("Status", "Response Type", '{"ImportId":"status"}'),
    ("IPAddress", "IP Address", '{"ImportId":"ipAddress"}'),
    ("Progress", "Progress", '{"ImportId":"progress"}'),
    ("Duration (in seconds)", "Duration (in seconds)", '{"ImportId":"duration"}'),
    ("Finished", "Finished", '{"ImportId":"finished"}'),
    ("RecordedDate", "Recorded Date", '{"ImportId":"recordedDate","timeZone":"America/Denver"}'),
    ("ResponseId", "Response ID", '{"ImportId":"_recordId"}'),
    ("RecipientLastName", "Recipient Last Name", '{"ImportId":"recipientLastName"}'),
    ("RecipientFirstName", "Recipient First Name", '{"ImportId":"recipientFirstName"}'),
    ("RecipientEmail", "Recipient Email", '{"ImportId":"recipientEmail"}'),
    ("ExternalReference", "External Data Reference", '{"ImportId":"externalDataReference"}'),
    ("LocationLatitude", "Location Latitude", '{"ImportId":"locationLatitude"}'),
    ("LocationLongitude", "Location Longitude", '{"ImportId":"locationLongitude"}'),
    ("DistributionChannel", "Distribution Channel", '{"ImportId":"distributionChannel"}'),
    ("UserLanguage", "User Language", '{"ImportId":"userLanguage"}'),
)
QUALTRICS_QUESTIONS = (
    ("Q1", "Overall, how satisfied were you with this program?", '{"ImportId":"QID1"}'),
    (
        "Q2",
        "How likely are you to recommend this program to a colleague?",
        '{"ImportId":"QID2"}',
    ),
    ("Q3", "In which region do you work?", '{"ImportId":"QID3"}'),
    ("Q4", "Which program did you attend?", '{"ImportId":"QID4"}'),
    ("Q5", "What should we keep or change? - Comments", '{"ImportId":"QID5_TEXT"}'),
)


def _qualtrics_rows(*, choice_text: bool, count: int, seed: int) -> list[list[object]]:
    rng = random.Random(seed)
    columns = QUALTRICS_META + QUALTRICS_QUESTIONS
    rows: list[list[object]] = [[c[i] for c in columns] for i in range(3)]
    for n in range(count):
        start = _moment(rng)
        duration = rng.randrange(60, 600)
        end = start + dt.timedelta(seconds=duration)
        rating, nps = _random_rating(rng), _random_nps(rng)
        region, program = rng.randrange(len(REGIONS)), rng.randrange(len(PROGRAMS))
        preview = n == 3  # the survey owner's own test, kept as Qualtrics exports it
        comment = QUALTRICS_COMMENT if n == 0 else rng.choice(COMMENTS)
        if choice_text:
            status = "Survey Preview" if preview else "IP Address"
            answers = [
                SATISFACTION[rating],
                {10: "10 - Extremely likely", 0: "0 - Not at all likely"}.get(nps, str(nps)),
                REGIONS[region],
                PROGRAMS[program],
            ]
            finished = "True"
        else:
            status = 1 if preview else 0
            answers = [rating, nps, region + 1, program + 1]
            finished = 1
        stamp = "%Y-%m-%d %H:%M:%S"
        rows.append(
            [
                start.strftime(stamp),
                end.strftime(stamp),
                status,
                "" if preview else _ip(rng),
                100,
                duration,
                finished,
                end.strftime(stamp),
                _response_id(rng),
                "",
                "",
                "",
                "",
                f"{39.7392 + rng.uniform(-2, 2):.4f}",
                f"{-104.9903 + rng.uniform(-2, 2):.4f}",
                "preview" if preview else "anonymous",
                "EN",
                *answers,
                comment,
            ]
        )
    return rows


def make_qualtrics() -> None:
    rows = _qualtrics_rows(choice_text=False, count=40, seed=SEED)
    _write_csv(HERE / "qualtrics_numeric.csv", rows, encoding="utf-8-sig")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet0"  # the name Qualtrics gives its only sheet
    for row in _qualtrics_rows(choice_text=True, count=40, seed=SEED + 1):
        ws.append(row)
    _save_workbook(wb, HERE / "qualtrics_choice_text.xlsx")


# --------------------------------------------------------------------------- SurveyMonkey

MATRIX = "Please rate the following aspects of the program."
MATRIX_ROWS = ("Facilitator", "Course materials", "Pace")
MATRIX_SCALE = ("Excellent", "Good", "Fair", "Poor")


def _surveymonkey_rows() -> list[list[object]]:
    rng = random.Random(SEED + 2)
    first = [
        "Respondent ID",
        "Collector ID",
        "Start Date",
        "End Date",
        "IP Address",
        "Email Address",
        "First Name",
        "Last Name",
        "Custom Data 1",
        "Which program did you attend?",
        "Where are you based?",
        "",
        "How satisfied were you with the program overall?",
        "How likely is it that you would recommend this program to a friend or colleague?",
        MATRIX,
        "",
        "",
        "What could we do better?",
    ]
    second = [""] * 9 + [
        "Response",
        "Response",
        "Other (please specify)",
        "Response",
        "Response",
        *MATRIX_ROWS,
        "Open-Ended Response",
    ]
    rows: list[list[object]] = [first, second]
    respondent = 114523698741
    for _ in range(30):
        respondent += rng.randrange(3, 400)
        start = _moment(rng)
        end = start + dt.timedelta(seconds=rng.randrange(60, 900))
        stamp = "%m/%d/%Y %I:%M:%S %p"
        other = rng.random() < 0.1
        rows.append(
            [
                respondent,
                431245678,
                start.strftime(stamp),
                end.strftime(stamp),
                _ip(rng),
                "",
                "",
                "",
                "",
                rng.choice(PROGRAMS),
                "Other (please specify)" if other else rng.choice(REGIONS),
                "Middle East, working remotely" if other else "",
                SATISFACTION[_random_rating(rng)],
                _random_nps(rng),
                *(rng.choice(MATRIX_SCALE) for _ in MATRIX_ROWS),
                rng.choice(COMMENTS),
            ]
        )
    return rows


def make_surveymonkey() -> None:
    rows = _surveymonkey_rows()
    _write_csv(HERE / "surveymonkey.csv", rows, encoding="utf-8")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet"
    for row in rows:
        ws.append([None if cell == "" else cell for cell in row])
    _save_workbook(wb, HERE / "surveymonkey.xlsx")


# --------------------------------------------------------------------------- Microsoft Forms

FORMS_HEADINGS = [
    "ID",
    "Start time",
    "Completion time",
    "Email",
    "Name",
    "Last modified time",
    "Which program did you attend?",
    "Which region are you in?",
    "How satisfied are you with the program?",
    "How likely are you to recommend this program to a colleague?",
    "Anything else you would like to tell us?",
]


def _forms_answers(rng: random.Random, count: int) -> list[tuple[dt.datetime, dt.datetime, list]]:
    answers = []
    for _ in range(count):
        start = _moment(rng).replace(second=rng.randrange(60))
        end = start + dt.timedelta(seconds=rng.randrange(45, 600))
        answers.append(
            (
                start,
                end,
                [
                    rng.choice(PROGRAMS),
                    rng.choice(REGIONS),
                    SATISFACTION[_random_rating(rng)],
                    _random_nps(rng),
                    rng.choice(COMMENTS),
                ],
            )
        )
    answers.sort(key=lambda a: a[1])
    return answers


def make_microsoft_forms() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(FORMS_HEADINGS)
    for n, (start, end, answers) in enumerate(_forms_answers(random.Random(SEED + 3), 25), 1):
        ws.append([n, start, end, "anonymous", None, None, *answers])
    for row in ws.iter_rows(min_row=2, min_col=2, max_col=3):
        for cell in row:
            cell.number_format = "m/d/yy h:mm:ss"
    _save_workbook(wb, HERE / "microsoft_forms.xlsx")

    # Excel's "Unicode Text (*.txt)" of the workbook, opened with en-GB regional settings:
    # UTF-16 LE with a byte-order mark, tab-delimited, CRLF, times as dd/mm/yyyy hh:mm.
    rows: list[list[object]] = [FORMS_HEADINGS]
    for n, (start, end, answers) in enumerate(_forms_answers(random.Random(SEED + 4), 20), 1):
        rows.append(
            [
                n,
                start.strftime("%d/%m/%Y %H:%M"),
                end.strftime("%d/%m/%Y %H:%M"),
                "anonymous",
                "",
                "",
                *answers,
            ]
        )
    _write_csv(HERE / "microsoft_forms_en_gb.csv", rows, encoding="utf-16", delimiter="\t")


# --------------------------------------------------------------------------- generic


def make_generic() -> None:
    rng = random.Random(SEED + 5)
    rows: list[list[object]] = [
        ["response_id", "submitted_at", "program", "region", "rating", "recommend", "comment"]
    ]
    for n in range(1, 31):
        moment = _moment(rng)
        rows.append(
            [
                f"NW-2026-{n:04d}",
                moment.strftime("%Y-%m-%dT%H:%M:%S") if n % 4 else moment.date().isoformat(),
                rng.choice(PROGRAMS),
                rng.choice(REGIONS),
                "" if n % 7 == 0 else _random_rating(rng),
                _random_nps(rng),
                rng.choice(COMMENTS),
            ]
        )
    _write_csv(HERE / "generic.csv", rows, encoding="utf-8")

    # Saved by Excel as "CSV (semicolon)" on a French Windows desktop: cp1252, no BOM.
    rng = random.Random(SEED + 6)
    rows = [["Response_ID", "Submitted_At", "Program", "Region", "Rating", "Recommend", "Comment"]]
    for n in range(1, 21):
        rows.append(
            [
                f"FR-{n:03d}",
                _moment(rng).strftime("%Y-%m-%d %H:%M"),
                rng.choice(PROGRAMS),
                "EMEA",
                _random_rating(rng),
                _random_nps(rng),
                "Café – très bien" if n == 1 else rng.choice(COMMENTS).replace("\n", " "),
            ]
        )
    _write_csv(HERE / "generic_semicolon_cp1252.csv", rows, encoding="cp1252", delimiter=";")


# --------------------------------------------------------------------------- bad files


def _png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00\x00\x00\xff\x00" * 2)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _cfb(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE2 compound file (version 3, 512-byte sectors) holding ``streams``.

    Streams are padded to the 4096-byte mini-stream cutoff so that they live in regular
    sectors and no mini FAT is needed; the directory is a valid (all-black) sibling tree.
    """
    sector, end, free, fat_sect, nostream = 512, 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    padded = {name: data.ljust(max(len(data), 4096), b"\x00") for name, data in streams.items()}
    fat = [fat_sect, end]  # sector 0: the FAT, sector 1: the directory
    starts = {}
    for name, data in padded.items():
        count = -(-len(data) // sector)
        starts[name] = len(fat)
        fat.extend(range(len(fat) + 1, len(fat) + count))
        fat.append(end)
    assert len(fat) <= sector // 4
    fat.extend([free] * (sector // 4 - len(fat)))

    def entry(name: str, kind: int, right: int, child: int, start: int, size: int) -> bytes:
        encoded = (name + "\x00").encode("utf-16-le")
        return (
            encoded.ljust(64, b"\x00")
            + struct.pack("<HBB", len(encoded), kind, 1)
            + struct.pack("<III", nostream, right, child)
            + b"\x00" * 16
            + struct.pack("<IQQ", 0, 0, 0)
            + struct.pack("<IQ", start, size)
        )

    names = sorted(padded, key=lambda n: (len(n), n.upper()))  # CFB's name order
    directory = entry("Root Entry", 5, nostream, 1, end, 0)
    for i, name in enumerate(names, start=1):
        right = i + 1 if i < len(names) else nostream
        directory += entry(name, 2, right, nostream, starts[name], len(streams[name]))
    unused = (b"\x00" * 68 + struct.pack("<III", nostream, nostream, nostream)).ljust(128, b"\x00")
    directory += unused * (sector // 128 - len(names) - 1)

    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\x00" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\x00" * 6
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end, 0, end, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", free) * 108
    )
    assert len(header) == sector
    body = b"".join(padded[name] for name in padded)
    return header + struct.pack(f"<{sector // 4}I", *fat) + directory + body


def make_bad_files() -> None:
    (HERE / "empty.csv").write_bytes(b"")
    (HERE / "binary_named.csv").write_bytes(_png_bytes())

    rng = random.Random(SEED + 7)
    info = b"\x04\x00\x04\x00\x40\x00\x00\x00" + (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        b'<encryption xmlns="http://schemas.microsoft.com/office/2006/encryption">'
        b'<keyData saltSize="16" blockSize="16" keyBits="256" hashSize="64" '
        b'cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512"/>'
        b"</encryption>"
    )
    package = struct.pack("<Q", 6144) + rng.randbytes(6144)
    (HERE / "password_protected.xlsx").write_bytes(
        _cfb({"EncryptionInfo": info, "EncryptedPackage": package})
    )

    wb = openpyxl.Workbook()
    wb.active.append(["response_id", "submitted_at", "rating"])
    wb.active.append(["B-1", "2026-11-03", 5])
    buffer = io.BytesIO()
    wb.properties.created = FIXED
    wb.save(buffer)
    plain = buffer.getvalue()

    # A sheet that inflates to 40 MB of whitespace from a few tens of kilobytes.
    ns = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    bomb = (
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet '
        + ns
        + b"><sheetData>"
        + b" " * (40 * 1024 * 1024)
        + b'<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row></sheetData></worksheet>'
    )
    _rewrite_zip(plain, HERE / "zip_bomb.xlsx", {"xl/worksheets/sheet1.xml": bomb})

    entities = b'<!ENTITY lol "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol;" if i == 1 else b"&lol%d;" % (i - 1)) * 10)
        for i in range(1, 10)
    )
    laughs = (
        b'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE worksheet [' + entities + b"]>"
        b"<worksheet " + ns + b'><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
        b"&lol9;</t></is></c></row></sheetData></worksheet>"
    )
    _rewrite_zip(plain, HERE / "billion_laughs.xlsx", {"xl/worksheets/sheet1.xml": laughs})


def main() -> None:
    make_qualtrics()
    make_surveymonkey()
    make_microsoft_forms()
    make_generic()
    make_bad_files()


if __name__ == "__main__":
    main()
