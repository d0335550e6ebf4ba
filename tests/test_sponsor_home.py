"""The sponsor's side in the app: the scorecards waiting on their home, reading one (read_at),
acknowledging it with a comment on the same delivery row the e-mailed link writes, and what
the lead sees of it (read, acknowledged, comment, the distribution as CSV)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import (
    DeliveryResult,
    Role,
    ScorecardDelivery,
    Side,
)
from mls_tracker.periods import Month
from mls_tracker.scorecards import delivery as delivery_service
from mls_tracker.scorecards.snapshot import PeriodFacts
from tests.conftest import csrf_token, sign_in
from tests.factories import add_member, create_sponsor, create_user
from tests.routes_reviews import issued_review
from tests.test_scorecard_delivery import issue_scorecard_row, next_agenda_titles

SENT_AT = dt.datetime(2026, 11, 4, 9, 0, tzinfo=dt.UTC)


def _sent(scorecard, sponsor, **values) -> ScorecardDelivery:
    delivery = ScorecardDelivery(
        scorecard_id=scorecard.id,
        sponsor_id=sponsor.id,
        email=sponsor.email,
        result=DeliveryResult.SENT,
        sent_at=SENT_AT,
        **values,
    )
    db.session.add(delivery)
    db.session.commit()
    return delivery


def _world_sponsor(world):
    from mls_tracker.models import Sponsor

    return db.session.get(Sponsor, world.ids["sponsor_id"])


def _section(html: str, element_id: str) -> str:
    """The HTML of the element with this id, up to its closing tag of the same name."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"', html)
    assert match, f"no #{element_id}"
    tag = match.group(1)
    depth, position = 0, match.start()
    for found in re.finditer(rf"<(/?){tag}\b[^>]*>", html[match.start() :]):
        depth += -1 if found.group(1) else 1
        if depth == 0:
            return html[position : match.start() + found.end()]
    raise AssertionError(f"#{element_id} is not closed")


def _acknowledge(client, url: str, comment: str):
    page = url
    return client.post(
        f"{url}/acknowledge", data={"csrf_token": csrf_token(client, page), "comment": comment}
    )


def _scorecard_url(world, scorecard) -> str:
    return f"/partnerships/{world.partnership.id}/reviews/scorecards/{scorecard.id}"


# --- the home ----------------------------------------------------------------------------


def test_the_home_lists_the_waiting_scorecard_then_the_acknowledged(app, client, world):
    erika = _world_sponsor(world)
    september = issue_scorecard_row(
        world.partnership,
        month=Month(2026, 9),
        period=PeriodFacts("monthly", Month(2026, 9), Month(2026, 9), "September 2026"),
    )
    _sent(september, erika)
    october = issue_scorecard_row(world.partnership)
    _sent(october, erika)

    sign_in(client, world.sponsor.email)
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    inbox = _section(home, "sponsor-inbox")
    assert "Scorecards waiting for you" in inbox
    waiting = _section(inbox, "waiting")
    # Only the latest scorecard of the partnership waits: September's is superseded.
    assert "Global Learning" in waiting
    assert "October 2026 · version 1" in waiting
    assert "September 2026" not in waiting
    assert "75" in waiting and "Amber" in waiting  # the snapshot's health score and RAG
    assert "not opened yet" in waiting
    assert "Acknowledged" not in inbox
    assert "Portfolio" in home  # the rest of the home is as it was

    url = _scorecard_url(world, october)
    page = client.get(url)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Health score, +3 points" in body and "81.8%" in body
    assert f'href="/partnerships/{world.partnership.id}/reviews/scorecards/{october.id}.pdf"' in (
        body
    )
    row = db.session.scalar(
        sa.select(ScorecardDelivery).where(ScorecardDelivery.scorecard_id == october.id)
    )
    assert row.read_at is not None
    first_read = row.read_at

    answer = _acknowledge(client, url, "Good month — <b>thanks</b>")
    assert answer.status_code == 302
    db.session.refresh(row)
    assert row.acknowledged_at is not None
    assert row.comment == "Good month — <b>thanks</b>"
    assert row.commented_at == row.acknowledged_at
    assert row.read_at == first_read
    page = client.get(url).get_data(as_text=True)
    assert "You marked it as reviewed on" in page
    assert "Good month — &lt;b&gt;thanks&lt;/b&gt;" in page
    assert "Update the comment" in page

    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    inbox = _section(home, "sponsor-inbox")
    assert "Nothing is waiting for you" in inbox
    done = _section(inbox, "acknowledged")
    assert "Global Learning · October 2026 v1" in done
    assert "Good month — &lt;b&gt;thanks&lt;/b&gt;" in done


