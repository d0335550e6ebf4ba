"""Issue 17: survey responses pushed as values (the API's survey push) are checked by the file
import's own row rules, saved all or none, idempotent by response id, and recorded as an
import that a provider proposes and a lead confirms, as for a file."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import AuditEntry, SurveyImport, SurveyResponse
from mls_tracker.models.satisfaction import ImportState
from mls_tracker.periods import Month
from mls_tracker.services import satisfaction as figures
from mls_tracker.services import survey_import
from mls_tracker.services import survey_push as service
from mls_tracker.services.errors import PermissionDenied
from tests.conftest import page_text, sign_in

NOV = Month(2026, 11)


@pytest.fixture(autouse=True)
def _after_the_responses(monkeypatch):
    monkeypatch.setattr(survey_import, "clock", lambda: dt.datetime(2027, 1, 15, tzinfo=dt.UTC))


def responses(count: int, prefix: str = "R", start: int = 1) -> list[dict]:
    """``count`` November responses; ratings cycle 1–5, so CSAT is 40 % per 5 responses."""
    return [
        {
            "response_id": f"{prefix}{n}",
            "submitted_at": f"2026-11-{1 + n % 28:02d}T10:{n % 60:02d}:00Z",
            "rating": 1 + n % 5,
            "recommend": n % 11,
            "program": "Onboarding",
            "region": "EMEA" if n % 2 else "apac",
            "comment": f"Comment {n}" if n % 7 == 0 else None,
        }
        for n in range(start, start + count)
    ]


def _stored(partnership_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).where(SurveyResponse.partnership_id == partnership_id)
    )


def _imports() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(SurveyImport))


def _november(partnership_id: int):
    return figures.load_satisfaction(partnership_id, NOV, NOV).month_figure(NOV)


def test_one_bad_response_in_a_thousand_saves_nothing_and_every_problem_is_listed(world):
    pid = world.partnership.id
    batch = responses(1000)
    batch[499]["rating"] = 7
    batch[699].update(submitted_at="yesterday", region="Mars")
    batch[899]["response_id"] = batch[0]["response_id"]
    with pytest.raises(service.PushRefused) as refused:
        service.push_responses(world.lead, pid, batch)
    assert str(refused.value) == (
        "Nothing was saved: 3 rows have problems. Fix them and send the whole batch again."
    )
    assert [(p.row, p.field, p.message) for p in refused.value.outcome.problems] == [
        (499, "rating", "satisfaction rating 7 is outside 1–5"),
        (699, "submitted_at", "submitted at “yesterday” is not a date and time"),
        (699, "region", "region “Mars” is not one of this partnership's regions (APAC, EMEA)"),
        (899, "response_id", "response id “R1” is also in responses[0]"),
    ]
    db.session.rollback()
    assert _stored(pid) == 0 and _imports() == 0


def test_every_problem_is_listed_however_many(world):
    """A file's check keeps the first 500 problems for its page; a push lists them all."""
    batch = responses(1000)
    for response in batch:
        response["rating"] = "very good"
    with pytest.raises(service.PushRefused) as refused:
        service.push_responses(world.provider, world.partnership.id, batch)
    problems = refused.value.outcome.problems
    assert len(problems) == 1000
    assert (problems[-1].row, problems[-1].field, problems[-1].message) == (
        999,
        "rating",
        "satisfaction rating “very good” is not a number; send the number it stands for",
    )


def test_the_push_reads_values_as_a_file_import_reads_the_same_cells(world):
    """The same rules, not a copy: a file holding the pushed values gets the same messages."""
    pid = world.partnership.id
    bad = [
        {"response_id": "A", "submitted_at": "2026-11-03T09:00:00", "rating": 0},
        {"response_id": "B", "submitted_at": "2027-03-01T09:00:00", "recommend": 11},
        {"response_id": "", "submitted_at": "2026-11-03T09:00:00", "rating": 3, "region": "X"},
        {"response_id": "D", "submitted_at": "03/11/2026 09:00", "rating": 4},
    ]
    with pytest.raises(service.PushRefused) as refused:
        service.push_responses(world.lead, pid, bad)
    pushed = [(p.row, p.message) for p in refused.value.outcome.problems]

    lines = ["response_id,submitted_at,rating,recommend,region"]
    for r in bad:
        lines.append(",".join(str(r.get(k, "")) for k in ("response_id", "submitted_at")))
        lines[-1] += f",{r.get('rating', '')},{r.get('recommend', '')},{r.get('region', '')}"
    staged = survey_import.stage_upload(
        world.lead, pid, io.BytesIO(("\n".join(lines) + "\n").encode()), "same.csv"
    )
    mapping = survey_import.default_mapping(survey_import.open_staged(staged), None)
    checked = survey_import.check_upload(world.lead, staged, mapping, order=None)
    # The file's row 2 is the push's responses[0] (row 1 of the file holds the headings).
    from_file = [(p.row - 2, p.message) for p in checked.problems if p.row is not None]
    assert pushed == from_file
    assert len(pushed) == 6


