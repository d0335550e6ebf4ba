"""Simultaneous saves of one record (issue 16, points 1 and 3): the loser gets the clear
"someone else saved first" answer with both versions — what they typed, kept in the form, and
what is stored now — never a 500, and no accepted save is lost or silently overwritten.

The deterministic tests commit another person's save on a connection of their own at the
moment a real race hits: after the request has loaded its copy (and checked its version), before
it flushes. The live tests fire simultaneous POSTs at one action item through a threaded HTTP
server: on PostgreSQL (marked, skipped without TEST_DATABASE_URL) and on SQLite."""

from __future__ import annotations

import datetime as dt
import html
import http.client
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from urllib.parse import urlencode, urlsplit

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.formatting import day
from mls_tracker.models import (
    ActionItem,
    ActionStatus,
    ActionUpdate,
    Meeting,
    MeetingState,
    Sla,
    SlaTarget,
)
from mls_tracker.periods import Month, utc_today
from mls_tracker.services import meetings
from mls_tracker.services import slas as sla_service
from mls_tracker.services.errors import Conflict, ValidationFailed
from mls_tracker.services.locking import guarded_save
from tests import factories
from tests.conftest import PASSWORD, csrf_token, page_text, sign_in
from tests.live_server import LiveServer

ACTION_STALE = "Someone else saved this action item"
MEETING_STALE = "Someone else changed this meeting"
TARGET_STALE = "Someone else saved a target of this SLA"


@contextmanager
def another_save_after_load(model: type, save: Callable[[sa.Connection], None]) -> Iterator[None]:
    """Run ``save`` — another person's save, committed on its own connection — right after
    the request loads its copy of a ``model`` row: the request checks the version it loaded
    and only then meets the other save at its flush, as in a real race."""
    done: list[bool] = []

    def on_load(_target: object, _context: object) -> None:
        if not done:
            done.append(True)
            with db.engine.begin() as connection:
                save(connection)

    sa.event.listen(model, "load", on_load)
    try:
        yield
    finally:
        sa.event.remove(model, "load", on_load)
    assert done, f"no {model.__name__} was loaded: the other save never ran"


def _days(n: int) -> dt.date:
    return utc_today() + dt.timedelta(days=n)


def _action_url(item: ActionItem, what: str = "") -> str:
    base = f"/partnerships/{item.partnership_id}/actions/{item.id}"
    return f"{base}/{what}" if what else base


def _timeline(item_id: int) -> list[str | None]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(ActionUpdate.text)
            .where(ActionUpdate.action_item_id == item_id)
            .order_by(ActionUpdate.id)
        )
    )


def _their_action_save(item_id: int, author_id: int) -> Callable[[sa.Connection], None]:
    """Another person's update of the item: blocked, with a note on the timeline."""
    items, updates = ActionItem.__table__, ActionUpdate.__table__

    def save(connection: sa.Connection) -> None:
        connection.execute(
            sa.update(items)
            .where(items.c.id == item_id)
            .values(
                status=ActionStatus.BLOCKED,
                title="Their title",
                version=items.c.version + 1,
            )
        )
        connection.execute(
            sa.insert(updates).values(
                action_item_id=item_id,
                author_id=author_id,
                text="Their note: waiting for the vendor.",
                old_status=ActionStatus.OPEN,
                new_status=ActionStatus.BLOCKED,
            )
        )

    return save


# ----------------------------------------------------------------------------- point 1


def test_an_update_that_loses_the_race_at_its_flush_gets_the_conflict_with_both_versions(
    client, world
):
    item = factories.create_action(world.partnership, due_on=_days(5), owner=world.provider)
    db.session.commit()
    sign_in(client, world.provider.email)
    token = csrf_token(client, _action_url(item))
    with another_save_after_load(ActionItem, _their_action_save(item.id, world.lead.id)):
        response = client.post(
            _action_url(item, "update"),
            data={
                "csrf_token": token,
                "status": "in progress",
                "note": "My note: draft sent.",
                "evidence_url": "https://docs.example.com/mine",
                "version": "1",
            },
        )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert ACTION_STALE in page
    # Theirs, as stored now …
    current = page[page.index('id="current-version"') :]
    assert "Their note: waiting for the vendor." in current and "Blocked" in current
    # … and mine, kept in the form to post again.
    assert "\nMy note: draft sent.</textarea>" in page
    assert 'value="https://docs.example.com/mine"' in page
    assert 'name="version" type="hidden" value="2"' in page
    assert _timeline(item.id) == ["Their note: waiting for the vendor."]


