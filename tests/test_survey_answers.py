"""Issue 15, points 12 and 17: answers that are no answer ("N/A", "Not applicable", "Don't
know") and respondents who answered neither question, as survey tools export them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import SurveyResponse
from mls_tracker.services import survey_import as service
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
