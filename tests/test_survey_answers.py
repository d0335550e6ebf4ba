"""Issue 15, points 12 and 17: answers that are no answer ("N/A", "Not applicable", "Don't
know") and respondents who answered neither question, as survey tools export them."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import ReviewKind, SurveyResponse
from mls_tracker.periods import Month
from mls_tracker.scorecards.build import build_scorecard_data
from mls_tracker.services import survey_import as service
from tests.test_reports import render, text_of
from tests.test_survey_import import mapping_for, stage

SAMPLES = Path(__file__).parent / "data" / "surveys"


@pytest.fixture(autouse=True)
def _after_the_files(monkeypatch):
    monkeypatch.setattr(service, "clock", lambda: dt.datetime(2027, 1, 15, tzinfo=dt.UTC))


def stored() -> list[tuple[int | None, int | None]]:
    rows = db.session.execute(
        sa.select(SurveyResponse.rating, SurveyResponse.recommend).order_by(
            SurveyResponse.submitted_at
        )
    )
    return [tuple(row) for row in rows]


# ----------------------------------------------------------------------------- point 12


@pytest.mark.parametrize(
    "text",
    [
        "N/A",
        "n/a",
        "NA",
        "n.a.",
        "Not applicable",
        "Don't know",
        "Don’t know",
        "6 - Not applicable",
    ],
)
def test_no_answer_texts(text):
    assert service.is_no_answer(text)


@pytest.mark.parametrize("text", ["Neutral", "4", "Not at all likely", "Nairobi", "Satisfied"])
def test_answers_are_not_no_answer(text):
    assert not service.is_no_answer(text)


def test_not_applicable_answers_are_no_answer_to_that_question(world):
    staged = stage(world, SAMPLES / "not_applicable_answers.csv")
    mapping = mapping_for(staged, world.partnership.id)
    # The mapping page asks a number only for real choices, never for N/A or Don't know.
    facts = service.scan_file(service.open_staged(staged), mapping)
    assert facts.choice_values["rating"] == [
        "Very satisfied",
        "Satisfied",
        "Neutral",
        "Dissatisfied",
    ]
    assert facts.choice_values["recommend"] == []
    outcome = service.check_upload(world.lead, staged, mapping, "dmy")
    assert (outcome.rows, outcome.errors, outcome.new) == (8, 0, 8)
    record = service.commit_upload(world.lead, staged, mapping)
    assert record.rows_added == 8
    assert stored() == [
        (5, 9),
        (None, 10),
        (4, None),
        (None, 7),
        (2, None),
        (4, None),
        (3, None),
        (None, 8),
    ]


def test_a_number_the_lead_gives_an_na_text_wins(world):
    staged = stage(world, SAMPLES / "not_applicable_answers.csv")
    mapping = mapping_for(staged, world.partnership.id)
    mapping.choices["rating"]["N/A"] = 3
    service.commit_upload(world.lead, staged, mapping)
    assert stored()[1] == (3, 10)


def test_words_that_are_not_no_answer_still_need_a_number(world):
    data = (
        b"submitted_at,rating,recommend\n"
        b"2026-11-02T09:00:00,N/A,9\n"
        b"2026-11-02T09:05:00,Brilliant,9\n"
    )
    staged = stage(world, data)
    outcome = service.check_upload(world.lead, staged, mapping_for(staged, world.partnership.id))
    assert [p.numbered() for p in outcome.problems] == [
        "Row 3: satisfaction rating “Brilliant” is not a number; give it one on the mapping page"
    ]


# ----------------------------------------------------------------------------- point 17

TEN_POINT = SAMPLES / "satisfaction_1_to_10.csv"
TEN_POINT_COLUMNS = {
    "submitted_at": "Timestamp",
    "rating": ("Overall how satisfied were you with the course? (1 = not at all 10 = completely)"),
    "recommend": "Would you recommend it to a colleague (0-10)?",
    "response_id": None,
    "comment": None,
    "program": None,
    "region": None,
}


def test_a_1_to_10_question_is_refused_with_the_scale_it_fits(world):
    staged = stage(world, TEN_POINT)
    outcome = service.check_upload(
        world.lead, staged, mapping_for(staged, world.partnership.id, **TEN_POINT_COLUMNS)
    )
    assert (outcome.rows, outcome.errors) == (68, 44)
    assert outcome.problems[0].numbered() == (
        "Satisfaction ratings in this file run from 1 to 10: 44 of 68 rows are outside 1–5, "
        "the scale chosen for the question. This looks like a 1–10 scale: choose “1–10” as "
        "the scale of the satisfaction question on the mapping page, and its answers are "
        "mapped linearly to the 1–5 figures."
    )
    assert outcome.problems[1].numbered().endswith("satisfaction rating 10 is outside 1–5")


def test_a_declared_1_to_10_scale_is_mapped_linearly_to_1_to_5(world):
    from mls_tracker.periods import Month
    from mls_tracker.services import satisfaction

    staged = stage(world, TEN_POINT)
    mapping = mapping_for(staged, world.partnership.id, rating_scale="1-10", **TEN_POINT_COLUMNS)
    outcome = service.check_upload(world.lead, staged, mapping)
    assert (outcome.rows, outcome.errors, outcome.new) == (68, 0, 68)
    record = service.commit_upload(world.lead, staged, mapping)
    assert record.rows_added == 68
    counts = dict(
        db.session.execute(
            sa.select(SurveyResponse.rating, sa.func.count()).group_by(SurveyResponse.rating)
        ).all()
    )
    # 1–2 → 1 (5), 3–4 → 2 (11), 5–6 → 3 (14), 7–8 → 4 (22), 9–10 → 5 (16).
    assert counts == {1: 5, 2: 11, 3: 14, 4: 22, 5: 16}
    figure = satisfaction.load_satisfaction(
        world.partnership.id, Month(2026, 11), Month(2026, 11)
    ).month_figure(Month(2026, 11))
    assert (figure.n_rating, figure.csat, figure.mean_rating) == (68, 55.9, 3.49)
    # The scale is remembered with the mapping.
    remembered = service.saved_mapping(world.partnership.id, mapping.format)
    assert service.Mapping.from_json(remembered.mapping).rating_scale == "1-10"


@pytest.mark.parametrize(
    ("scale", "note"),
    [
        ("1-10", "1–2 → 1, 3–4 → 2, 5–6 → 3, 7–8 → 4, 9–10 → 5"),
        ("0-10", "0–1 → 1, 2–3 → 2, 4–6 → 3, 7–8 → 4, 9–10 → 5"),
        ("1-7", "1 → 1, 2–3 → 2, 4 → 3, 5–6 → 4, 7 → 5"),
    ],
)
def test_the_scale_note_says_how_answers_map(scale, note):
    text = service.scale_note(scale)
    assert text.endswith(f"rounded half up: {note}.")
    assert service.scale_note("1-5") is None


def test_ratings_fitting_no_known_scale_say_so(world):
    data = b"submitted_at,rating\n2026-11-02T09:00:00,4\n2026-11-02T09:05:00,85\n"
    staged = stage(world, data)
    outcome = service.check_upload(world.lead, staged, mapping_for(staged, world.partnership.id))
    assert outcome.problems[0].message.startswith(
        "Satisfaction ratings in this file run from 4 to 85: 1 of 2 rows is outside 1–5"
    )
    assert "fits no scale MLS Tracker can map (1–5, 1–7, 1–10, 0–10)" in outcome.problems[0].message


def test_respondents_who_answered_neither_question_are_left_out_and_counted(world):
    staged = stage(world, SAMPLES / "empty_answers.csv")
    mapping = mapping_for(staged, world.partnership.id)
    outcome = service.check_upload(world.lead, staged, mapping)
    # E-02, E-05 (N/A and Don't know), E-07 and E-09 (not even a date).
    assert (outcome.rows, outcome.errors, outcome.no_answer, outcome.new) == (10, 0, 4, 6)
    record = service.commit_upload(world.lead, staged, mapping)
    assert record.rows_added == 6
    keys = db.session.scalars(sa.select(SurveyResponse.response_key)).all()
    assert sorted(keys) == ["E-01", "E-03", "E-04", "E-06", "E-08", "E-10"]
    rows = service.preview_rows(service.open_staged(staged), mapping, world.partnership.id, "dmy")
    assert [row.row for row in rows] == [2, 4, 5, 7, 9, 11]


# ----------------------------------------------------------------------------- the pages


def _through_the_pages(client, world, path: Path, **changes) -> tuple[str, str]:
    """Upload, map (with ``changes``), check and import a file as a user would: the preview
    and the result pages' text."""
    from tests.conftest import csrf_token, page_text
    from tests.test_survey_import_pages import mapping_post, upload

    mapping_url = upload(client, world, path.read_bytes(), path.name).headers["Location"]
    response = mapping_post(client, mapping_url, **changes)
    assert response.status_code == 302, response.get_data(as_text=True)
    preview = client.get(response.headers["Location"]).get_data(as_text=True)
    digest = re.search(r'name="digest" type="hidden" value="([^"]+)"', preview)
    if digest is None:
        return page_text(preview), ""
    commit_url = re.search(r'id="commit-form" action="([^"]+)"', preview)[1]
    response = client.post(
        commit_url, data={"csrf_token": csrf_token(client, mapping_url), "digest": digest[1]}
    )
    result = client.get(response.headers["Location"]).get_data(as_text=True)
    return page_text(preview), page_text(result)