def test_a_status_edit_that_loses_the_race_gets_the_conflict_with_both_versions(client, world):
    item = factories.create_action(world.partnership, due_on=_days(5), owner=world.provider)
    db.session.commit()
    sign_in(client, world.lead.email)
    url = _action_url(item, "edit")
    token = csrf_token(client, url)
    data = {
        "csrf_token": token,
        "title": "My title",
        "description": "",
        "owner_side": "provider",
        "owner_id": "0",
        "due_on": _days(9).isoformat(),
        "priority": "high",
        "status": "done",
        "sla_id": "0",
        "challenge_id": "0",
        "version": "1",
    }
    with another_save_after_load(ActionItem, _their_action_save(item.id, world.provider.id)):
        response = client.post(url, data=data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert ACTION_STALE in page
    current = page[page.index('id="current-version"') :]
    assert "Their title" in current and "Blocked" in current
    assert "Their note: waiting for the vendor." in current
    assert 'value="My title"' in page, "what the lead typed stays in the form"
    db.session.expire_all()
    saved = db.session.get(ActionItem, item.id)
    assert (saved.title, saved.status, saved.version) == ("Their title", ActionStatus.BLOCKED, 2)
    assert _timeline(item.id) == ["Their note: waiting for the vendor."]


def test_minutes_saved_while_someone_else_saves_keep_both_versions(client, world):
    meeting = meetings.plan_meeting(
        world.lead,
        world.partnership,
        held_on=utc_today(),
        kind="monthly",
        reviewed_month=Month.of(utc_today()).previous(),
        today=utc_today(),
    )
    meeting_id = meeting.id
    sign_in(client, world.lead.email)
    url = f"/partnerships/{world.partnership.id}/meetings/{meeting_id}/hold"
    token = csrf_token(client, url)
    table = Meeting.__table__

    def their_save(connection: sa.Connection) -> None:
        connection.execute(
            sa.update(table)
            .where(table.c.id == meeting_id)
            .values(minutes="Their minutes.", version=table.c.version + 1)
        )

    with another_save_after_load(Meeting, their_save):
        response = client.post(
            url,
            data={
                "csrf_token": token,
                "version": "1",
                "minutes": "My minutes: the LMS outage.",
                "challenges": "Slow LMS",
                "decisions": "Escalate",
                f"present-user-{world.lead.id}": "y",
            },
        )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert MEETING_STALE in page
    current = page[page.index('id="current-version"') :]
    assert "Their minutes." in current
    # Nothing typed is lost: minutes, challenges, decisions and the ticks stay in the form.
    assert "My minutes: the LMS outage.</textarea>" in page
    assert "Slow LMS</textarea>" in page and "Escalate</textarea>" in page
    assert re.search(rf'name="present-user-{world.lead.id}"[^>]*checked', page)
    db.session.expire_all()
    saved = db.session.get(Meeting, meeting_id)
    assert (saved.minutes, saved.state, saved.version) == (
        "Their minutes.",
        MeetingState.PLANNED,
        2,
    )


def test_a_stale_reschedule_keeps_what_was_typed_beside_what_is_saved(client, world):
    meeting = meetings.plan_meeting(
        world.lead,
        world.partnership,
        held_on=_days(10),
        kind="monthly",
        reviewed_month=Month.of(utc_today()),
        today=utc_today(),
    )
    sign_in(client, world.lead.email)
    url = f"/partnerships/{world.partnership.id}/meetings/{meeting.id}/edit"
    token = csrf_token(client, url)
    meetings.update_meeting(  # someone else moves it first
        world.lead,
        meeting,
        held_on=_days(12),
        kind="quarterly business review",
        reviewed_month=Month.of(utc_today()),
        expected_version=1,
    )
    response = client.post(
        url,
        data={
            "csrf_token": token,
            "starts": f"{_days(20).isoformat()} 10:00",
            "duration": "60",
            "kind": "executive steering",
            "reviewed_month": str(Month.of(utc_today())),
            "version": "1",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and MEETING_STALE in page
    current = page_text(page[page.index('id="current-version"') :])
    assert "Quarterly business review" in current
    assert f'value="{day(_days(20))} 10:00"' in page, "the date typed stays in the form"
    assert 'name="version" type="hidden" value="2"' in page


def test_a_unique_violation_by_a_concurrent_insert_is_a_clear_refusal(app, world):
    sla_id = world.ids["sla_id"]
    month = Month(2030, 1)
    with db.engine.begin() as connection:  # another lead's target for that month, meanwhile
        connection.execute(
            sa.insert(SlaTarget.__table__).values(
                sla_id=sla_id, effective_from=month, target=80, at_risk_threshold=70
            )
        )
    guard = guarded_save(
        "stale",
        duplicate_message="A target was set for that month meanwhile.",
        duplicate_field="applies_from",
    )
    with pytest.raises(ValidationFailed, match="set for that month meanwhile") as refused, guard:
        db.session.add(
            SlaTarget(sla_id=sla_id, effective_from=month, target=95, at_risk_threshold=90)
        )
    assert refused.value.field == "applies_from"
    # Rolled back: the session works on, and the other lead's target stands.
    assert db.session.scalars(
        sa.select(SlaTarget.target).where(SlaTarget.effective_from == month)
    ).all() == [80]
    with pytest.raises(Conflict, match="stale"), guarded_save("stale"):
        db.session.add(
            SlaTarget(sla_id=sla_id, effective_from=month, target=1, at_risk_threshold=1)
        )


def test_a_save_kept_waiting_by_another_writer_is_a_conflict_not_a_500(app, world):
    """SQLite: another writer holds the database past the busy timeout ("database is
    locked"); PostgreSQL: another transaction holds the row past the lock timeout."""
    item = factories.create_action(world.partnership, due_on=_days(5), owner=world.provider)
    db.session.commit()
    dialect = db.engine.dialect.name
    with db.engine.connect() as other:
        if dialect == "sqlite":
            other.exec_driver_sql("BEGIN IMMEDIATE")  # the other writer's lock
            db.session.execute(sa.text("PRAGMA busy_timeout=200"))
        else:
            other.execute(
                sa.select(ActionItem.id).where(ActionItem.id == item.id).with_for_update()
            )
            db.session.execute(sa.text("SET LOCAL lock_timeout = '200ms'"))
        try:
            with pytest.raises(Conflict, match="saved first"), guarded_save("saved first"):
                item.title = "Mine"
        finally:
            other.rollback()
            if dialect == "sqlite":
                db.session.execute(sa.text("PRAGMA busy_timeout=5000"))
                db.session.commit()
    db.session.expire_all()
    assert db.session.get(ActionItem, item.id).title == "Send the completion report"


# ----------------------------------------------------------------------------- point 3


def _target_url(world) -> str:
    return f"/partnerships/{world.partnership.id}/slas/{world.ids['sla_id']}/target"


def _target_form(token: str, version: str, target: str, at_risk: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "version": version,
        "target": target,
        "at_risk_threshold": at_risk,
        "applies_from": str(sla_service.this_month().next()),
    }


def _targets_next_month(world) -> list[Decimal]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(SlaTarget.target).where(
                SlaTarget.sla_id == world.ids["sla_id"],
                SlaTarget.effective_from == sla_service.this_month().next(),
            )
        )
    )


def test_two_leads_setting_targets_for_one_month_the_second_is_refused_with_both(
    client, app, world
):
    second_lead = factories.create_user("second.lead@example.com", "Second Lead")
    factories.add_member(second_lead, world.partnership, factories.Role.LEAD)
    db.session.commit()
    url = _target_url(world)
    sign_in(client, world.lead.email)
    page = client.get(url).get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page)
    assert version, "the target form carries the SLA's version it was filled from"
    mine_token = csrf_token(client, url)
    # The other lead opened the form at the same time and saves first.
    other = app.test_client()
    sign_in(other, second_lead.email)
    first = other.post(url, data=_target_form(csrf_token(other, url), version[1], "96", "94"))
    assert first.status_code == 302
    response = client.post(url, data=_target_form(mine_token, version[1], "92", "88"))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert TARGET_STALE in page
    conflict = page_text(page[page.index('id="target-conflict"') :])
    assert "≥ 96%" in conflict and "by Second Lead" in conflict, "what is saved now"
    assert "≥ 92%" in conflict, "and what I typed"
    assert 'value="92"' in page and 'value="88"' in page, "kept in the form"
    assert _targets_next_month(world) == [96], "the first target is not overwritten"
    # Saving again, from the version now shown, is a deliberate replacement.
    fresh = re.search(r'name="version" type="hidden" value="(\d+)"', page)[1]
    assert fresh != version[1]
    again = client.post(url, data=_target_form(csrf_token(client, url), fresh, "92", "88"))
    assert again.status_code == 302
    assert _targets_next_month(world) == [92]


