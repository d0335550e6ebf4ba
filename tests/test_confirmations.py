"""Every step that cannot be taken back asks first (issue 20): issuing a scorecard, verifying
an action item, ending a sponsorship and undoing a survey import each have a page that names
the object and says what cannot be undone. A post without that page's ``confirm`` field does
nothing; another partnership's lead gets a 404 and the other roles a 403."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from mls_tracker.extensions import db
from mls_tracker.models import ActionItem, ActionStatus, ReviewKind, Sponsor, SurveyImport
from mls_tracker.periods import Month
from mls_tracker.scorecards import issuing
from mls_tracker.services import reviews
from mls_tracker.services import survey_import as imports
from tests import factories
from tests.conftest import csrf_token, page_text, sign_in


@dataclass
class Step:
    url: str  # the page that asks
    data: dict[str, str]  # what its form posts, less the confirmation
    done: Callable[[], bool]  # whether the step was taken
    names: str  # the object, as the page names it
    says: str  # what cannot be undone, as the page says it


def _verify(world, _monkeypatch) -> Step:
    item = factories.create_action(
        world.partnership,
        "Send the completion report",
        due_on=dt.date(2026, 1, 31),
        owner=world.provider,
        status=ActionStatus.DONE,
    )
    db.session.commit()
    return Step(
        url=f"/partnerships/{world.partnership.id}/actions/{item.id}/verify",
        data={"version": str(item.version)},
        done=lambda: db.session.get(ActionItem, item.id).verified_at is not None,
        names="Verify “Send the completion report” as done?",
        says="A verification cannot be taken back",
    )


def _end(world, _monkeypatch) -> Step:
    sponsor = db.session.get(Sponsor, world.ids["sponsor_id"])
    return Step(
        url=f"/partnerships/{world.partnership.id}/sponsors/{sponsor.id}/end",
        data={"end_date": "2026-01-31", "version": str(sponsor.version)},
        done=lambda: db.session.get(Sponsor, sponsor.id).end_date == dt.date(2026, 1, 31),
        names="End the sponsorship of Erika Sponsor?",
        says="links in the scorecards already sent to them stop working",
    )


def _undo(world, _monkeypatch) -> Step:
    staged = imports.stage_upload(
        world.provider,
        world.partnership.id,
        io.BytesIO(b"response_id,submitted_at,rating\nR1,2026-03-01,4\nR2,2026-03-02,5\n"),
        "march.csv",
    )
    mapping = imports.default_mapping(imports.open_staged(staged), None)
    record = imports.commit_upload(world.provider, staged, mapping)
    return Step(
        url=f"/partnerships/{world.partnership.id}/satisfaction/imports/{record.id}/undo",
        data={},
        done=lambda: db.session.get(SurveyImport, record.id).undone_at is not None,
        names="Undo the import of march.csv?",
        says="Undoing deletes the 2 responses this file added",
    )


def _issue(world, monkeypatch) -> Step:
    last_month = Month.current().previous()
    review = reviews.open_review(
        world.lead,
        world.partnership.id,
        kind=ReviewKind.MONTHLY,
        first_month=last_month,
        today=Month.current().first_day,
    )
    # The job renders a PDF in Chromium (test_review_pages does it): here, only whether the
    # page submits it.
    submitted: list[int] = []

    def submit_issue(user, review_id, *, confirm_stale_summary=False):
        submitted.append(review_id)
        return 1

    monkeypatch.setattr(issuing, "submit_issue", submit_issue)
    return Step(
        url=f"/partnerships/{world.partnership.id}/reviews/{review.id}/issue",
        data={"version": str(review.version)},
        done=lambda: submitted == [review.id],
        names="Issue version 1 of the scorecard?",
        says="cannot be withdrawn or deleted",
    )


STEPS = {"verify": _verify, "end": _end, "undo": _undo, "issue": _issue}


@pytest.fixture(params=list(STEPS))
def step(request, world, monkeypatch) -> Step:
    return STEPS[request.param](world, monkeypatch)


def _taken(step: Step) -> bool:
    db.session.expire_all()
    return step.done()


def test_the_page_names_the_object_and_says_what_cannot_be_undone(client, world, step):
    sign_in(client, world.lead.email)
    response = client.get(step.url)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    text = page_text(html)
    assert step.names in text
    assert step.says in text
    assert 'id="confirm-warning"' in html and 'name="confirm"' in html
    assert 'id="confirm-cancel"' in html
    assert not _taken(step)


def test_a_post_without_the_confirmation_does_nothing(client, world, step):
    sign_in(client, world.lead.email)
    token = csrf_token(client, step.url)
    response = client.post(step.url, data={"csrf_token": token, **step.data})
    assert response.status_code == 200
    assert "from the page that says what" in page_text(response.get_data(as_text=True))
    assert not _taken(step)


def test_the_confirmed_post_takes_the_step(client, world, step):
    sign_in(client, world.lead.email)
    token = csrf_token(client, step.url)
    response = client.post(step.url, data={"csrf_token": token, **step.data, "confirm": "yes"})
    assert response.status_code == 302
    assert _taken(step)


def test_another_partnerships_lead_does_not_find_it(client, world, step):
    sign_in(client, world.outsider.email)
    assert client.get(step.url).status_code == 404
    token = csrf_token(client, "/partnerships/")
    response = client.post(step.url, data={"csrf_token": token, **step.data, "confirm": "yes"})
    assert response.status_code == 404
    assert not _taken(step)


@pytest.mark.parametrize("who", ["provider", "sponsor", "viewer"])
def test_other_roles_are_refused(client, world, step, who):
    sign_in(client, world.user(who).email)
    assert client.get(step.url).status_code == 403
    token = csrf_token(client, "/partnerships/")
    response = client.post(step.url, data={"csrf_token": token, **step.data, "confirm": "yes"})
    assert response.status_code == 403
    assert not _taken(step)