def test_a_user_who_sponsors_nothing_sees_no_inbox(app, world):
    issue_scorecard_row(world.partnership)
    for who in (world.lead, world.provider, world.viewer, world.admin):
        client = app.test_client()
        sign_in(client, who.email)
        home = client.get("/portfolio").get_data(as_text=True)
        assert "Portfolio" in home
        assert "Scorecards waiting for you" not in home, who.email


def test_the_empty_state_says_what_will_appear(app, client, world):
    sign_in(client, world.sponsor.email)
    inbox = _section(client.get("/portfolio").get_data(as_text=True), "sponsor-inbox")
    assert "Nothing is waiting for you" in inbox
    assert "When a lead issues a scorecard of a partnership you sponsor" in inbox


def test_a_lead_elsewhere_who_sponsors_this_partnership_sees_the_block(app, client, world):
    """Roles are per partnership: a lead of one partnership who sponsors another sees the
    block for the one they sponsor (matched by the Sponsor record's e-mail address)."""
    emea = sorted(world.partnership.regions, key=lambda r: r.position)[0]
    sponsor = create_sponsor(world.partnership, emea, Side.CLIENT, "Otto Outsider")
    sponsor.email = "OUTSIDER@test.example"
    add_member(world.outsider, world.partnership, Role.VIEWER)
    db.session.commit()
    scorecard = issue_scorecard_row(world.partnership)
    sign_in(client, world.outsider.email)
    waiting = _section(client.get("/portfolio").get_data(as_text=True), "waiting")
    assert f"waiting-{scorecard.id}" in waiting


# --- reading and acknowledging -----------------------------------------------------------


def test_downloading_the_pdf_records_the_read(app, client, world):
    erika = _world_sponsor(world)
    scorecard = issue_scorecard_row(world.partnership)
    delivery = _sent(scorecard, erika)
    sign_in(client, world.sponsor.email)
    download = client.get(_scorecard_url(world, scorecard) + ".pdf")
    assert download.status_code == 200
    assert download.data == scorecard.pdf
    db.session.refresh(delivery)
    read = delivery.read_at
    assert read is not None
    client.get(_scorecard_url(world, scorecard) + ".pdf")  # the first opening counts
    db.session.refresh(delivery)
    assert delivery.read_at == read


def test_a_lead_opening_the_scorecard_records_nothing(app, client, world):
    erika = _world_sponsor(world)
    scorecard = issue_scorecard_row(world.partnership)
    delivery = _sent(scorecard, erika)
    sign_in(client, world.lead.email)
    page = client.get(_scorecard_url(world, scorecard)).get_data(as_text=True)
    assert 'id="acknowledge-form"' not in page
    assert "The partnership's sponsors mark this scorecard as reviewed" in page
    client.get(_scorecard_url(world, scorecard) + ".pdf")
    db.session.refresh(delivery)
    assert delivery.read_at is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScorecardDelivery)) == 1


def test_never_sent_the_sponsor_gets_an_in_app_row(app, client, world, mailbox):
    """A scorecard never e-mailed to the sponsor: opening it records an in-app row (not
    e-mailed), which the lead sees; an e-mail sent later reuses that row."""
    scorecard = issue_scorecard_row(world.partnership)
    sign_in(client, world.sponsor.email)
    url = _scorecard_url(world, scorecard)
    page = client.get(url).get_data(as_text=True)
    assert "This version was not e-mailed to you" in page
    assert _acknowledge(client, url, "Read it here").status_code == 302
    (row,) = db.session.scalars(sa.select(ScorecardDelivery)).all()
    assert (row.in_app, row.result, row.sent_at) == (True, DeliveryResult.PENDING, None)
    assert row.sponsor_id == world.ids["sponsor_id"] and row.email == "erika@test.example"
    assert row.read_at is not None and row.comment == "Read it here"

    with app.test_request_context():
        delivery_service.send_scorecard(world.lead, scorecard)
    rows = db.session.scalars(sa.select(ScorecardDelivery)).all()
    assert len(rows) == 1
    db.session.refresh(rows[0])
    assert rows[0].result == DeliveryResult.SENT and rows[0].comment == "Read it here"