def test_a_target_that_loses_the_race_at_its_flush_is_refused(client, world):
    sla_id = world.ids["sla_id"]
    month = sla_service.this_month().next()
    slas, targets = Sla.__table__, SlaTarget.__table__

    def their_target(connection: sa.Connection) -> None:
        connection.execute(
            sa.insert(targets).values(
                sla_id=sla_id, effective_from=month, target=97, at_risk_threshold=95
            )
        )
        connection.execute(
            sa.update(slas).where(slas.c.id == sla_id).values(version=slas.c.version + 1)
        )

    sign_in(client, world.lead.email)
    url = _target_url(world)
    token = csrf_token(client, url)
    with another_save_after_load(Sla, their_target):
        response = client.post(url, data=_target_form(token, "1", "92", "88"))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert TARGET_STALE in page and "≥ 97%" in page_text(page)
    assert _targets_next_month(world) == [97]


def test_set_target_refuses_a_stale_version_and_moves_the_version(world):
    sla = db.session.get(Sla, world.ids["sla_id"])
    version = sla.version
    month = sla_service.this_month().next()
    sla_service.set_target(
        world.lead,
        sla,
        target=Decimal(95),
        at_risk_threshold=Decimal(93),
        applies_from=month,
        expected_version=version,
    )
    assert sla.version == version + 1, "a target is a save of the SLA"
    with pytest.raises(sla_service.TargetChanged) as refused:
        sla_service.set_target(
            world.lead,
            sla,
            target=Decimal(91),
            at_risk_threshold=Decimal(89),
            applies_from=month,
            expected_version=version,
        )
    saved = refused.value.saved
    assert (saved.target, saved.effective_from, saved.version) == (95, month, version + 1)
    assert _targets_next_month(world) == [95]


