"""The audit log page and its CSV: who sees which entries, times in the viewer's zone, the
filters, names of people and objects, before → after, pages, the query count, and the
"History" link of an object's page."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
import sqlalchemy as sa

from mls_tracker.audit import acting_as
from mls_tracker.config import ConfigError, display_time_zone
from mls_tracker.extensions import db
from mls_tracker.formatting import local_time, zone_named
from mls_tracker.models import AuditAction, AuditEntry, Sla, Win
from mls_tracker.services.audit_log import may_read_log
from tests import factories, routes_changes, routes_wins
from tests.conftest import sign_in
from tests.test_changes import counted_queries


def _entry(
    world,
    when,
    *,
    actor=None,
    partnership=None,
    object_type="Sla",
    object_id=None,
    action=AuditAction.UPDATE,
    changes=None,
):
    entry = AuditEntry(
        occurred_at=when,
        actor_id=actor.id if actor is not None else None,
        partnership_id=partnership.id if partnership is not None else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id if object_id is not None else world.ids["sla_id"]),
        changes=changes if changes is not None else {"name": ["Old name", "New name"]},
    )
    db.session.add(entry)
    db.session.commit()
    return entry


def _rows(response) -> list[dict[str, str]]:
    text = response.get_data(as_text=True).lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(text)))


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_an_admin_sees_who_changed_what_from_which_value_to_which(client, world):
    sla = db.session.get(Sla, world.ids["sla_id"])
    with acting_as(world.lead.id):
        sla.name = "Courses completed on time"
        db.session.commit()
    sign_in(client, world.admin.email)

    page = _text(client.get("/audit"))

    row = re.search(r'<tr id="entry-\d+">(.*?)</tr>', page).group(1)  # the newest entry
    assert "Lead" in row
    assert f'href="/partnerships/{world.partnership.id}/slas/{sla.id}"' in row
    assert "WLD-01 Courses completed on time" in row
    assert "Changed" in row
    assert re.search(
        r"name</span>: <span[^>]*>[^<]*</span> <span[^>]*>→</span> "
        r"<span[^>]*>Courses completed on time</span>",
        row,
    )
    # What the world's set-up wrote had no one signed in: "system".
    assert ">system<" in page
    assert "Times are in UTC." in page


def test_a_lead_sees_only_the_partnerships_they_lead(client, world):
    _entry(
        world,
        dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        partnership=world.other,
        object_type="Partnership",
        object_id=world.other.id,
    )
    sign_in(client, world.lead.email)

    rows = _rows(client.get("/audit.csv"))

    assert rows
    assert {row["Partnership"] for row in rows} == {"Global Learning"}
    assert "Person" not in {row["Object type"] for row in rows}  # no partnership-less entries
    # Asking for another partnership is no way in: that filter is dropped.
    other = _rows(client.get(f"/audit.csv?partnership={world.other.id}"))
    assert {row["Partnership"] for row in other} == {"Global Learning"}
    page = _text(client.get("/audit"))
    assert "Other Programme" not in page
    assert "in the partnerships you lead" in page


@pytest.mark.parametrize("who", ["provider", "sponsor", "viewer"])
def test_members_who_lead_nothing_get_404(client, world, who):
    sign_in(client, world.user(who).email)
    assert client.get("/audit").status_code == 404
    assert client.get("/audit.csv").status_code == 404


def test_times_are_shown_in_the_viewers_zone_and_dates_filter_in_it(app, client, world):
    world.lead.time_zone = "Asia/Kolkata"
    db.session.commit()
    db.session.execute(sa.delete(AuditEntry))
    _entry(
        world,
        dt.datetime(2026, 7, 1, 23, 30, tzinfo=dt.UTC),
        actor=world.lead,
        partnership=world.partnership,
    )

    sign_in(client, world.admin.email)  # no zone of their own: DISPLAY_TIME_ZONE (UTC)
    assert "1 Jul 2026 23:30 UTC" in _text(client.get("/audit"))
    assert "0 entries match" in _text(client.get("/audit?date_from=2026-07-02"))
    app.config["DISPLAY_TIME_ZONE"] = "Europe/London"
    try:
        page = _text(client.get("/audit"))
        assert "2 Jul 2026 00:30 BST" in page
        assert "Times are in Europe/London." in page
    finally:
        app.config["DISPLAY_TIME_ZONE"] = "UTC"

    client2 = app.test_client()
    sign_in(client2, world.lead.email)
    page = _text(client2.get("/audit"))
    assert "2 Jul 2026 05:00 IST" in page
    # "From 2 July" is 2 July in Kolkata, which has begun by 23:30 UTC on the 1st.
    assert "1 entry matches the filters" in _text(client2.get("/audit?date_from=2026-07-02"))
    assert "0 entries" in _text(client2.get("/audit?date_to=2026-07-01"))
    row = _rows(client2.get("/audit.csv"))[0]
    assert row["When (UTC)"] == "2026-07-01T23:30:00+00:00"
    assert row["When (local)"] == "2026-07-02T05:00:00+05:30 IST"


def test_filters_by_person_object_type_object_and_action(client, world):
    db.session.execute(sa.delete(AuditEntry))
    when = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
    _entry(world, when, actor=world.lead, partnership=world.partnership)
    _entry(
        world,
        when,
        actor=world.provider,
        partnership=world.partnership,
        object_type="Expectation",
        object_id=world.ids["expectation_id"],
        action=AuditAction.INSERT,
        changes={"statement": [None, "Be on time"]},
    )
    _entry(
        world,
        when,
        actor=world.admin,
        object_type="User",
        object_id=world.viewer.id,
        action=AuditAction.DELETE,
        changes={"email": ["gone@test.example", None]},
    )
    sign_in(client, world.admin.email)

    def whats(query):
        return [row["Object type"] for row in _rows(client.get(f"/audit.csv?{query}"))]

    assert sorted(whats("")) == ["Expectation", "Person", "SLA"]
    assert whats(f"person={world.provider.id}") == ["Expectation"]
    assert whats("object_type=User") == ["Person"]
    assert whats("action=insert") == ["Expectation"]
    assert whats(f"object_type=Sla&object_id={world.ids['sla_id']}") == ["SLA"]
    assert sorted(whats(f"partnership={world.partnership.id}")) == ["Expectation", "SLA"]
    # Unreadable values are no filter at all.
    assert len(whats("person=abc&action=explode&date_from=yesterday")) == 3
    page = _text(client.get(f"/audit?person={world.provider.id}"))
    assert "1 entry matches the filters" in page
    assert "Clear filters" in page


def test_gone_people_and_objects_are_named_from_what_the_log_kept(client, world):
    db.session.execute(sa.delete(AuditEntry))
    win = Win(
        partnership_id=world.partnership.id, title="Launch landed", won_on=dt.date(2026, 1, 5)
    )
    db.session.add(win)
    db.session.commit()
    with acting_as(999_999):
        db.session.delete(win)
        db.session.commit()
    sign_in(client, world.admin.email)

    page = _text(client.get("/audit?action=delete"))

    assert "Deleted person #999999" in page
    assert 'Launch landed <span class="text-muted small">(no longer there)</span>' in page
    assert "/wins/" not in page  # no link to what is not there


def test_values_are_escaped_and_long_text_is_cut_with_the_whole_of_it_available(client, world):
    long_text = "Every learner " * 30 + "finishes."
    _entry(
        world,
        dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
        actor=world.lead,
        partnership=world.partnership,
        changes={"definition": ["<script>alert(1)</script>", long_text]},
    )
    sign_in(client, world.admin.email)

    page = client.get("/audit").get_data(as_text=True)

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "finishes." in page  # the whole text, behind "show all"
    assert "show all" in page
    assert "Every learner Every learner" in page


def test_pages_newest_first_and_a_page_past_the_end_is_the_last(client, world):
    db.session.execute(sa.delete(AuditEntry))
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    db.session.add_all(
        AuditEntry(
            occurred_at=start + dt.timedelta(minutes=n),
            actor_id=world.lead.id,
            partnership_id=world.partnership.id,
            action=AuditAction.UPDATE,
            object_type="Sla",
            object_id=str(world.ids["sla_id"]),
            changes={"weight": [n, n + 1]},
        )
        for n in range(120)
    )
    db.session.commit()
    sign_in(client, world.admin.email)

    first = _text(client.get("/audit"))
    last = _text(client.get("/audit?page=99"))

    assert "120 entries" in first
    assert "1 Jan 2026 01:59 UTC" in first  # the newest
    assert 'aria-label="Audit log pages"' in first
    assert "1 Jan 2026 00:00 UTC" in last  # the oldest, on page 3
    assert 'aria-current="page">3<' in last
    assert "1 Jan 2026 01:59 UTC" not in last


def test_the_number_of_queries_does_not_grow_with_the_rows(client, world):
    kinds = [
        ("Sla", world.ids["sla_id"], world.partnership),
        ("Expectation", world.ids["expectation_id"], world.partnership),
        ("Sponsor", world.ids["sponsor_id"], world.partnership),
        ("Partnership", world.partnership.id, world.partnership),
        ("User", world.viewer.id, None),
    ]
    actors = [world.admin, world.lead, world.provider, world.sponsor, world.viewer, None]

    def fill(count):
        db.session.execute(sa.delete(AuditEntry))
        db.session.add_all(
            AuditEntry(
                occurred_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=n),
                actor_id=getattr(actors[n % len(actors)], "id", None),
                partnership_id=getattr(kinds[n % 5][2], "id", None),
                action=AuditAction.UPDATE,
                object_type=kinds[n % 5][0],
                object_id=str(kinds[n % 5][1]),
                changes={"name": ["a", f"b{n}"]},
            )
            for n in range(count)
        )
        db.session.commit()

    sign_in(client, world.admin.email)
    counts = {}
    for rows in (5, 50):
        fill(rows)
        client.get("/audit")  # warm: the same session state for both counts
        with counted_queries() as statements:
            page = _text(client.get("/audit"))
        assert f"{rows} entries" in page
        assert page.count('<tr id="entry-') == rows
        counts[rows] = len(statements)

    assert counts[5] == counts[50]


def test_the_csv_has_one_row_per_field_and_neutralises_formulas(client, world):
    db.session.execute(sa.delete(AuditEntry))
    _entry(
        world,
        dt.datetime(2026, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
        actor=world.lead,
        partnership=world.partnership,
        changes={"name": ["Old", '=HYPERLINK("x")'], "weight": [1, 2]},
    )
    sign_in(client, world.admin.email)

    response = client.get("/audit.csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert re.fullmatch(
        r'attachment; filename="audit-log-\d{4}-\d\d-\d\d\.csv"',
        response.headers["Content-Disposition"],
    )
    rows = _rows(response)
    assert [(r["Field"], r["Before"], r["After"]) for r in rows] == [
        ("name", "Old", '\'=HYPERLINK("x")'),
        ("weight", "1", "2"),
    ]
    assert rows[0]["Who"] == "Lead"
    assert rows[0]["Object"] == "WLD-01 " + db.session.get(Sla, world.ids["sla_id"]).name
    assert rows[0]["Action"] == "update"


def test_an_objects_page_links_to_its_history_for_those_who_may_read_it(client, world):
    sla_id = world.ids["sla_id"]
    url = f"/partnerships/{world.partnership.id}/slas/{sla_id}"
    history = f"/audit?object_type=Sla&amp;object_id={sla_id}"
    sign_in(client, world.lead.email)

    assert history in client.get(url).get_data(as_text=True)
    page = _text(client.get(f"/audit?object_type=Sla&object_id={sla_id}"))
    assert "<h1>History of SLA “WLD-01" in page
    # The SLA's own entries, its targets' and its actuals', and nothing else.
    kinds = set(re.findall(r'<span class="text-muted small">([^<]+)</span><br>', page))
    assert kinds == {"SLA", "SLA target", "SLA actual"}

    other = client.application.test_client()
    sign_in(other, world.provider.email)
    assert "History</a>" not in other.get(url).get_data(as_text=True)


@pytest.mark.parametrize(
    ("section", "object_type", "key"),
    [
        ("expectations", "Expectation", "expectation_id"),
        ("slas", "Sla", "sla_id"),
        ("actions", "ActionItem", "action_id"),
        ("meetings", "Meeting", "meeting_id"),
        ("changes", "Change", "change_id"),
        ("wins", "Win", "win_id"),
    ],
)
def test_history_links_on_the_pages_of_objects(client, world, section, object_type, key):
    ids = {
        **world.ids,
        **routes_changes.prepare(world),
        **routes_wins.prepare(world),
        "action_id": factories.create_action(world.partnership, due_on=dt.date(2026, 5, 1)).id,
        "meeting_id": factories.create_meeting(world.partnership, dt.date(2026, 4, 1)).id,
    }
    db.session.commit()
    url = f"/partnerships/{world.partnership.id}/{section}/{ids[key]}"
    link = f'href="/audit?object_type={object_type}&amp;object_id={ids[key]}"'
    sign_in(client, world.admin.email)
    assert link in client.get(url).get_data(as_text=True)

    viewer = client.application.test_client()
    sign_in(viewer, world.viewer.email)
    page = viewer.get(url)
    assert page.status_code == 200
    assert "/audit?" not in page.get_data(as_text=True)


def test_local_time_writes_the_zone_and_takes_naive_times_as_utc():
    summer = dt.datetime(2026, 7, 1, 12, 5, tzinfo=dt.UTC)
    assert local_time(summer, zone=zone_named("Europe/London")) == "1 Jul 2026 13:05 BST"
    assert local_time(summer.replace(tzinfo=None), zone=dt.UTC) == "1 Jul 2026 12:05 UTC"
    assert local_time(summer, "%H:%M", zone=zone_named("Asia/Kolkata")) == "17:35"
    assert local_time(None) == "—"
    assert zone_named("Not/AZone") is dt.UTC


def test_display_time_zone_must_be_a_real_zone(monkeypatch):
    monkeypatch.setenv("DISPLAY_TIME_ZONE", "Europe/London")
    assert display_time_zone() == "Europe/London"
    monkeypatch.setenv("DISPLAY_TIME_ZONE", "Mars/Olympus")
    with pytest.raises(ConfigError, match="DISPLAY_TIME_ZONE"):
        display_time_zone()


def test_a_history_names_its_object_only_for_those_who_may_read_it(app, client, world):
    foreign = factories.create_sla(world.other, None, "OTH-09")
    db.session.commit()
    sign_in(client, world.lead.email)

    page = _text(client.get(f"/audit?object_type=Sla&object_id={foreign.id}"))

    assert "OTH-09" not in page
    assert f"History of SLA “#{foreign.id}”" in page
    assert "0 entries match the filters" in page

    admin = app.test_client()
    sign_in(admin, world.admin.email)
    assert "History of SLA “OTH-09" in _text(
        admin.get(f"/audit?object_type=Sla&object_id={foreign.id}")
    )


def test_a_target_changed_later_is_in_its_slas_history(client, world):
    sla = db.session.get(Sla, world.ids["sla_id"])
    with acting_as(world.lead.id):
        sla.targets[0].target = 95
        db.session.commit()
    sign_in(client, world.lead.email)

    rows = _rows(client.get(f"/audit.csv?object_type=Sla&object_id={sla.id}"))

    changed = [r for r in rows if r["Object type"] == "SLA target" and r["Action"] == "update"]
    assert [(r["Field"], float(r["Before"]), float(r["After"]), r["Who"]) for r in changed] == [
        ("target", 90, 95, "Lead")
    ]


def test_a_row_that_belongs_to_an_object_is_named_and_links_to_that_objects_page(client, world):
    sign_in(client, world.admin.email)

    page = _text(
        client.get(f"/audit?object_type=SlaMeasurement&object_id={world.ids['measurement_id']}")
    )
    membership = _text(client.get("/audit?object_type=Membership"))

    sla_page = f'href="/partnerships/{world.partnership.id}/slas/{world.ids["sla_id"]}"'
    assert f"{sla_page}>Jun 2025</a>" in page
    assert "no longer there" not in membership  # a kind of row the log does not look up


def test_who_may_read_the_log_for_a_menu_link(app, world):
    assert may_read_log(world.admin)
    assert may_read_log(world.lead)
    assert may_read_log(world.outsider)  # leads another partnership
    assert not may_read_log(world.provider)
    assert not may_read_log(world.viewer)
    world.lead.active = False
    assert not may_read_log(world.lead)


def test_a_changed_time_reads_as_a_time_in_the_viewers_zone_and_stays_iso_in_the_csv(
    app, client, world
):
    db.session.execute(sa.delete(AuditEntry))
    _entry(
        world,
        dt.datetime(2026, 12, 6, 20, 31, tzinfo=dt.UTC),
        actor=world.lead,
        partnership=world.partnership,
        changes={
            "approved_at": [None, "2026-12-06T20:30:35.753026+00:00"],
            "approved_by_id": [None, world.lead.id],
        },
    )
    world.admin.time_zone = "Europe/Paris"
    db.session.commit()
    sign_in(client, world.admin.email)
    page = _text(client.get("/audit"))
    assert "approved at</span>: <span" in page
    assert "6 Dec 2026 21:30 CET" in page
    assert "2026-12-06T20:30:35" not in page
    assert re.search(r"approved by</span>: .*?→</span> <span[^>]*>Lead</span>", page)
    rows = _rows(client.get("/audit.csv"))
    after = {row["Field"]: row["After"] for row in rows}
    assert after["approved at"] == "2026-12-06T20:30:35.753026+00:00"
    assert after["approved by"] == str(world.lead.id)


def test_values_that_refer_to_other_objects_are_named_on_the_page_and_ids_in_the_csv(client, world):
    db.session.execute(sa.delete(AuditEntry))
    sla = db.session.get(Sla, world.ids["sla_id"])
    item = factories.create_action(
        world.partnership, "Fix the login", due_on=dt.date(2026, 12, 20), owner=world.provider
    )
    db.session.commit()
    db.session.execute(sa.delete(AuditEntry))
    _entry(
        world,
        dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC),
        actor=world.lead,
        partnership=world.partnership,
        object_type="ActionItem",
        object_id=item.id,
        changes={
            "owner_id": [world.lead.id, world.provider.id],
            "sla_id": [987654, sla.id],  # an SLA deleted since, then this one
            "due_on": ["2026-12-11", "2026-12-18"],
        },
    )
    sign_in(client, world.admin.email)
    page = _text(client.get("/audit"))
    assert re.search(r"owner</span>: <span[^>]*>Lead</span> .*?→</span> <span[^>]*>Provider<", page)
    assert f"{sla.code} {sla.name}" in page and "Deleted SLA #987654" in page
    assert "11 Dec 2026" in page and "18 Dec 2026" in page and "2026-12-18" not in page
    rows = _rows(client.get("/audit.csv"))
    before = {row["Field"]: row["Before"] for row in rows}
    after = {row["Field"]: row["After"] for row in rows}
    assert (before["owner"], after["owner"]) == (str(world.lead.id), str(world.provider.id))
    assert (before["sla"], after["sla"]) == ("987654", str(sla.id))
    assert (before["due on"], after["due on"]) == ("2026-12-11", "2026-12-18")