def test_a_second_identical_push_adds_nothing(world):
    pid = world.partnership.id
    first = service.push_responses(world.lead, pid, responses(1000))
    assert (first.received, first.added, first.skipped) == (1000, 1000, 0)
    assert first.state is ImportState.CONFIRMED
    second = service.push_responses(world.lead, pid, responses(1000))
    assert (second.import_id, second.added, second.skipped) == (None, 0, 1000)
    assert _stored(pid) == 1000
    # No empty import waits in anyone's queue.
    assert _imports() == 1


def test_a_mixed_batch_adds_only_the_responses_not_stored_yet(world):
    """Ids stored by a file import and by an earlier push are both skipped."""
    pid = world.partnership.id
    lines = ["response_id,submitted_at,rating"] + [
        f"R{n},2026-11-{n:02d}T08:00:00,5" for n in range(1, 11)
    ]
    staged = survey_import.stage_upload(
        world.lead, pid, io.BytesIO(("\n".join(lines) + "\n").encode()), "ten.csv"
    )
    survey_import.commit_upload(
        world.lead, staged, survey_import.default_mapping(survey_import.open_staged(staged), None)
    )
    service.push_responses(world.provider, pid, responses(5, start=21))  # R21–R25
    result = service.push_responses(world.provider, pid, responses(30))  # R1–R30
    assert (result.added, result.skipped) == (15, 15)
    record = db.session.get(SurveyImport, result.import_id)
    assert (record.rows_added, record.rows_skipped) == (15, 15)
    assert _stored(pid) == 10 + 5 + 15
    # The file's R1 kept its own values: a push never overwrites a stored response.
    rating = db.session.scalar(
        sa.select(SurveyResponse.rating).where(SurveyResponse.response_key == "R1")
    )
    assert rating == 5


def test_a_providers_push_is_proposed_and_counts_once_a_lead_confirms_it(client, world):
    pid = world.partnership.id
    result = service.push_responses(world.provider, pid, responses(1000))
    assert result.state is ImportState.PROPOSED and result.added == 1000
    assert _november(pid) is None  # in no figure
    waiting = survey_import.proposed_responses(pid)
    assert (waiting.responses, waiting.imports) == (1000, 1)
    view = survey_import.import_view(pid, result.import_id)
    assert (view.file_name, view.uploaded_by, view.state) == (
        "API push",
        world.provider.display_name,
        "Proposed",
    )

    # The lead's existing confirmation page shows it.
    sign_in(client, world.lead.email)
    history = page_text(
        client.get(f"/partnerships/{pid}/satisfaction/imports/").get_data(as_text=True)
    )
    assert "1,000 responses in 1 proposed import" in history
    assert "Confirm the import of API push" in history

    survey_import.confirm_import(world.lead, pid, result.import_id)
    november = _november(pid)
    # Ratings cycle 1–5 over 1,000 responses: 400 of them are 4 or 5.
    assert (november.n_rating, november.csat) == (1000, 40.0)


def test_a_leads_push_counts_at_once_and_is_audited(world):
    pid = world.partnership.id
    result = service.push_responses(world.lead, pid, responses(10))
    assert result.state is ImportState.CONFIRMED
    assert _november(pid).n_rating == 10
    entries = db.session.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.object_type == "SurveyImport",
            AuditEntry.object_id == str(result.import_id),
        )
    ).all()
    assert entries and {e.actor_id for e in entries} == {world.lead.id}
    assert {e.partnership_id for e in entries} == {pid}


@pytest.mark.parametrize("who", ["viewer", "sponsor"])
def test_a_viewer_or_sponsor_cannot_push(world, who):
    with pytest.raises(PermissionDenied) as denied:
        service.push_responses(world.user(who), world.partnership.id, responses(3))
    assert not denied.value.hidden
    assert _stored(world.partnership.id) == 0 and _imports() == 0


def test_another_partnerships_member_learns_nothing(world):
    with pytest.raises(PermissionDenied) as denied:
        service.push_responses(world.outsider, world.partnership.id, responses(3))
    assert denied.value.hidden


def test_a_respondent_who_answered_neither_question_is_left_out_as_from_a_file(world):
    batch = responses(3)
    batch[1].update(rating=None, recommend="N/A")
    result = service.push_responses(world.lead, world.partnership.id, batch)
    assert (result.added, result.skipped, result.no_answer) == (2, 0, 1)


def test_values_are_read_as_a_files_cells(world):
    assert service.cell(None) == ""
    assert service.cell(4) == "4"
    assert service.cell(True) == "true"
    assert service.cell(" EMEA\x00 ") == "EMEA"
    assert service.cell(dt.datetime(2026, 11, 3, 9, tzinfo=dt.UTC)) == "2026-11-03T09:00:00+00:00"
    batch = responses(1)
    batch[0]["rating"] = True
    with pytest.raises(service.PushRefused):
        service.push_responses(world.lead, world.partnership.id, batch)
