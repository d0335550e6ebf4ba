"""Sponsors by region: coverage and engagement figures, sponsorship rules, and the pages."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from mls_tracker import formatting
from mls_tracker.extensions import db
from mls_tracker.models import AuditAction, AuditEntry, MeetingState, Role, Side, Sponsor
from mls_tracker.services import sponsors as service
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


def _region(world, name):
    return next(r for r in world.partnership.regions if r.name == name)


def _erika(world) -> Sponsor:
    return db.session.get(Sponsor, world.ids["sponsor_id"])


def _row(matrix, name):
    return next(row for row in matrix.rows if row.region_name == name)


def _audit(object_type: str, object_id: int) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id))
            .order_by(AuditEntry.id)
        )
    )


# ----------------------------------------------------------------------------- figures


def test_a_region_in_scope_without_an_active_client_sponsor_is_a_gap(world):
    factories.create_sponsor(world.partnership, _region(world, "APAC"), Side.PROVIDER, "Pat Prov")
    db.session.commit()
    matrix = service.coverage_matrix(world.partnership.id, TODAY)
    assert [row.region_name for row in matrix.rows] == ["EMEA", "APAC"]
    assert not _row(matrix, "EMEA").is_gap
    apac = _row(matrix, "APAC")
    assert apac.is_gap, "a provider-side sponsor does not cover a region"
    assert [v.name for v in apac.provider] == ["Pat Prov"]
    assert [row.region_name for row in matrix.gaps] == ["APAC"]


def test_home_region_is_flagged(world):
    matrix = service.coverage_matrix(world.partnership.id, TODAY)
    assert _row(matrix, "EMEA").is_home
    assert not _row(matrix, "APAC").is_home


def test_coverage_fraction(world):
    assert service.coverage(world.partnership.id, TODAY) == pytest.approx(0.5)
    factories.create_sponsor(world.partnership, _region(world, "APAC"), Side.CLIENT, "Aki Client")
    db.session.commit()
    assert service.coverage(world.partnership.id, TODAY) == pytest.approx(1.0)
    matrix = service.coverage_matrix(world.partnership.id, TODAY)
    assert (matrix.regions_covered, matrix.regions_in_scope, matrix.coverage) == (2, 2, 1.0)


def test_coverage_of_a_partnership_without_regions_is_none(world):
    world.partnership.regions = []
    db.session.commit()
    assert service.coverage(world.partnership.id, TODAY) is None
    assert service.coverage_matrix(world.partnership.id, TODAY).coverage is None


def test_an_ended_sponsor_no_longer_covers_and_moves_to_the_history(world):
    erika = _erika(world)
    erika.end_date = TODAY - dt.timedelta(days=1)
    db.session.commit()
    matrix = service.coverage_matrix(world.partnership.id, TODAY)
    assert _row(matrix, "EMEA").is_gap
    assert matrix.coverage == 0
    assert [v.name for v in matrix.history] == ["Erika Sponsor"]
    assert service.coverage(world.partnership.id, TODAY) == 0
    # Still active on its last day.
    assert service.coverage(world.partnership.id, TODAY - dt.timedelta(days=1)) == 0.5


def test_a_sponsor_starting_later_is_listed_as_upcoming_not_covering(world):
    factories.create_sponsor(
        world.partnership,
        _region(world, "APAC"),
        Side.CLIENT,
        "Future Person",
        start=TODAY + dt.timedelta(days=10),
    )
    db.session.commit()
    matrix = service.coverage_matrix(world.partnership.id, TODAY)
    assert _row(matrix, "APAC").is_gap
    assert [v.name for v in matrix.upcoming] == ["Future Person"]


def test_a_sponsor_absent_from_the_last_three_meetings_is_disengaged(world):
    erika = _erika(world)
    factories.create_meeting(world.partnership, dt.date(2026, 3, 10), present=(erika,))
    for day in (dt.date(2026, 4, 10), dt.date(2026, 5, 10)):
        factories.create_meeting(world.partnership, day, absent=(erika,))
    factories.create_meeting(world.partnership, dt.date(2026, 6, 10))  # no attendance row
    db.session.commit()
    view = _row(service.coverage_matrix(world.partnership.id, TODAY), "EMEA").client[0]
    assert view.engagement.disengaged
    assert (view.engagement.attended, view.engagement.held) == (0, 3)
    assert view.engagement.rate == 0
    assert [v.name for v in service.coverage_matrix(world.partnership.id, TODAY).disengaged] == [
        "Erika Sponsor"
    ]


def test_attending_one_of_the_last_three_meetings_is_not_disengaged(world):
    erika = _erika(world)
    factories.create_meeting(world.partnership, dt.date(2026, 4, 10), present=(erika,))
    factories.create_meeting(world.partnership, dt.date(2026, 5, 10), absent=(erika,))
    factories.create_meeting(world.partnership, dt.date(2026, 6, 10), absent=(erika,))
    db.session.commit()
    engagement = (
        _row(service.coverage_matrix(world.partnership.id, TODAY), "EMEA").client[0].engagement
    )
    assert not engagement.disengaged
    assert (engagement.attended, engagement.held) == (1, 3)
    assert engagement.rate == pytest.approx(1 / 3)


def test_days_since_last_attended(world):
    erika = _erika(world)
    factories.create_meeting(world.partnership, dt.date(2025, 12, 1), present=(erika,))
    factories.create_meeting(world.partnership, dt.date(2026, 6, 5), present=(erika,))
    factories.create_meeting(world.partnership, dt.date(2026, 6, 12), absent=(erika,))
    # A planned meeting, and one in the future, are not attendance.
    factories.create_meeting(
        world.partnership, dt.date(2026, 6, 14), state=MeetingState.PLANNED, present=(erika,)
    )
    db.session.commit()
    engagement = (
        _row(service.coverage_matrix(world.partnership.id, TODAY), "EMEA").client[0].engagement
    )
    assert engagement.last_attended_on == dt.date(2026, 6, 5)
    assert engagement.days_since_last_attended == 10


def test_a_sponsor_who_never_attended_has_no_days_since(world):
    engagement = (
        _row(service.coverage_matrix(world.partnership.id, TODAY), "EMEA").client[0].engagement
    )
    assert engagement.days_since_last_attended is None
    assert engagement.held == 0 and engagement.rate is None
    assert not engagement.disengaged, "nothing to judge without a meeting"


def test_a_sponsor_who_started_after_the_meetings_is_not_disengaged(world):
    for day in (dt.date(2026, 4, 10), dt.date(2026, 5, 10), dt.date(2026, 6, 1)):
        factories.create_meeting(world.partnership, day)
    newcomer = factories.create_sponsor(
        world.partnership,
        _region(world, "APAC"),
        Side.CLIENT,
        "Nina Newcomer",
        start=dt.date(2026, 6, 5),
    )
    db.session.commit()
    engagement = (
        _row(service.coverage_matrix(world.partnership.id, TODAY), "APAC").client[0].engagement
    )
    assert newcomer.is_active_on(TODAY)
    assert not engagement.disengaged
    assert engagement.held == 0 and engagement.rate is None


def test_engagement_counts_only_held_meetings_of_the_last_three_months(world):
    erika = _erika(world)
    # 15 Mar 2026 is exactly 3 months before TODAY: outside (today − 3 months < held_on).
    factories.create_meeting(world.partnership, dt.date(2026, 3, 15), present=(erika,))
    factories.create_meeting(world.partnership, dt.date(2026, 3, 16), present=(erika,))
    factories.create_meeting(
        world.partnership, dt.date(2026, 5, 1), state=MeetingState.MINUTES_APPROVED
    )
    factories.create_meeting(world.partnership, dt.date(2026, 6, 1), state=MeetingState.PLANNED)
    factories.create_meeting(world.partnership, dt.date(2026, 6, 20))  # after today
    factories.create_meeting(world.other, dt.date(2026, 6, 1))  # another partnership
    db.session.commit()
    matrix = service.coverage_matrix(world.partnership.id, TODAY)
    assert matrix.window_start == dt.date(2026, 3, 15)
    assert matrix.meetings_held == 2
    engagement = _row(matrix, "EMEA").client[0].engagement
    assert (engagement.attended, engagement.held) == (1, 2)


def test_the_window_clamps_to_the_end_of_a_shorter_month():
    assert service.months_before(dt.date(2026, 5, 31), 3) == dt.date(2026, 2, 28)
    assert service.months_before(dt.date(2026, 1, 15), 3) == dt.date(2025, 10, 15)


def test_the_matrix_takes_a_fixed_number_of_queries(world):
    apac, pid = _region(world, "APAC"), world.partnership.id
    factories.create_meeting(world.partnership, dt.date(2026, 6, 1), present=(_erika(world),))
    db.session.commit()
    with counted_queries() as few:
        service.coverage_matrix(pid, TODAY)
    sponsors = [
        factories.create_sponsor(world.partnership, apac, side, f"Person {i}")
        for i, side in enumerate([Side.CLIENT, Side.PROVIDER] * 10)
    ]
    for month in range(1, 7):
        factories.create_meeting(
            world.partnership, dt.date(2026, month, 3), present=tuple(sponsors[::2])
        )
    db.session.commit()
    db.session.expire_all()
    with counted_queries() as many:
        matrix = service.coverage_matrix(pid, TODAY)
    assert len(_row(matrix, "APAC").client) == 10
    assert len(many) == len(few) <= 6


# ----------------------------------------------------------------------------- writes


def _add(world, actor=None, **overrides):
    values = {
        "region_id": _region(world, "APAC").id,
        "side": Side.CLIENT,
        "name": "Aki Tanaka",
        "title": "HR Director, APAC",
        "email": "aki@client.example",
        "user_id": None,
        "start_date": dt.date(2026, 1, 1),
        "end_date": None,
    }
    values.update(overrides)
    return service.add_sponsorship(actor or world.lead, world.partnership, **values)


def _count() -> int:
    return db.session.scalar(sa.select(sa.func.count(Sponsor.id)))


def test_a_lead_adds_a_sponsorship_and_it_is_audited(app, world):
    with app.test_request_context():
        sponsor = _add(world)
    assert sponsor.id and sponsor.side is Side.CLIENT
    (entry,) = _audit("Sponsor", sponsor.id)
    assert entry.action is AuditAction.INSERT
    assert entry.actor_id == world.lead.id
    assert entry.partnership_id == world.partnership.id
    assert entry.changes["name"] == [None, "Aki Tanaka"]


def test_an_end_date_before_the_start_is_refused(app, world):
    before = _count()
    with app.test_request_context(), pytest.raises(ValidationFailed) as error:
        _add(world, start_date=dt.date(2026, 3, 1), end_date=dt.date(2026, 2, 1))
    assert error.value.field == "end_date"
    db.session.rollback()
    assert _count() == before


def test_a_region_out_of_scope_is_refused(app, world):
    latam = factories.create_region("LATAM", 3)
    db.session.commit()
    with app.test_request_context(), pytest.raises(ValidationFailed) as error:
        _add(world, region_id=latam.id)
    assert error.value.field == "region_id"


@pytest.mark.parametrize("who", ["outsider", "viewer"])
def test_linking_someone_who_is_not_a_sponsor_member_is_refused(app, world, who):
    with app.test_request_context(), pytest.raises(ValidationFailed) as error:
        _add(world, user_id=world.user(who).id)
    assert error.value.field == "user_id"


def test_linking_a_sponsor_member_works(app, world):
    with app.test_request_context():
        sponsor = _add(world, user_id=world.sponsor.id)
    assert sponsor.user_id == world.sponsor.id
    assert [u.id for u in service.sponsor_candidates(world.partnership.id)] == [world.sponsor.id]


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "two@@example.com"])
def test_a_malformed_email_is_refused(app, world, email):
    with app.test_request_context(), pytest.raises(ValidationFailed) as error:
        _add(world, email=email)
    assert error.value.field == "email"


@pytest.mark.parametrize("who", ["provider", "sponsor", "viewer", "outsider"])
def test_only_leads_write_sponsorships(app, world, who):
    erika = _erika(world)
    with app.test_request_context():
        with pytest.raises(PermissionDenied):
            _add(world, actor=world.user(who))
        with pytest.raises(PermissionDenied):
            service.end_sponsorship(world.user(who), erika, TODAY)


def test_a_stale_update_is_refused_and_overwrites_nothing(app, world):
    erika = _erika(world)
    stale = erika.version
    with app.test_request_context():
        service.update_sponsorship(
            world.lead,
            erika,
            region_id=erika.region_id,
            side=Side.CLIENT,
            name="Erika Sponsor",
            title="Chief People Officer",
            start_date=erika.start_date,
            expected_version=stale,
        )
        with pytest.raises(Conflict) as error:
            service.update_sponsorship(
                world.admin,
                erika,
                region_id=erika.region_id,
                side=Side.CLIENT,
                name="Someone Else",
                title="Overwritten",
                start_date=erika.start_date,
                expected_version=stale,
            )
    assert "Someone else changed this sponsorship" in str(error.value)
    db.session.expire_all()
    saved = _erika(world)
    assert (saved.name, saved.title, saved.version) == (
        "Erika Sponsor",
        "Chief People Officer",
        stale + 1,
    )


def test_ending_a_sponsorship_keeps_it_and_is_audited(app, world):
    erika = _erika(world)
    with app.test_request_context():
        service.end_sponsorship(world.lead, erika, dt.date(2026, 5, 31))
        with pytest.raises(ValidationFailed) as error:
            service.end_sponsorship(world.lead, erika, dt.date(2024, 1, 1))
    assert error.value.field == "end_date"
    db.session.rollback()
    assert _erika(world).end_date == dt.date(2026, 5, 31)
    update = _audit("Sponsor", erika.id)[-1]
    assert update.action is AuditAction.UPDATE
    assert update.changes == {"end_date": [None, "2026-05-31"]}
    assert update.actor_id == world.lead.id


# ----------------------------------------------------------------------------- pages


def _url(world, suffix=""):
    return f"/partnerships/{world.partnership.id}/sponsors/{suffix}"


def test_the_matrix_shows_gaps_disengaged_sponsors_and_coverage(client, world):
    erika = _erika(world)
    today = dt.datetime.now(dt.UTC).date()
    for days in (40, 25, 10):
        factories.create_meeting(
            world.partnership, today - dt.timedelta(days=days), absent=(erika,)
        )
    db.session.commit()
    sign_in(client, world.viewer.email)
    html = client.get(_url(world)).get_data(as_text=True)
    assert "Erika Sponsor" in html and "Vice President" in html
    assert "Disengaged" in html
    assert 'badge badge-gap">Gap<' in html
    assert "no active client sponsor" in html
    assert "50%" in html and "1 of 2 regions" in html
    assert "Home" in html
    assert "Attended <strong>0 of 3</strong>" in html
    assert "Add a sponsor" not in html and "/edit" not in html, "a viewer gets no write actions"


def test_the_matrix_lists_ended_sponsorships_in_the_history(client, world):
    erika = _erika(world)
    erika.end_date = dt.date(2025, 12, 31)
    db.session.commit()
    sign_in(client, world.lead.email)
    html = client.get(_url(world)).get_data(as_text=True)
    history = html[html.index('id="history-heading"') :]
    assert "Erika Sponsor" in history and "31 Dec 2025" in history
    assert "Add a sponsor" in html


def _form(client, world, suffix, **data):
    token = csrf_token(client, _url(world, suffix))
    return client.post(_url(world, suffix), data={"csrf_token": token, **data})


def test_adding_a_sponsor_through_the_form(client, world):
    sign_in(client, world.lead.email)
    response = _form(
        client,
        world,
        "new",
        name="Aki Tanaka",
        title="HR Director",
        email="aki@client.example",
        region_id=str(_region(world, "APAC").id),
        side="client",
        user_id=str(world.sponsor.id),
        start_date="2026-01-01",
        end_date="",
    )
    assert response.status_code == 302
    sponsor = db.session.scalar(sa.select(Sponsor).where(Sponsor.name == "Aki Tanaka"))
    assert sponsor.user_id == world.sponsor.id
    assert _audit("Sponsor", sponsor.id)[0].actor_id == world.lead.id
    html = client.get(_url(world)).get_data(as_text=True)
    assert "Aki Tanaka" in html


def test_an_end_before_the_start_is_shown_next_to_the_field_and_nothing_saved(client, world):
    sign_in(client, world.lead.email)
    before = _count()
    response = _form(
        client,
        world,
        "new",
        name="Aki Tanaka",
        region_id=str(_region(world, "APAC").id),
        side="client",
        start_date="2026-03-01",
        end_date="2026-02-01",
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    error_at = html.index('id="end_date-error"')
    assert "The end date cannot be before the start date." in html[error_at : error_at + 200]
    assert 'value="Aki Tanaka"' in html, "what the user typed is kept"
    assert _count() == before


def test_linking_a_non_member_through_the_form_is_refused(client, world):
    sign_in(client, world.lead.email)
    before = _count()
    response = _form(
        client,
        world,
        "new",
        name="Aki Tanaka",
        region_id=str(_region(world, "APAC").id),
        side="client",
        user_id=str(world.outsider.id),
        start_date="2026-03-01",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="user_id-error"' in html and "sponsor role" in html
    assert _count() == before


def test_a_stale_edit_shows_both_versions_and_saves_nothing(client, world):
    erika = _erika(world)
    sign_in(client, world.lead.email)
    token = csrf_token(client, _url(world, f"{erika.id}/edit"))
    old_version = erika.version
    erika.title = "Chief People Officer"  # someone else saves first
    db.session.commit()
    response = client.post(
        _url(world, f"{erika.id}/edit"),
        data={
            "csrf_token": token,
            "version": str(old_version),
            "name": "Erika Renamed",
            "title": "My title",
            "region_id": str(erika.region_id),
            "side": "client",
            "user_id": "0",
            "start_date": "2025-01-01",
        },
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Someone else changed this sponsorship while you were editing" in html
    assert "your changes were not saved" in html
    assert 'value="Erika Renamed"' in html, "the user's input is kept"
    assert "Current saved version" in html and "Chief People Officer" in html
    db.session.expire_all()
    saved = _erika(world)
    assert (saved.name, saved.title) == ("Erika Sponsor", "Chief People Officer")


def test_ending_through_the_form_defaults_to_today_and_moves_to_history(client, world):
    erika = _erika(world)
    sign_in(client, world.lead.email)
    page = client.get(_url(world, f"{erika.id}/end")).get_data(as_text=True)
    today = dt.datetime.now(dt.UTC).date()
    assert f'value="{formatting.day(today)}"' in page, "shown as pages show dates"
    assert 'id="gap-warning"' in page, "she is EMEA's only client sponsor"
    response = _form(
        client,
        world,
        f"{erika.id}/end",
        end_date="2026-01-31",
        version=str(erika.version),
        confirm="yes",
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert _erika(world).end_date == dt.date(2026, 1, 31)


@pytest.mark.parametrize("who", ["provider", "sponsor", "viewer"])
def test_a_non_lead_posting_to_write_routes_changes_nothing(client, world, who):
    erika = _erika(world)
    sign_in(client, world.user(who).email)
    token = csrf_token(client, _url(world))
    count, audit = _count(), db.session.scalar(sa.select(sa.func.count(AuditEntry.id)))
    posts = {
        "new": {
            "name": "Intruder",
            "region_id": str(erika.region_id),
            "side": "client",
            "start_date": "2026-01-01",
        },
        f"{erika.id}/edit": {
            "name": "Hijacked",
            "region_id": str(erika.region_id),
            "side": "client",
            "start_date": "2026-01-01",
            "version": str(erika.version),
        },
        f"{erika.id}/end": {"end_date": "2026-01-01", "version": str(erika.version)},
    }
    for suffix, data in posts.items():
        response = client.post(_url(world, suffix), data={"csrf_token": token, **data})
        assert response.status_code == 403
    db.session.expire_all()
    assert _count() == count
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == audit
    saved = _erika(world)
    assert (saved.name, saved.end_date) == ("Erika Sponsor", None)


def test_a_sponsor_of_another_partnership_is_not_found(client, world):
    foreign = factories.create_sponsor(
        world.other, world.other.regions[0], Side.CLIENT, "Foreign Person"
    )
    db.session.commit()
    sign_in(client, world.lead.email)
    assert client.get(_url(world, f"{foreign.id}/edit")).status_code == 404


def test_the_sponsor_role_can_be_linked_only_to_sponsor_members(app, world):
    factories.add_member(
        factories.create_user("second@test.example"), world.partnership, Role.SPONSOR
    )
    db.session.commit()
    names = [u.email for u in service.sponsor_candidates(world.partnership.id)]
    assert sorted(names) == ["second@test.example", "sponsor@test.example"]


def test_no_gap_warning_when_another_client_sponsor_covers_the_region(client, world):
    erika = _erika(world)
    factories.create_sponsor(world.partnership, erika.region, Side.CLIENT, "Second Sponsor")
    db.session.commit()
    sign_in(client, world.lead.email)
    page = client.get(_url(world, f"{erika.id}/end")).get_data(as_text=True)
    assert 'id="gap-warning"' not in page


def test_the_sponsors_page_makes_the_same_number_of_queries_for_more_rows(client, world):
    sign_in(client, world.lead.email)
    url = _url(world)
    apac = _region(world, "APAC")
    client.get(url)  # the session's own first-request work
    factories.create_meeting(world.partnership, dt.date(2026, 6, 1), present=(_erika(world),))
    db.session.commit()
    few = first_view_and_revisit(client, url)
    sponsors = [
        factories.create_sponsor(world.partnership, apac, Side.CLIENT, f"Person {i}")
        for i in range(8)
    ]
    factories.create_sponsor(
        world.partnership, apac, Side.PROVIDER, "Ended Person", end=dt.date(2025, 6, 30)
    )
    for month in range(1, 6):
        factories.create_meeting(world.partnership, dt.date(2026, month, 2), present=(*sponsors,))
    db.session.commit()
    many = first_view_and_revisit(client, url)
    assert many == few
    assert few[1] < few[0]  # the revisit computes nothing again
