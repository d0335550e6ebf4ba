"""Survey files as the tools really export them (issue 15, points 11, 13, 14, 15, 16): each
fixture under tests/data/surveys/ is our own small file with the layout of a real export."""

from __future__ import annotations

import datetime as dt
import io
import re
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
    mapping = numbered(staged, service.proposed_mapping(staged, service.open_staged(staged)))
    outcome = service.check_upload(world.lead, staged, mapping)
    return staged, mapping, outcome


def numbered(staged, mapping):
    """``mapping`` with the number the mapping page proposes for each answer text."""
    file = service.open_staged(staged)
    file.include = frozenset(mapping.include)
    facts = service.scan_file(file, mapping)
    mapping.choices = {
        scale: {text: service.default_choice(scale, text) for text in texts}
        for scale, texts in facts.choice_values.items()
    }
    return mapping


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


# ------------------------------------------------------------------ 11. Qualtrics statuses

LEFT_OUT = {"test": 3, "preview": 1, "spam": 2, "unfinished": 2}


def test_qualtrics_tests_previews_spam_and_unfinished_are_left_out_and_counted():
    survey = open_sample("qualtrics_statuses.csv")
    assert survey.detected_format is SurveyFormat.QUALTRICS
    rows = list(survey.rows())
    # 13 responses: 5 learners' finished answers, 3 tests, 1 preview, 2 spam, 2 unfinished.
    assert [cells[8] for _, cells in rows] == ["R_st02", "R_st04", "R_st08", "R_st12", "R_st14"]
    assert survey.left_out == LEFT_OUT

    survey.include = frozenset({"unfinished", "spam"})
    assert len(list(survey.rows())) == 9
    assert survey.left_out == {"test": 3, "preview": 1}
    assert survey.included == {"spam": 2, "unfinished": 2}


def test_the_check_and_the_result_say_what_was_left_out(world):
    staged, mapping, outcome = checked(world, "qualtrics_statuses.csv")
    assert mapping.include == ()
    assert (outcome.rows, outcome.new, outcome.errors) == (5, 5, 0), outcome.problems
    assert outcome.left_out == LEFT_OUT
    assert service.stored_check(staged, mapping).left_out == LEFT_OUT
    assert service.commit_upload(world.lead, staged, mapping).rows_added == 5


def test_the_lead_can_include_unfinished_responses(world):
    staged = service.stage_upload(
        world.lead,
        world.partnership.id,
        io.BytesIO((SAMPLES / "qualtrics_statuses.csv").read_bytes()),
        "qualtrics_statuses.csv",
    )
    mapping = service.proposed_mapping(staged, service.open_staged(staged))
    mapping.include = ("unfinished",)
    mapping = numbered(staged, mapping)
    outcome = service.check_upload(world.lead, staged, mapping)
    # One of the two unfinished responses has no recommend score but a rating: it counts.
    assert (outcome.rows, outcome.new, outcome.errors) == (7, 7, 0), outcome.problems
    assert outcome.left_out == {"test": 3, "preview": 1, "spam": 2}
    assert outcome.included == {"unfinished": 2}
    assert service.commit_upload(world.lead, staged, mapping).rows_added == 7
    remembered = service.saved_mapping(world.partnership.id, SurveyFormat.QUALTRICS)
    assert service.Mapping.from_json(remembered.mapping).include == ("unfinished",)


def test_a_file_of_test_responses_only_is_read_and_says_so(world):
    survey = open_sample("qualtrics_only_tests.csv")  # once refused as having "no responses"
    assert list(survey.rows()) == [] and survey.left_out == {"test": 3}
    _staged, _mapping, outcome = checked(world, "qualtrics_only_tests.csv")
    assert (outcome.rows, outcome.left_out) == (0, {"test": 3})


def test_the_2016_export_single_quoted_import_id_row_is_a_heading_row():
    survey = open_sample("qualtrics_2016.csv")
    assert survey.detected_format is SurveyFormat.QUALTRICS
    assert survey.header_rows == 3
    assert [cells[8] for _, cells in survey.rows()] == ["R_2016a", "R_2016b", "R_2016c"]
    columns = {c.key: c for c in survey.columns}
    assert columns["RecordedDate"].timezone == "America/Denver"


