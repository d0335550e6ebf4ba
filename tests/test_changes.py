"""The change-management log: who may log, edit and delete, validation, the list's marks,
sorting, filters and CSV, and the audit trail."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import AuditAction, AuditEntry, Change, ChangeStatus, ChangeType
from mls_tracker.periods import utc_today
from mls_tracker.services import changes as service
from mls_tracker.services.errors import Conflict, PermissionDenied
from tests import factories
from tests.conftest import csrf_token, sign_in


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


def _region(world, name):
    return next(r for r in world.partnership.regions if r.name == name)


def _url(world, suffix=""):
    return f"/partnerships/{world.partnership.id}/changes/{suffix}"


def _change(world, title="LMS upgrade", **values) -> Change:
    regions = values.pop("regions", [])
    change = Change(
        partnership_id=world.partnership.id,
        title=title,
        change_type=values.pop("change_type", ChangeType.TECHNOLOGY),
        status=values.pop("status", ChangeStatus.PLANNED),
        created_by_id=values.pop("created_by_id", world.lead.id),
        **values,
    )
    change.regions = regions
    db.session.add(change)
    db.session.commit()
    return change


def _audit(object_id: int) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.object_type == "Change", AuditEntry.object_id == str(object_id))
            .order_by(AuditEntry.id)
        )
    )


def _post(client, url, data):
    return client.post(url, data={"csrf_token": csrf_token(client, url), **data})


def _count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Change))


def _values(world, **overrides) -> dict:
    values = {
        "title": "Help-desk moves to follow-the-sun",
        "change_type": "process",
        "status": "planned",
        "planned_on": (utc_today() + dt.timedelta(days=10)).isoformat(),
        "region_ids": [str(_region(world, "EMEA").id)],
        "owner_id": str(world.provider.id),
        "description": "Three hubs share the day.",
        "communication_plan": "Newsletter two weeks before.",
    }
    values.update(overrides)
    return values


# ----------------------------------------------------------------------------- service


def test_a_provider_logs_a_change_and_it_is_audited(world):
    emea = _region(world, "EMEA")
    change = service.log_change(
        world.provider,
        world.partnership,
        title="  New LMS  ",
        description=None,
        change_type="technology",
        planned_on=dt.date(2026, 5, 1),
        communication_plan=None,
        owner_id=world.lead.id,
        status="planned",
        region_ids=[emea.id],
    )
    assert change.title == "New LMS"
    assert change.created_by_id == world.provider.id
    assert [r.name for r in change.regions] == ["EMEA"]
    [entry] = _audit(change.id)
    assert entry.action is AuditAction.INSERT
    assert entry.actor_id == world.provider.id


@pytest.mark.parametrize("who", ["sponsor", "viewer"])
def test_sponsors_and_viewers_may_not_log_a_change(world, who):
    with pytest.raises(PermissionDenied):
        service.log_change(
            world.user(who),
            world.partnership,
            title="x",
            description=None,
            change_type="technology",
            planned_on=None,
            communication_plan=None,
            owner_id=None,
            status="planned",
            region_ids=[],
        )


def test_a_provider_may_not_edit_or_delete(world):
    change = _change(world)
    with pytest.raises(PermissionDenied):
        service.delete_change(world.provider, change, expected_version=change.version)
    assert db.session.get(Change, change.id) is not None


def test_a_stale_version_is_a_conflict(world):
    change = _change(world)
    with pytest.raises(Conflict):
        service.update_change(
            world.lead,
            change,
            expected_version=change.version - 1,
            title="Other",
            description=None,
            change_type="technology",
            planned_on=None,
            communication_plan=None,
            owner_id=None,
            status="planned",
            region_ids=[],
        )


def test_going_live_soon_is_the_next_30_days_and_not_live_or_cancelled():
    today = dt.date(2026, 6, 15)
    soon = service.is_going_live_soon
    assert soon(today, ChangeStatus.PLANNED, today)
    assert soon(today + dt.timedelta(days=30), ChangeStatus.IN_PROGRESS, today)
    assert not soon(today + dt.timedelta(days=31), ChangeStatus.PLANNED, today)
    assert not soon(today - dt.timedelta(days=1), ChangeStatus.PLANNED, today)
    assert not soon(today + dt.timedelta(days=3), ChangeStatus.LIVE, today)
    assert not soon(today + dt.timedelta(days=3), ChangeStatus.CANCELLED, today)
    assert not soon(None, ChangeStatus.PLANNED, today)


# ----------------------------------------------------------------------------- pages


def test_a_provider_logs_a_change_through_the_form(client, world):
    sign_in(client, world.provider.email)
    response = _post(client, _url(world, "new"), _values(world))
    assert response.status_code == 302
    change = db.session.scalars(sa.select(Change)).one()
    assert change.owner_id == world.provider.id
    assert change.status is ChangeStatus.PLANNED
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Help-desk moves to follow-the-sun" in page
    assert "Logged by" in page and world.provider.display_name in page
    assert "Going live soon" in page
    assert _audit(change.id)[0].action is AuditAction.INSERT


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": "   "}, "title", "Enter a title for the change."),
        ({"planned_on": "next Tuesday"}, "planned_on", "Enter the planned date as a date"),
        ({"owner_id": "outsider"}, "owner_id", "member of this partnership"),
        ({"region_ids": ["elsewhere"]}, "region_ids", "regions in scope"),
    ],
)
def test_bad_input_is_refused_next_to_the_field(client, world, overrides, field, message):
    if overrides.get("owner_id") == "outsider":
        overrides["owner_id"] = str(world.outsider.id)
    if overrides.get("region_ids") == ["elsewhere"]:
        latam = factories.create_region("LATAM", 5)
        db.session.commit()
        overrides["region_ids"] = [str(_region(world, "EMEA").id), str(latam.id)]
    sign_in(client, world.lead.email)
    response = _post(client, _url(world, "new"), _values(world, **overrides))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    error_at = page.index(f'id="{field}-error"')
    assert message in page[error_at : error_at + 300]
    assert _count() == 0


def test_the_list_marks_changes_going_live_soon_in_words(client, world):
    today = utc_today()
    _change(world, "Soon one", planned_on=today + dt.timedelta(days=5))
    _change(world, "Later one", planned_on=today + dt.timedelta(days=60))
    _change(
        world, "Already live", planned_on=today + dt.timedelta(days=2), status=ChangeStatus.LIVE
    )
    sign_in(client, world.viewer.email)
    page = client.get(_url(world)).get_data(as_text=True)
    rows = page.split("<tr id=")[1:]
    marked = [row.split("</a>")[0].rsplit(">", 1)[1] for row in rows if "Going live soon" in row]
    assert marked == ["Soon one"]
    assert "Log a change" not in page, "a viewer reads only"


def test_the_list_sorts_and_filters(client, world):
    today = utc_today()
    emea, apac = _region(world, "EMEA"), _region(world, "APAC")
    _change(
        world,
        "B policy",
        change_type=ChangeType.POLICY,
        planned_on=today + dt.timedelta(days=90),
        regions=[apac],
    )
    _change(
        world,
        "A process",
        change_type=ChangeType.PROCESS,
        status=ChangeStatus.PROPOSED,
        planned_on=today + dt.timedelta(days=3),
        regions=[emea],
    )
    _change(
        world,
        "C tech",
        status=ChangeStatus.LIVE,
        planned_on=today - dt.timedelta(days=9),
        regions=[emea, apac],
    )
    sign_in(client, world.sponsor.email)

    def order(query=""):
        page = client.get(_url(world) + query).get_data(as_text=True)
        shown = [t for t in ("A process", "B policy", "C tech") if t in page]
        return sorted(shown, key=page.index)

    assert order() == ["C tech", "A process", "B policy"]  # planned date
    assert order("?sort=title") == ["A process", "B policy", "C tech"]
    assert order("?sort=status") == ["A process", "B policy", "C tech"]  # proposed, planned, live
    assert order("?status=live") == ["C tech"]
    assert order("?type=policy") == ["B policy"]
    assert order(f"?region={apac.id}") == ["C tech", "B policy"]
    assert order("?soon=1") == ["A process"]


def test_the_csv_has_the_same_filters(client, world):
    today = utc_today()
    _change(
        world, "=SUM(A1)", planned_on=today + dt.timedelta(days=3), regions=[_region(world, "EMEA")]
    )
    _change(world, "Later", planned_on=today + dt.timedelta(days=90))
    sign_in(client, world.viewer.email)
    response = client.get(_url(world, "export.csv?soon=1"))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Title", "Type", "Status"]
    assert len(rows) == 2
    assert rows[1][0] == "'=SUM(A1)"
    assert rows[1][4] == "yes"
    assert rows[1][5] == "EMEA"
    assert rows[1][9] == world.lead.display_name


def test_a_lead_edits_a_change(client, world):
    change = _change(world)
    sign_in(client, world.lead.email)
    edit = client.get(_url(world, f"{change.id}/edit")).get_data(as_text=True)
    assert 'name="version"' in edit and "LMS upgrade" in edit
    response = _post(
        client,
        _url(world, f"{change.id}/edit"),
        _values(
            world, title="LMS upgrade, phase 2", status="in progress", version=str(change.version)
        ),
    )
    assert response.status_code == 302
    db.session.refresh(change)
    assert change.title == "LMS upgrade, phase 2"
    assert change.status is ChangeStatus.IN_PROGRESS
    assert [e.action for e in _audit(change.id)][-1] is AuditAction.UPDATE


def test_a_stale_edit_says_so_and_saves_nothing(client, world):
    change = _change(world)
    sign_in(client, world.lead.email)
    stale = str(change.version)
    change.title = "Changed meanwhile"
    db.session.commit()
    response = _post(
        client, _url(world, f"{change.id}/edit"), _values(world, title="Mine", version=stale)
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Someone else changed this entry" in page
    assert "your changes were not saved" in page
    assert 'id="current-version"' in page and "Changed meanwhile" in page
    db.session.refresh(change)
    assert change.title == "Changed meanwhile"


def test_a_lead_deletes_after_confirming(client, world):
    change = _change(world)
    change_id = change.id
    sign_in(client, world.lead.email)
    page = client.get(_url(world, f"{change.id}/delete"))
    assert page.status_code == 200
    assert "Delete this change?" in page.get_data(as_text=True)
    assert db.session.get(Change, change.id) is not None, "a GET deletes nothing"
    response = _post(client, _url(world, f"{change.id}/delete"), {"version": str(change.version)})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Change, change_id) is None
    entry = _audit(change_id)[-1]
    assert entry.action is AuditAction.DELETE
    assert entry.actor_id == world.lead.id


def test_a_provider_posting_to_edit_or_delete_gets_403_and_changes_nothing(client, world):
    change = _change(world)
    version = str(change.version)
    sign_in(client, world.provider.email)
    token = csrf_token(client, _url(world, "new"))
    edit = client.post(
        _url(world, f"{change.id}/edit"),
        data={"csrf_token": token, **_values(world, title="Hijacked", version=version)},
    )
    delete = client.post(
        _url(world, f"{change.id}/delete"), data={"csrf_token": token, "version": version}
    )
    assert (edit.status_code, delete.status_code) == (403, 403)
    db.session.expire_all()
    assert db.session.get(Change, change.id).title == "LMS upgrade"
    assert len(_audit(change.id)) == 1  # only its creation


def test_another_partnerships_change_is_not_found(client, world):
    change = _change(world)
    sign_in(client, world.outsider.email)
    assert client.get(_url(world, str(change.id))).status_code == 404
    assert client.get(f"/partnerships/{world.other.id}/changes/{change.id}").status_code == 404


def test_the_list_makes_a_fixed_number_of_queries(client, world):
    sign_in(client, world.viewer.email)
    _change(world, "One", regions=[_region(world, "EMEA")])
    with counted_queries() as few:
        client.get(_url(world))
    for n in range(5):
        _change(world, f"More {n}", regions=[_region(world, "APAC")], owner_id=world.lead.id)
    with counted_queries() as many:
        client.get(_url(world))
    assert len(many) == len(few)