def test_an_edited_comment_goes_on_the_next_agenda_again(app, client, world):
    erika = _world_sponsor(world)
    scorecard = issue_scorecard_row(world.partnership)
    delivery = _sent(scorecard, erika)
    sign_in(client, world.sponsor.email)
    url = _scorecard_url(world, scorecard)
    _acknowledge(client, url, "First thoughts")
    db.session.refresh(delivery)
    first = delivery.acknowledged_at
    _acknowledge(client, url, "Second view")
    db.session.refresh(delivery)
    assert delivery.comment == "Second view"
    assert delivery.acknowledged_at == first
    assert delivery.commented_at > first

    titles = next_agenda_titles(world, first.date())
    assert "Erika Sponsor (EMEA) on the October 2026 scorecard v1: “Second view”" in titles


def test_the_emailed_link_shows_the_same_acknowledgement(app, client, world):
    erika = _world_sponsor(world)
    scorecard = issue_scorecard_row(world.partnership)
    delivery = _sent(scorecard, erika)
    with app.test_request_context():
        token = delivery_service.acknowledgement_token(delivery.id)
    link = f"/acknowledge/{token}"
    anonymous = app.test_client()
    assert anonymous.get(link).status_code == 200
    db.session.refresh(delivery)
    assert delivery.read_at is not None  # the link's page counts as reading it

    sign_in(client, world.sponsor.email)
    _acknowledge(client, _scorecard_url(world, scorecard), "Seen in the app")
    page = anonymous.get(link).get_data(as_text=True)
    assert "Reviewed on" in page and "Seen in the app" in page
    # …and the link still acknowledges, on the same row.
    anonymous.post(link, data={"csrf_token": csrf_token(anonymous, link), "comment": "Via mail"})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScorecardDelivery)) == 1
    db.session.refresh(delivery)
    assert delivery.comment == "Via mail"
    page = client.get(_scorecard_url(world, scorecard)).get_data(as_text=True)
    assert "Via mail" in page


def test_a_too_long_comment_is_refused_beside_the_field_and_kept(app, client, world):
    scorecard = issue_scorecard_row(world.partnership)
    sign_in(client, world.sponsor.email)
    text = "x" * 2001
    answer = _acknowledge(client, _scorecard_url(world, scorecard), text)
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    error = _section(html, "comment-ctr")
    assert "Keep the comment to 2,000 characters." in error
    assert text in error  # nothing typed is lost
    assert 'maxlength="2000"' in error and "data-char-counter" in error
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(ScorecardDelivery)
            .where(ScorecardDelivery.acknowledged_at.is_not(None))
        )
        == 0
    )


def test_line_breaks_count_once(app, client, world):
    scorecard = issue_scorecard_row(world.partnership)
    sign_in(client, world.sponsor.email)
    text = "ab\r\n" * 500  # 2,000 characters as typed, 2,000 bytes more as sent
    assert _acknowledge(client, _scorecard_url(world, scorecard), text).status_code == 302
    (row,) = db.session.scalars(sa.select(ScorecardDelivery)).all()
    assert row.comment == ("ab\n" * 500).strip()


def test_who_may_acknowledge(app, world):
    scorecard = issue_scorecard_row(world.partnership)
    url = _scorecard_url(world, scorecard)
    # A sponsor of another partnership: nothing of this one exists for them.
    stranger = create_user("stranger@test.example")
    add_member(stranger, world.other, Role.SPONSOR)
    db.session.commit()
    for user, status in (
        (stranger, 404),
        (world.outsider, 404),
        (world.provider, 403),
        (world.viewer, 403),
        # A lead or an administrator who is not one of its sponsors: back to the page,
        # which says so (the page never offers them the form).
        (world.lead, 302),
        (world.admin, 302),
    ):
        client = app.test_client()
        sign_in(client, user.email)
        answer = _acknowledge(client, url, "Mine")
        assert answer.status_code == status, user.email
        if status == 302:
            page = client.get(answer.location).get_data(as_text=True)
            assert "Only the partnership&#39;s sponsors acknowledge its scorecards." in page
            assert 'id="acknowledge-form"' not in page
        assert client.get(url).status_code == (404 if status == 404 else 200), user.email
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScorecardDelivery)) == 0


# --- what the lead sees ------------------------------------------------------------------