def test_the_pages_report_each_kind_left_out_and_let_the_lead_include_one(client, world):
    from tests.conftest import csrf_token, sign_in
    from tests.test_survey_import_pages import mapping_post, upload

    sign_in(client, world.lead.email)
    data = (SAMPLES / "qualtrics_statuses.csv").read_bytes()
    mapping_url = upload(client, world, data, "qualtrics_statuses.csv").headers["Location"]
    page = client.get(mapping_url).get_data(as_text=True)
    assert "Include the 3 test responses" in page
    assert "Include the 1 preview response" in page
    assert "Include the 2 responses flagged as spam" in page
    assert "Include the 2 unfinished responses" in page

    preview = client.get(mapping_post(client, mapping_url).headers["Location"])
    text = preview.get_data(as_text=True)
    assert (
        "Left out: 3 test responses, 1 preview response, 2 responses flagged as spam, "
        "2 unfinished responses." in text
    )
    assert 'id="count-new">5<' in text

    response = mapping_post(client, mapping_url, include=["unfinished"])
    # An unfinished response answers "Dissatisfied", an answer the page now asks a number for.
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Dissatisfied" in page
    assert 'value="unfinished" id="include-unfinished" checked' in page
    data = {"include": ["unfinished"], "date_order": "auto"}
    data["csrf_token"] = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]
    data["file_format"] = re.search(r'name="file_format"[^>]*value="([^"]*)"', page)[1]
    for select in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"', select[2])
        data[select[1]] = chosen[1] if chosen else ""
    for field in re.finditer(r'<input[^>]*name="(c_[^"]+)"[^>]*value="([^"]*)"', page):
        data[field[1]] = field[2]
    response = client.post(mapping_url, data=data)
    text = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="count-new">7<' in text
    assert "Left out: 3 test responses, 1 preview response, 2 responses flagged as spam." in text
    assert "Included as you chose: 2 unfinished responses." in text
    digest = re.search(r'name="digest" type="hidden" value="([^"]+)"', text)[1]
    commit_url = re.search(r'id="commit-form" action="([^"]+)"', text)[1]
    response = client.post(
        commit_url, data={"csrf_token": csrf_token(client, mapping_url), "digest": digest}
    )
    result = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "7 responses added" in result
    assert "Left out: 3 test responses, 1 preview response, 2 responses flagged as spam." in result
    assert "Included as you chose: 2 unfinished responses." in result


def test_a_file_of_test_responses_only_has_nothing_to_import(client, world):
    from tests.conftest import sign_in
    from tests.test_survey_import_pages import mapping_post, upload

    sign_in(client, world.lead.email)
    data = (SAMPLES / "qualtrics_only_tests.csv").read_bytes()
    mapping_url = upload(client, world, data, "qualtrics_only_tests.csv").headers["Location"]
    text = client.get(mapping_post(client, mapping_url).headers["Location"]).get_data(as_text=True)
    assert "Left out: 3 test responses." in text
    assert "Nothing to import" in text and 'id="commit-form"' not in text


# ------------------------------------------------------------------ 16. the column guesser


def test_columns_are_proposed_only_when_their_answers_fit_the_field(world):
    survey = open_sample("column_guesses.csv")
    keys = [c.key for c in survey.columns]
    assert keys[4:8] == [
        "How likely are your kids to participate in the next session?",
        "Why did you choose this program? | Recommended by a colleague",
        "Why did you choose this program? | Required by my manager",
        "Did the program meet your expectations?",
    ]
    staged = service.stage_upload(
        world.lead,
        world.partnership.id,
        io.BytesIO((SAMPLES / "column_guesses.csv").read_bytes()),
        "column_guesses.csv",
    )
    mapping = service.proposed_mapping(staged, service.open_staged(staged))
    # Not the 1–5 "How likely your kids…", the yes/no "Why…" matrix or the yes/no "program".
    assert mapping.columns == {
        "response_id": "Respondent ID",
        "submitted_at": "End Date",
        "program": "Which program did you attend?",
        "region": None,
        "rating": "How satisfied were you with the program overall?",
        "recommend": (
            "How likely is it that you would recommend this program to a friend or colleague?"
        ),
        "comment": "What could we do better?",
    }


@pytest.mark.parametrize(
    ("name", "values", "fits"),
    [
        ("recommend", ["1", "2", "3", "4", "5"], False),  # a 1–5 question
        ("recommend", ["0", "3", "5"], False),  # nothing above 5: not shown to be 0–10
        ("recommend", ["4", "9", "10"], True),
        ("recommend", ["10 - Extremely likely", "7", "0 - Not at all likely"], True),
        ("recommend", ["Very likely", "Somewhat likely"], False),
        ("recommend", ["11", "9"], False),
        ("rating", ["Very satisfied", "Satisfied", "3"], True),
        ("rating", ["Yes", "No"], False),
        ("comment", ["Yes", "No"], False),
        ("comment", ["4", "5"], False),
        ("comment", ["Too long", "More role play, less theory"], True),
        ("program", ["Yes", "No"], False),
        ("program", ["Family Coaching", "Parenting Teens"], True),
        ("program", ["x" * 101], False),
        ("region", ["EMEA", "APAC"], True),
        ("comment", [], True),  # no answers in the first rows: nothing says otherwise
    ],
)
def test_values_fit_the_field(name, values, fits):
    from mls_tracker.services.survey_columns import values_fit

    assert values_fit(name, values, service._scale_number) is fits


def test_the_mapping_page_shows_sample_values_beside_each_proposal(client, world):
    from tests.conftest import sign_in
    from tests.test_survey_import_pages import upload

    sign_in(client, world.lead.email)
    data = (SAMPLES / "column_guesses.csv").read_bytes()
    mapping_url = upload(client, world, data, "column_guesses.csv").headers["Location"]
    page = client.get(mapping_url).get_data(as_text=True)
    program = re.search(r'id="program-samples">(.*?)</p>', page, re.S)[1]
    assert "Family Coaching" in program and "Parenting Teens" in program
    recommend = re.search(r'id="recommend-samples">(.*?)</p>', page, re.S)[1]
    assert '<span class="sample">9</span>' in recommend
