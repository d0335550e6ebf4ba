"""Expectations: the list with its due-for-review flag and filters, the CSV, the history of
wording and revisits, and the rules of each write."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.formatting import day
from mls_tracker.models import (
    AuditAction,
    AuditEntry,
    Expectation,
    ExpectationCategory,
    ExpectationRevision,
    RevisionKind,
    Side,
)
from mls_tracker.services import expectations as service
from mls_tracker.services.errors import Conflict, PermissionDenied, ValidationFailed
from tests import factories
from tests.conftest import csrf_token, sign_in
from tests.test_page_parts import first_view_and_revisit

TODAY = dt.date(2026, 6, 15)


@contextlib.contextmanager
def counted_queries() -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def _expectation(world) -> Expectation:
    return db.session.get(Expectation, world.ids["expectation_id"])


def _audit(object_type: str) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.object_type == object_type)
            .order_by(AuditEntry.id)
        )
    )


def _revisions(expectation_id: int) -> list[ExpectationRevision]:
    return list(
        db.session.scalars(
            sa.select(ExpectationRevision)
            .where(ExpectationRevision.expectation_id == expectation_id)
            .order_by(ExpectationRevision.id)
        )
    )


# ----------------------------------------------------------------------------- reading


def test_past_the_revisit_by_date_is_due_for_review(world):
    due = factories.create_expectation(
        world.partnership, "Reports arrive by the 5th", revisit_by=dt.date(2026, 6, 14)
    )
    on_the_day = factories.create_expectation(
        world.partnership, "Invoices are right", revisit_by=TODAY
    )
    db.session.commit()
    views = {v.id: v for v in service.list_expectations(world.partnership.id, TODAY)}
    assert views[due.id].due_for_review and views[due.id].days_past_revisit == 1
    assert not views[on_the_day.id].due_for_review
    assert not views[world.ids["expectation_id"]].due_for_review


def test_the_list_is_grouped_by_category_and_filtered(world):
    factories.create_expectation(
        world.partnership,
        "Monthly report",
        category=ExpectationCategory.COMMUNICATION,
        revisit_by=dt.date(2026, 1, 1),
    )
    client_owned = factories.create_expectation(
        world.partnership, "Client names SMEs", category=ExpectationCategory.OTHER
    )
    client_owned.owner_side = Side.CLIENT
    factories.create_expectation(world.other, "Not ours")
    db.session.commit()
    pid = world.partnership.id
    groups = service.grouped_by_category(service.list_expectations(pid, TODAY))
    assert [g.category for g in groups] == [
        ExpectationCategory.PERFORMANCE,
        ExpectationCategory.COMMUNICATION,
        ExpectationCategory.OTHER,
    ]
    only = service.list_expectations(pid, TODAY, category=ExpectationCategory.COMMUNICATION)
    assert [v.statement for v in only] == ["Monthly report"]
    assert [v.statement for v in service.list_expectations(pid, TODAY, due_only=True)] == [
        "Monthly report"
    ]
    assert [v.statement for v in service.list_expectations(pid, TODAY, owner_side=Side.CLIENT)] == [
        "Client names SMEs"
    ]


def test_the_list_takes_a_fixed_number_of_queries(world):
    pid = world.partnership.id
    with counted_queries() as few:
        service.list_expectations(pid, TODAY)
    for i in range(12):
        e = factories.create_expectation(world.partnership, f"Statement {i}")
        e.revisions.append(ExpectationRevision(kind=RevisionKind.REWORDED, previous_statement="x"))
    db.session.commit()
    with counted_queries() as many:
        views = service.list_expectations(pid, TODAY)
    assert len(views) == 13
    assert len(many) == len(few) <= 2


def _create(world, actor=None, **overrides):
    values = {
        "category": ExpectationCategory.SERVICE_LEVEL,
        "statement": "Tickets are answered within one working day",
        "owner_side": Side.PROVIDER,
        "agreed_on": dt.date(2026, 1, 10),
        "revisit_by": dt.date(2026, 12, 31),
    }
    values.update(overrides)
    return service.create_expectation(actor or world.lead, world.partnership, **values)


def test_a_lead_agrees_an_expectation_and_it_is_audited(app, world):
    with app.test_request_context():
        expectation = _create(world)
    entry = _audit("Expectation")[-1]
    assert entry.action is AuditAction.INSERT and entry.object_id == str(expectation.id)
    assert entry.actor_id == world.lead.id
    assert entry.partnership_id == world.partnership.id


def test_revisit_by_before_the_agreement_is_refused(app, world):
    count = db.session.scalar(sa.select(sa.func.count(Expectation.id)))
    with app.test_request_context(), pytest.raises(ValidationFailed) as error:
        _create(world, revisit_by=dt.date(2025, 12, 31))
    assert error.value.field == "revisit_by"
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Expectation.id))) == count


def test_a_blank_statement_is_refused(app, world):
    with app.test_request_context(), pytest.raises(ValidationFailed) as error:
        _create(world, statement="   ")
    assert error.value.field == "statement"


@pytest.mark.parametrize("who", ["provider", "sponsor", "viewer", "outsider"])
def test_only_leads_write_expectations(app, world, who):
    expectation = _expectation(world)
    with app.test_request_context():
        with pytest.raises(PermissionDenied):
            _create(world, actor=world.user(who))
        with pytest.raises(PermissionDenied):
            service.revisit_expectation(
                world.user(who),
                expectation,
                revisited_on=TODAY,
                next_revisit_by=TODAY + dt.timedelta(days=90),
                note=None,
                today=TODAY,
            )


def _update(world, expectation, actor=None, **overrides):
    values = {
        "category": expectation.category,
        "statement": expectation.statement,
        "owner_side": expectation.owner_side,
        "agreed_on": expectation.agreed_on,
        "revisit_by": expectation.revisit_by,
        "expected_version": expectation.version,
    }
    values.update(overrides)
    return service.update_expectation(actor or world.lead, expectation, **values)


def test_rewording_keeps_the_earlier_wording(app, world):
    expectation = _expectation(world)
    earlier = expectation.statement
    with app.test_request_context():
        _update(world, expectation, statement="Learners complete 90% of the courses they start")
        _update(world, expectation, revisit_by=dt.date(2027, 1, 31))  # same wording
    (revision,) = _revisions(expectation.id)
    assert revision.kind is RevisionKind.REWORDED
    assert revision.previous_statement == earlier
    assert revision.author_id == world.lead.id
    history = service.history(expectation)
    assert [h.kind for h in history] == ["reworded", "agreed"]
    assert history[0].previous_statement == earlier
    updates = [e for e in _audit("Expectation") if e.action is AuditAction.UPDATE]
    assert updates[0].changes["statement"][0] == earlier
    assert _audit("ExpectationRevision")[0].actor_id == world.lead.id


def test_a_stale_edit_is_refused_and_overwrites_nothing(app, world):
    expectation = _expectation(world)
    stale = expectation.version
    with app.test_request_context():
        _update(world, expectation, statement="First save wins")
        with pytest.raises(Conflict) as error:
            _update(world, expectation, statement="Second save loses", expected_version=stale)
    assert "Someone else changed this expectation" in str(error.value)
    db.session.expire_all()
    assert _expectation(world).statement == "First save wins"
    assert len(_revisions(expectation.id)) == 1


def test_marking_revisited_records_it_and_sets_the_next_date(app, world):
    expectation = _expectation(world)
    with app.test_request_context():
        service.revisit_expectation(
            world.lead,
            expectation,
            revisited_on=dt.date(2026, 6, 1),
            next_revisit_by=dt.date(2027, 6, 1),
            note="Still right.",
            today=TODAY,
        )
    db.session.expire_all()
    saved = _expectation(world)
    assert saved.revisit_by == dt.date(2027, 6, 1)
    (revision,) = _revisions(saved.id)
    assert (revision.kind, revision.revisited_on, revision.next_revisit_by, revision.note) == (
        RevisionKind.REVISITED,
        dt.date(2026, 6, 1),
        dt.date(2027, 6, 1),
        "Still right.",
    )
    assert revision.author_id == world.lead.id
    assert service.list_expectations(world.partnership.id, TODAY)[0].last_revisited_on == (
        dt.date(2026, 6, 1)
    )
    assert [e.action for e in _audit("ExpectationRevision")] == [AuditAction.INSERT]


@pytest.mark.parametrize(
    ("revisited_on", "next_revisit_by", "field"),
    [
        (dt.date(2026, 6, 1), dt.date(2026, 6, 1), "next_revisit_by"),
        (dt.date(2026, 6, 1), dt.date(2026, 5, 1), "next_revisit_by"),
        (dt.date(2026, 6, 20), dt.date(2027, 6, 1), "revisited_on"),  # in the future
        (dt.date(2024, 1, 1), dt.date(2027, 6, 1), "revisited_on"),  # before the agreement
    ],
)
def test_bad_revisits_are_refused(app, world, revisited_on, next_revisit_by, field):
    expectation = _expectation(world)
    with app.test_request_context(), pytest.raises(ValidationFailed) as error:
        service.revisit_expectation(
            world.lead,
            expectation,
            revisited_on=revisited_on,
            next_revisit_by=next_revisit_by,
            note=None,
            today=TODAY,
        )
    assert error.value.field == field
    db.session.rollback()
    assert _revisions(expectation.id) == []


# ----------------------------------------------------------------------------- pages


def _url(world, suffix=""):
    return f"/partnerships/{world.partnership.id}/expectations/{suffix}"


def test_the_list_flags_expectations_due_for_review(client, world):
    factories.create_expectation(
        world.partnership, "Reports arrive by the 5th", revisit_by=dt.date(2025, 6, 1)
    )
    db.session.commit()
    sign_in(client, world.provider.email)
    html = client.get(_url(world)).get_data(as_text=True)
    assert "Due for review</span>" in html
    assert "1 due for review" in html
    assert "Performance" in html and "Provider owns it" in html
    assert "Add an expectation" not in html and "Mark revisited" not in html
    due_only = client.get(_url(world) + "?due=1").get_data(as_text=True)
    assert "Reports arrive by the 5th" in due_only
    assert "Learners complete the courses they start" not in due_only


def test_the_csv_export_is_an_attachment_with_neutralised_cells(client, world):
    factories.create_expectation(world.partnership, '=HYPERLINK("http://evil")')
    db.session.commit()
    sign_in(client, world.viewer.email)
    response = client.get(_url(world, "export.csv"))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # Excel reads UTF-8 with a BOM
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == list(service.CSV_COLUMNS)
    statements = {row[1] for row in rows[1:]}
    assert '\'=HYPERLINK("http://evil")' in statements
    assert "Learners complete the courses they start" in statements
    filtered = client.get(_url(world, "export.csv") + "?category=communication")
    assert len(list(csv.reader(io.StringIO(filtered.get_data(as_text=True))))) == 1


def _post(client, world, suffix, **data):
    token = csrf_token(client, _url(world, suffix))
    return client.post(_url(world, suffix), data={"csrf_token": token, **data})


def test_adding_an_expectation_through_the_form(client, world):
    sign_in(client, world.lead.email)
    response = _post(
        client,
        world,
        "new",
        category="communication",
        statement="Apex sends the monthly report by the 5th working day",
        owner_side="provider",
        agreed_on="2026-01-10",
        revisit_by="2026-12-31",
    )
    assert response.status_code == 302
    assert db.session.scalar(
        sa.select(Expectation).where(Expectation.category == ExpectationCategory.COMMUNICATION)
    )


def test_a_revisit_by_before_agreement_is_shown_next_to_the_field(client, world):
    sign_in(client, world.lead.email)
    count = db.session.scalar(sa.select(sa.func.count(Expectation.id)))
    response = _post(
        client,
        world,
        "new",
        category="communication",
        statement="Typed text survives",
        owner_side="provider",
        agreed_on="2026-01-10",
        revisit_by="2025-12-31",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    at = html.index('id="revisit_by-error"')
    assert "cannot be before the day it was agreed" in html[at : at + 200]
    assert "Typed text survives" in html
    assert db.session.scalar(sa.select(sa.func.count(Expectation.id))) == count


def test_history_keeps_the_earlier_wording(client, world):
    expectation = _expectation(world)
    sign_in(client, world.lead.email)
    response = _post(
        client,
        world,
        f"{expectation.id}/edit",
        category="performance",
        statement="Learners complete 90% of the courses they start",
        owner_side="provider",
        agreed_on="2025-01-10",
        revisit_by="2026-12-31",
        version=str(expectation.version),
    )
    assert response.status_code == 302
    html = client.get(_url(world, str(expectation.id))).get_data(as_text=True)
    assert "Learners complete 90% of the courses they start" in html
    assert "Reworded" in html and "Earlier wording" in html
    assert "<del>Learners complete the courses they start</del>" in html


def test_a_stale_edit_through_the_form_shows_both_versions(client, world):
    expectation = _expectation(world)
    sign_in(client, world.lead.email)
    token = csrf_token(client, _url(world, f"{expectation.id}/edit"))
    old_version = expectation.version
    expectation.statement = "Saved by someone else"
    db.session.commit()
    response = client.post(
        _url(world, f"{expectation.id}/edit"),
        data={
            "csrf_token": token,
            "category": "performance",
            "statement": "My wording",
            "owner_side": "provider",
            "agreed_on": "2025-01-10",
            "revisit_by": "2026-12-31",
            "version": str(old_version),
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Someone else changed this expectation while you were editing" in html
    assert "My wording" in html and "Saved by someone else" in html
    db.session.expire_all()
    assert _expectation(world).statement == "Saved by someone else"


def test_revisit_through_the_form_sets_the_next_date(client, world):
    expectation = _expectation(world)
    sign_in(client, world.lead.email)
    today = dt.datetime.now(dt.UTC).date()
    page = client.get(_url(world, f"{expectation.id}/revisit")).get_data(as_text=True)
    assert f'value="{day(today)}"' in page, "the revisit date defaults to today"
    next_date = today + dt.timedelta(days=180)
    response = _post(
        client,
        world,
        f"{expectation.id}/revisit",
        revisited_on=today.isoformat(),
        note="Checked at the QBR",
        next_revisit_by=next_date.isoformat(),
        version=str(expectation.version),
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert _expectation(world).revisit_by == next_date
    html = client.get(_url(world, str(expectation.id))).get_data(as_text=True)
    assert "Revisited" in html and "Checked at the QBR" in html


def test_a_next_revisit_before_the_revisit_is_refused_by_the_form(client, world):
    expectation = _expectation(world)
    sign_in(client, world.lead.email)
    response = _post(
        client,
        world,
        f"{expectation.id}/revisit",
        revisited_on="2026-06-01",
        next_revisit_by="2026-05-01",
        version=str(expectation.version),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="next_revisit_by-error"' in html and "must be after the revisit date" in html
    assert _revisions(expectation.id) == []


@pytest.mark.parametrize("who", ["provider", "sponsor", "viewer"])
def test_a_non_lead_posting_to_write_routes_changes_nothing(client, world, who):
    expectation = _expectation(world)
    sign_in(client, world.user(who).email)
    token = csrf_token(client, _url(world))
    audit = db.session.scalar(sa.select(sa.func.count(AuditEntry.id)))
    base = {
        "category": "other",
        "statement": "Hijacked",
        "owner_side": "client",
        "agreed_on": "2025-01-10",
        "revisit_by": "2030-01-01",
    }
    posts = {
        "new": base,
        f"{expectation.id}/edit": {**base, "version": str(expectation.version)},
        f"{expectation.id}/revisit": {
            "revisited_on": "2026-01-01",
            "next_revisit_by": "2030-01-01",
            "version": str(expectation.version),
        },
    }
    for suffix, data in posts.items():
        response = client.post(_url(world, suffix), data={"csrf_token": token, **data})
        assert response.status_code == 403
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == audit
    saved = _expectation(world)
    assert (saved.statement, saved.revisit_by) == (
        "Learners complete the courses they start",
        dt.date(2026, 12, 31),
    )


def test_an_expectation_of_another_partnership_is_not_found(client, world):
    foreign = factories.create_expectation(world.other, "Not yours")
    db.session.commit()
    sign_in(client, world.lead.email)
    assert client.get(_url(world, str(foreign.id))).status_code == 404


def test_a_stale_revisit_is_refused(app, world):
    expectation = _expectation(world)
    stale = expectation.version
    with app.test_request_context():
        _update(world, expectation, revisit_by=dt.date(2027, 3, 31))
        with pytest.raises(Conflict):
            service.revisit_expectation(
                world.lead,
                expectation,
                revisited_on=TODAY,
                next_revisit_by=dt.date(2028, 1, 1),
                note=None,
                today=TODAY,
                expected_version=stale,
            )
    db.session.expire_all()
    assert _expectation(world).revisit_by == dt.date(2027, 3, 31)
    assert _revisions(expectation.id) == []


def test_the_expectations_page_makes_the_same_number_of_queries_for_more_rows(client, world):
    sign_in(client, world.lead.email)
    url = _url(world)
    client.get(url)  # the session's own first-request work
    factories.create_expectation(world.partnership, "The first statement")
    db.session.commit()
    few = first_view_and_revisit(client, url)
    for i, category in enumerate(ExpectationCategory):
        expectation = factories.create_expectation(
            world.partnership, f"Statement {i}", category=category
        )
        expectation.revisions.append(
            ExpectationRevision(kind=RevisionKind.REWORDED, previous_statement="Earlier")
        )
    db.session.commit()
    many = first_view_and_revisit(client, url)
    assert many == few
    assert few[1] < few[0]  # the revisit computes nothing again