def test_the_lead_sees_who_read_and_acknowledged(app, client, world):
    erika = _world_sponsor(world)
    emea, apac = sorted(world.partnership.regions, key=lambda r: r.position)
    paul = create_sponsor(world.partnership, apac, Side.PROVIDER, "Paul Provider")
    nora = create_sponsor(world.partnership, emea, Side.PROVIDER, "Nora North")
    _, scorecard = issued_review(world.partnership, world.lead)  # the lead's page computes
    db.session.commit()
    _sent(scorecard, erika)
    _sent(scorecard, paul, acknowledged_at=SENT_AT + dt.timedelta(days=1))
    _sent(scorecard, nora)
    sponsor_client = app.test_client()
    sign_in(sponsor_client, world.sponsor.email)
    _acknowledge(sponsor_client, _scorecard_url(world, scorecard), "=cmd Please add LATAM")

    sign_in(client, world.lead.email)
    review_url = f"/partnerships/{world.partnership.id}/reviews/{scorecard.review_id}"
    page = client.get(review_url).get_data(as_text=True)
    card = _section(page, f"scorecard-{scorecard.id}")
    assert "2 of 3 acknowledged" in card
    assert "1 read" in card
    assert '<th scope="col">Read</th>' in card
    assert "=cmd Please add LATAM" in card

    export = client.get(_scorecard_url(world, scorecard) + "/distribution.csv")
    assert export.status_code == 200
    assert export.mimetype == "text/csv"
    assert (
        "global-learning-scorecard-2026-10-v1-distribution.csv"
        in (export.headers["Content-Disposition"])
    )
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    by_name = {row["Recipient"]: row for row in rows}
    assert set(by_name) == {"Erika Sponsor", "Paul Provider", "Nora North"}
    assert by_name["Erika Sponsor"]["Read at (UTC)"] != ""
    assert by_name["Erika Sponsor"]["Acknowledged at (UTC)"] != ""
    assert by_name["Erika Sponsor"]["Comment"] == "'=cmd Please add LATAM"  # neutralised
    assert by_name["Paul Provider"]["Acknowledged at (UTC)"] == "2026-11-05 09:00"
    assert by_name["Nora North"]["Read at (UTC)"] == ""
    assert by_name["Nora North"]["Result"] == "sent"


def test_the_inbox_reads_as_many_rows_for_one_partnership_as_for_three(app, world):
    from mls_tracker.models import Partnership
    from mls_tracker.services.sponsor_reading import sponsor_inbox
    from tests.factories import create_partnership
    from tests.test_partnerships import count_queries

    erika = _world_sponsor(world)
    _sent(issue_scorecard_row(world.partnership), erika)

    def queries() -> tuple[int, int]:
        db.session.expire_all()
        with app.test_request_context(), count_queries() as statements:
            inbox = sponsor_inbox(world.sponsor)
        assert inbox is not None
        return len(statements), len(inbox.waiting)

    one = queries()
    client_org = db.session.get(Partnership, world.partnership.id).client
    for name in ("Second", "Third"):
        p = create_partnership(name, client_org, world.other.provider, list(world.other.regions))
        add_member(world.sponsor, p, Role.SPONSOR)
        issue_scorecard_row(p)
    db.session.commit()
    three = queries()
    assert three[1] == 3 and one[1] == 1
    assert three[0] == one[0]


def test_an_archived_partnership_shows_the_acknowledgement_and_takes_none(app, client, world):
    erika = _world_sponsor(world)
    scorecard = issue_scorecard_row(world.partnership)
    _sent(scorecard, erika, acknowledged_at=SENT_AT, comment="Before closing")
    world.partnership.archived_at = SENT_AT
    db.session.commit()
    sign_in(client, world.sponsor.email)
    url = _scorecard_url(world, scorecard)
    page = client.get(url).get_data(as_text=True)
    assert "You marked it as reviewed on" in page and "Before closing" in page
    assert 'id="acknowledge-form"' not in page
    assert "This partnership is archived" in page
    assert _acknowledge(client, url, "After closing").status_code == 403
    (row,) = db.session.scalars(sa.select(ScorecardDelivery)).all()
    assert (row.comment, row.read_at) == ("Before closing", None)
    # Archived partnerships are not on the home: there is nothing to do for them.
    assert "Scorecards waiting for you" not in client.get("/portfolio").get_data(as_text=True)


def test_the_cover_headings_nest_under_the_card_heading(app, client, world):
    scorecard = issue_scorecard_row(world.partnership)
    sign_in(client, world.sponsor.email)
    cover = _section(client.get(_scorecard_url(world, scorecard)).get_data(as_text=True), "cover")
    assert '<h2 id="cover-heading">On the cover</h2>' in cover
    assert '<h3 class="h6 mt-3">Executive summary</h3>' in cover


def test_the_emailed_links_pdf_records_the_read(app, world):
    delivery = _sent(issue_scorecard_row(world.partnership), _world_sponsor(world))
    with app.test_request_context():
        token = delivery_service.acknowledgement_token(delivery.id)
    download = app.test_client().get(f"/acknowledge/{token}/scorecard.pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    db.session.refresh(delivery)
    assert delivery.read_at is not None and delivery.acknowledged_at is None