# ----------------------------------------------------------------------------- live


class _Desk:
    """One person's browser: their own cookies, plain HTTP to the live server."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.cookies: dict[str, str] = {}

    def copy(self) -> _Desk:
        desk = _Desk(f"http://{self.host}:{self.port}")
        desk.cookies = dict(self.cookies)
        return desk

    def request(self, method: str, path: str, data: dict | None = None) -> tuple[int, str]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if data is not None:
            body = urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
            return response.status, text
        finally:
            connection.close()

    def token_and_version(self, path: str) -> tuple[str, str]:
        status, page = self.request("GET", path)
        assert status == 200, (path, status)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        version = re.search(r'name="version" type="hidden" value="(\d+)"', page)
        assert token and version, path
        return html.unescape(token[1]), version[1]


def _signed_in(base_url: str, email: str) -> _Desk:
    desk = _Desk(base_url)
    status, page = desk.request("GET", "/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token
    status, _ = desk.request(
        "POST", "/login", {"email": email, "password": PASSWORD, "csrf_token": token[1]}
    )
    assert status == 302, "signed in"
    return desk


def _fire_simultaneous_saves(app, world, *, rounds: int = 2, people: int = 20) -> None:
    item = factories.create_action(world.partnership, due_on=_days(5), owner=world.provider)
    db.session.commit()
    show, update, edit = _action_url(item), _action_url(item, "update"), _action_url(item, "edit")
    answers: list[tuple[str, int, str]] = []
    lock = threading.Lock()
    with LiveServer(app) as server:
        provider = _signed_in(server.url, world.provider.email)
        lead = _signed_in(server.url, world.lead.email)
        barrier = threading.Barrier(people)

        def person(index: int) -> None:
            editing = index % 5 == 4  # every fifth person edits the item, changing its status
            desk = (lead if editing or index % 2 else provider).copy()
            for turn in range(rounds):
                token, version = desk.token_and_version(edit if editing else show)
                statuses = ("in progress", "blocked", "open", "done")
                status = statuses[(index + turn) % len(statuses)]
                if editing:
                    data = {
                        "title": f"Edited by {index}",
                        "description": "",
                        "owner_side": "provider",
                        "owner_id": "0",
                        "due_on": _days(7).isoformat(),
                        "priority": "high",
                        "status": status,
                        "sla_id": "0",
                        "challenge_id": "0",
                    }
                else:
                    data = {"status": status, "note": f"Note {index}.{turn}", "evidence_url": ""}
                barrier.wait(timeout=60)
                code, page = desk.request(
                    "POST",
                    edit if editing else update,
                    {**data, "csrf_token": token, "version": version},
                )
                with lock:
                    answers.append(("edit" if editing else f"Note {index}.{turn}", code, page))

        threads = [threading.Thread(target=person, args=(i,)) for i in range(people)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert len(answers) == rounds * people
    codes = sorted(code for _, code, _ in answers)
    assert 500 not in codes, f"answers by status: {codes}"
    for what, code, page in answers:
        assert code == 302 or (code == 200 and ACTION_STALE in page), (what, code)
    # No accepted save is lost: every success left its entry on the timeline, and only they.
    accepted_notes = sorted(what for what, code, _ in answers if code == 302 and what != "edit")
    timeline = _timeline(item.id)
    notes = sorted(text for text in timeline if text and text.startswith("Note "))
    assert notes == accepted_notes
    accepted = sum(1 for _, code, _ in answers if code == 302)
    edits_that_changed_status = len(timeline) - len(notes)
    assert accepted >= rounds
    assert edits_that_changed_status <= accepted - len(accepted_notes)


def _fire_simultaneous_minutes(app, world, *, people: int = 10) -> None:
    """``people`` leads save the record of one held meeting at the same moment."""
    meeting = meetings.plan_meeting(
        world.lead,
        world.partnership,
        held_on=utc_today(),
        kind="monthly",
        reviewed_month=Month.of(utc_today()).previous(),
        today=utc_today(),
    )
    meetings.hold_meeting(
        world.lead,
        meeting,
        attendance={},
        minutes="First minutes.",
        successes=None,
        challenges="Slow LMS",
        decisions=None,
        expected_version=meeting.version,
    )
    meeting_id, first_version = meeting.id, meeting.version
    url = f"/partnerships/{world.partnership.id}/meetings/{meeting_id}/hold"
    answers: list[tuple[str, int, str]] = []
    lock = threading.Lock()
    with LiveServer(app) as server:
        lead = _signed_in(server.url, world.lead.email)
        barrier = threading.Barrier(people)

        def person(index: int) -> None:
            desk = lead.copy()
            token, version = desk.token_and_version(url)
            minutes = f"Minutes by {index}."
            data = {
                "csrf_token": token,
                "version": version,
                "minutes": minutes,
                "challenges": f"Slow LMS\nChallenge {index}",
                f"present-user-{world.lead.id}": "y",
            }
            barrier.wait(timeout=60)
            code, page = desk.request("POST", url, data)
            with lock:
                answers.append((minutes, code, page))

        threads = [threading.Thread(target=person, args=(i,)) for i in range(people)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert len(answers) == people
    codes = sorted(code for _, code, _ in answers)
    assert 500 not in codes, f"answers by status: {codes}"
    for minutes, code, page in answers:
        assert code == 302 or (code == 200 and MEETING_STALE in page), (minutes, code)
    accepted = [minutes for minutes, code, _ in answers if code == 302]
    db.session.expire_all()
    stored = db.session.get(Meeting, meeting_id)
    # Every accepted save moved the version once: none overwrote another unseen.
    assert accepted and stored.version - first_version == len(accepted)
    assert stored.minutes in accepted


@pytest.mark.postgres
def test_simultaneous_saves_on_postgresql(app, world):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("TEST_DATABASE_URL does not point at PostgreSQL")
    _fire_simultaneous_saves(app, world)
    _fire_simultaneous_minutes(app, world)


def test_simultaneous_saves_on_sqlite(app, world):
    """SQLite, the embedded default (WAL, 5 s busy timeout): writers queue, none is refused
    with "database is locked" at this load; if one were, it would get the conflict answer."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the SQLite run of the live test")
    _fire_simultaneous_saves(app, world)
    _fire_simultaneous_minutes(app, world)