def test_the_pages_name_the_scale_and_map_a_declared_one(client, world):
    from tests.conftest import sign_in

    sign_in(client, world.provider.email)
    columns = {k: v or "" for k, v in TEN_POINT_COLUMNS.items()}
    preview, result = _through_the_pages(client, world, TEN_POINT, **columns)
    assert "run from 1 to 10: 44 of 68 rows are outside 1–5" in preview
    assert "This looks like a 1–10 scale" in preview and not result
    preview, result = _through_the_pages(client, world, TEN_POINT, rating_scale="1-10", **columns)
    note = (
        "Satisfaction was asked on a 1–10 scale and mapped linearly to the 1–5 figures, "
        "rounded half up: 1–2 → 1, 3–4 → 2, 5–6 → 3, 7–8 → 4, 9–10 → 5."
    )
    assert note in preview and "Importing adds 68 responses" in preview
    assert "68 responses added" in result and note in result
    # A provider's import: the result page says it waits for a lead.
    assert "Proposed: these responses count in no figure until a lead" in result


def test_the_pages_count_respondents_who_answered_nothing(client, world):
    from tests.conftest import sign_in

    sign_in(client, world.lead.email)
    preview, result = _through_the_pages(client, world, SAMPLES / "empty_answers.csv")
    left_out = "4 responses with no rating or recommend answer left out."
    assert left_out in preview and "Importing adds 6 responses" in preview
    assert "6 responses added" in result and left_out in result
    assert "Proposed" not in result


def test_the_scorecard_says_how_a_declared_scale_was_mapped(world):
    """Point 17: 'the pages and scorecard say so' — the scorecard of a period whose counted
    responses were asked on 1–10 names the scale and how its answers map to 1–5."""
    staged = stage(world, TEN_POINT)
    mapping = mapping_for(staged, world.partnership.id, rating_scale="1-10", **TEN_POINT_COLUMNS)
    service.commit_upload(world.lead, staged, mapping)
    november = Month(2026, 11)
    data = build_scorecard_data(
        world.partnership.id, ReviewKind.MONTHLY, november, november, dt.date(2027, 1, 15)
    )
    note = service.scale_note("1-10")
    assert data.satisfaction.scale_notes == (note,)
    assert "1–2 → 1, 3–4 → 2, 5–6 → 3, 7–8 → 4, 9–10 → 5" in note
    assert " ".join(note.split()) in text_of(render(data))
    # Another month's scorecard has no such line.
    october = Month(2026, 10)
    earlier = build_scorecard_data(
        world.partnership.id, ReviewKind.MONTHLY, october, october, dt.date(2027, 1, 15)
    )
    assert earlier.satisfaction.scale_notes == ()
