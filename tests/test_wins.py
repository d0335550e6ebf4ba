"""Wins: who may log, edit and delete, validation (no future wins), the list's marks,
sorting, filters and CSV, and the audit trail."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.formatting import day
from mls_tracker.models import AuditAction, AuditEntry, Win
from mls_tracker.periods import utc_today
from mls_tracker.services import wins as service
from mls_tracker.services.errors import Conflict, PermissionDenied, ValidationFailed
from tests import factories
from tests.conftest import csrf_token, sign_in


def _region(world, name):
    return next(r for r in world.partnership.regions if r.name == name)


def _url(world, suffix=""):
    return f"/partnerships/{world.partnership.id}/wins/{suffix}"


def _win(world, title="Launch landed", **values) -> Win:
    win = Win(
        partnership_id=world.partnership.id,
        title=title,
        won_on=values.pop("won_on", dt.date(2026, 1, 5)),
        created_by_id=values.pop("created_by_id", world.provider.id),
        **values,
    )
    db.session.add(win)
    db.session.commit()
    return win


def _audit(object_id: int) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.object_type == "Win", AuditEntry.object_id == str(object_id))
            .order_by(AuditEntry.id)
        )
    )


def _post(client, url, data):
    return client.post(url, data={"csrf_token": csrf_token(client, url), **data})


def _count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Win))


def _values(world, **overrides) -> dict:
    values = {
        "title": "Time to competency down 20%",
        "won_on": (utc_today() - dt.timedelta(days=3)).isoformat(),
        "region_id": str(_region(world, "APAC").id),
        "measurable_impact": "20% faster",
        "story": "New hires ramp up faster.",
        "shareable": "y",
    }
    values.update(overrides)
    return values


# ----------------------------------------------------------------------------- service


def test_a_provider_logs_a_win_and_it_is_audited(world):
    win = service.log_win(
        world.provider,
        world.partnership,
        dt.date(2026, 6, 15),
        title=" Award ",
        story=None,
        won_on=dt.date(2026, 6, 15),
        region_id=None,
        measurable_impact=None,
        shareable=True,
    )
    assert (win.title, win.created_by_id, win.shareable) == ("Award", world.provider.id, True)
    [entry] = _audit(win.id)
    assert entry.action is AuditAction.INSERT
    assert entry.actor_id == world.provider.id


def test_a_win_in_the_future_is_refused(world):
    today = dt.date(2026, 6, 15)
    with pytest.raises(ValidationFailed) as error:
        service.log_win(
            world.lead,
            world.partnership,
            today,
            title="Tomorrow's win",
            story=None,
            won_on=today + dt.timedelta(days=1),
            region_id=None,
            measurable_impact=None,
            shareable=False,
        )
    assert error.value.field == "won_on"
    assert _count() == 0


@pytest.mark.parametrize("who", ["sponsor", "viewer"])
def test_sponsors_and_viewers_may_not_log_a_win(world, who):
    with pytest.raises(PermissionDenied):
        service.log_win(
            world.user(who),
            world.partnership,
            dt.date(2026, 6, 15),
            title="x",
            story=None,
            won_on=dt.date(2026, 6, 1),
            region_id=None,
            measurable_impact=None,
            shareable=False,
        )


def test_a_stale_version_is_a_conflict(world):
    win = _win(world)
    with pytest.raises(Conflict):
        service.delete_win(world.lead, win, expected_version=win.version + 1)
    assert db.session.get(Win, win.id) is not None


# ----------------------------------------------------------------------------- pages


def test_a_provider_logs_a_win_through_the_form(client, world):
    sign_in(client, world.provider.email)
    form = client.get(_url(world, "new")).get_data(as_text=True)
    assert f'value="{day(utc_today())}"' in form, "the date defaults to today, as pages show it"
    response = _post(client, _url(world, "new"), _values(world))
    assert response.status_code == 302
    win = db.session.scalars(sa.select(Win)).one()
    assert win.region_id == _region(world, "APAC").id and win.shareable
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Time to competency down 20%" in page
    assert "May be shared outside" in page
    assert world.provider.display_name in page
    assert _audit(win.id)[0].action is AuditAction.INSERT


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": ""}, "title", "Enter a title for the win."),
        ({"won_on": "tomorrow"}, "won_on", "Enter the date of the win as a date"),
        ({"won_on": "FUTURE"}, "won_on", "A win cannot be in the future"),
        ({"region_id": "ELSEWHERE"}, "region_id", "regions in scope"),
    ],
)
def test_bad_input_is_refused_next_to_the_field(client, world, overrides, field, message):
    if overrides.get("won_on") == "FUTURE":
        overrides["won_on"] = (utc_today() + dt.timedelta(days=2)).isoformat()
    if overrides.get("region_id") == "ELSEWHERE":
        latam = factories.create_region("LATAM", 5)
        db.session.commit()
        overrides["region_id"] = str(latam.id)
    sign_in(client, world.lead.email)
    response = _post(client, _url(world, "new"), _values(world, **overrides))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    error_at = page.index(f'id="{field}-error"')
    assert message in page[error_at : error_at + 300]
    assert _count() == 0


def test_the_list_sorts_filters_and_says_what_may_be_shared(client, world):
    emea, apac = _region(world, "EMEA"), _region(world, "APAC")
    _win(world, "Beta award", won_on=dt.date(2026, 3, 1), region_id=apac.id, shareable=True)
    _win(world, "Alpha launch", won_on=dt.date(2026, 1, 1), region_id=emea.id)
    _win(world, "Gamma pilot", won_on=dt.date(2026, 2, 1))
    sign_in(client, world.viewer.email)

    def order(query=""):
        page = client.get(_url(world) + query).get_data(as_text=True)
        shown = [t for t in ("Alpha launch", "Beta award", "Gamma pilot") if t in page]
        return sorted(shown, key=page.index)

    assert order() == ["Beta award", "Gamma pilot", "Alpha launch"]  # newest first
    assert order("?sort=title") == ["Alpha launch", "Beta award", "Gamma pilot"]
    assert order("?sort=region") == [
        "Beta award",
        "Alpha launch",
        "Gamma pilot",
    ]  # APAC, EMEA, none
    assert order(f"?region={emea.id}") == ["Alpha launch"]
    assert order("?shareable=1") == ["Beta award"]
    page = client.get(_url(world)).get_data(as_text=True)
    rows = page.split("<tr id=")[1:]
    assert [("May be shared outside" in row) for row in rows] == [True, False, False]
    assert "Log a win" not in page, "a viewer reads only"


def test_the_csv_has_the_same_filters(client, world):
    _win(world, "Shared one", shareable=True, measurable_impact="+12 NPS")
    _win(world, "Private one")
    sign_in(client, world.sponsor.email)
    response = client.get(_url(world, "export.csv?shareable=1"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == list(service.CSV_COLUMNS)
    assert [row[0] for row in rows[1:]] == ["Shared one"]
    assert rows[1][3] == "'+12 NPS"  # a formula start is neutralised
    assert rows[1][4] == "yes"


def test_a_lead_edits_a_win_and_a_stale_edit_says_so(client, world):
    win = _win(world)
    sign_in(client, world.lead.email)
    stale = str(win.version)
    response = _post(
        client, _url(world, f"{win.id}/edit"), _values(world, title="Launch, v2", version=stale)
    )
    assert response.status_code == 302
    db.session.refresh(win)
    assert win.title == "Launch, v2"
    assert _audit(win.id)[-1].action is AuditAction.UPDATE
    again = _post(
        client, _url(world, f"{win.id}/edit"), _values(world, title="Launch, v3", version=stale)
    )
    assert again.status_code == 200
    page = again.get_data(as_text=True)
    assert "Someone else changed this win" in page and 'id="current-version"' in page
    db.session.refresh(win)
    assert win.title == "Launch, v2"


def test_a_lead_deletes_after_confirming(client, world):
    win = _win(world)
    win_id = win.id
    sign_in(client, world.lead.email)
    page = client.get(_url(world, f"{win_id}/delete"))
    assert page.status_code == 200 and "Delete this win?" in page.get_data(as_text=True)
    response = _post(client, _url(world, f"{win_id}/delete"), {"version": str(win.version)})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Win, win_id) is None
    assert _audit(win_id)[-1].action is AuditAction.DELETE


def test_a_provider_posting_to_edit_or_delete_gets_403_and_changes_nothing(client, world):
    win = _win(world)
    version = str(win.version)
    sign_in(client, world.provider.email)
    token = csrf_token(client, _url(world, "new"))
    edit = client.post(
        _url(world, f"{win.id}/edit"),
        data={"csrf_token": token, **_values(world, title="Hijacked", version=version)},
    )
    delete = client.post(
        _url(world, f"{win.id}/delete"), data={"csrf_token": token, "version": version}
    )
    assert (edit.status_code, delete.status_code) == (403, 403)
    db.session.expire_all()
    assert db.session.get(Win, win.id).title == "Launch landed"
    assert len(_audit(win.id)) == 1


def test_another_partnerships_win_is_not_found(client, world):
    win = _win(world)
    sign_in(client, world.outsider.email)
    assert client.get(_url(world, str(win.id))).status_code == 404
    assert client.get(f"/partnerships/{world.other.id}/wins/{win.id}").status_code == 404
