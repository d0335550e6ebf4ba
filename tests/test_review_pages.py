"""Review pages: opening a review from the list, messages next to fields, the summary with
optimistic locking, issuing as a job and downloading the archived bytes, what non-leads see,
the comparison, the CSV, and user text shown as text."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import re

import sqlalchemy as sa

from mls_tracker.extensions import db
from mls_tracker.models import (
    DeliveryResult,
    Job,
    JobState,
    Review,
    ReviewKind,
    Scorecard,
    ScorecardDelivery,
)
from mls_tracker.periods import Month
from mls_tracker.services import reviews as reviews_service
from tests.conftest import csrf_token, sign_in
from tests.routes_reviews import issued_review
from tests.scorecard_samples import sample_data
from tests.test_partnerships import count_queries


def _base(world, partnership=None) -> str:
    return f"/partnerships/{(partnership or world.partnership).id}/reviews"


def _post(client, page_url, url, data):
    return client.post(url, data={"csrf_token": csrf_token(client, page_url), **data})


def _last_month() -> Month:
    return Month.current().previous()


def _open(client, world, value: str):
    base = _base(world)
    return _post(client, f"{base}/", f"{base}/new", {"period": value})


def _draft(world) -> Review:
    """A review of last month, opened through the service."""
    return reviews_service.open_review(
        world.lead,
        world.partnership.id,
        kind=ReviewKind.MONTHLY,
        first_month=_last_month(),
        today=Month.current().first_day,
    )


def _html(response) -> str:
    return response.get_data(as_text=True)


# ----------------------------------------------------------------------------- opening


def test_a_lead_opens_a_review_from_the_form_on_the_list(client, world):
    sign_in(client, world.lead.email)
    page = _html(client.get(f"{_base(world)}/"))
    value = f"monthly:{_last_month()}"
    assert f'value="{value}"' in page
    assert "Quarters (QBR)" in page  # both kinds are offered

    response = _open(client, world, value)

    review = db.session.scalar(sa.select(Review))
    assert review is not None and review.first_month == review.last_month == _last_month()
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{_base(world)}/{review.id}")
    shown = _html(client.get(response.headers["Location"]))
    assert "Draft" in shown and "Issue version 1" in shown
    # A period reviewed already is no longer offered.
    assert f'value="{value}"' not in _html(client.get(f"{_base(world)}/"))


def test_a_refused_period_is_explained_next_to_the_field(client, world):
    sign_in(client, world.lead.email)
    empty = _open(client, world, "")
    assert empty.status_code == 200
    assert re.search(r'id="period-error">\s*<div>Choose the month or quarter', _html(empty))

    not_over = _open(client, world, f"monthly:{Month.current()}")
    assert not_over.status_code == 200
    assert 'id="period-error"' in _html(not_over)
    assert "Choose one of the periods listed" in _html(not_over)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Review)) == 0


# ----------------------------------------------------------------------------- the summary


def test_the_lead_saves_the_summary_and_the_featured_wins(client, world):
    review = _draft(world)
    sign_in(client, world.lead.email)
    url = f"{_base(world)}/{review.id}"
    response = _post(
        client,
        url,
        f"{url}/edit",
        {"executive_summary": "A steady month.", "version": str(review.version)},
    )
    assert response.status_code == 302
    db.session.refresh(review)
    assert review.executive_summary == "A steady month."
    assert "A steady month." in _html(client.get(url))


def test_a_stale_save_is_refused_and_both_versions_are_shown(client, world, app):
    review = _draft(world)
    seen_version = review.version
    reviews_service.update_review(
        world.lead,
        review.id,
        executive_summary="Their summary, saved first.",
        featured_win_ids=[],
        expected_version=seen_version,
    )
    sign_in(client, world.lead.email)
    url = f"{_base(world)}/{review.id}"
    response = _post(
        client,
        url,
        f"{url}/edit",
        {"executive_summary": "My summary, written meanwhile.", "version": str(seen_version)},
    )
    page = _html(response)
    assert response.status_code == 200
    assert 'id="conflict-message"' in page and "Someone else changed this review" in page
    current = page[page.index('id="current-version"') :]
    assert "Their summary, saved first." in current
    assert "My summary, written meanwhile." in page  # kept in the form
    db.session.refresh(review)
    assert review.executive_summary == "Their summary, saved first."


def test_a_summary_with_markup_is_shown_as_text(client, world):
    review, _ = issued_review(
        world.partnership,
        world.lead,
        data=sample_data(executive_summary="<script>alert(1)</script> & more"),
    )
    db.session.commit()
    sign_in(client, world.provider.email)
    page = _html(client.get(f"{_base(world)}/{review.id}"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    assert "<script>alert(1)" not in page


# ----------------------------------------------------------------------------- issuing


def test_the_lead_issues_and_downloads_the_archived_bytes(client, world):
    review = _draft(world)
    sign_in(client, world.lead.email)
    url = f"{_base(world)}/{review.id}"
    response = _post(
        client, url, f"{url}/issue", {"version": str(review.version), "confirm": "yes"}
    )
    assert response.status_code == 302
    job_page = client.get(response.headers["Location"])
    page = _html(job_page)
    assert job_page.status_code == 200
    assert "Scorecard issued" in page and "Version 1 of the scorecard is issued" in page

    scorecard = db.session.scalar(sa.select(Scorecard))
    download = f"{_base(world)}/scorecards/{scorecard.id}.pdf"
    assert download in page
    pdf = client.get(download)
    assert pdf.status_code == 200
    assert pdf.data == scorecard.pdf and pdf.data.startswith(b"%PDF-")
    assert hashlib.sha256(pdf.data).hexdigest() == scorecard.sha256
    assert pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Disposition"] == (
        f'attachment; filename="global-learning-scorecard-{_last_month()}-v1.pdf"'
    )
    assert pdf.headers["Cache-Control"] == "no-store"
    assert pdf.headers["ETag"] == f'"{scorecard.sha256}"'
    assert client.get(download).data == pdf.data  # again: the same bytes

    archive = _html(client.get(url))
    assert "Version 1" in archive and scorecard.sha256[:12] in archive
    assert f'title="{scorecard.sha256}"' in archive
    assert "Issue version 2" in archive


def test_issuing_from_an_outdated_page_is_refused(client, world):
    review = _draft(world)
    sign_in(client, world.lead.email)
    url = f"{_base(world)}/{review.id}"
    token = csrf_token(client, url)
    old_version = review.version
    reviews_service.update_review(
        world.lead,
        review.id,
        executive_summary="New",
        featured_win_ids=[],
        expected_version=old_version,
    )
    response = client.post(
        f"{url}/issue", data={"csrf_token": token, "version": str(old_version), "confirm": "yes"}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(url)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Scorecard)) == 0
    assert "Someone changed this review" in _html(client.get(url))


def test_a_failed_job_shows_why_and_can_be_retried(client, world):
    review = _draft(world)
    job = Job(
        kind="scorecard_issue",
        partnership_id=world.partnership.id,
        user_id=world.lead.id,
        params={"review_id": review.id},
        state=JobState.FAILED,
        error="Chromium is not installed: apt-get install chromium.",
    )
    db.session.add(job)
    db.session.commit()
    sign_in(client, world.lead.email)
    url = f"{_base(world)}/jobs/{job.id}"
    page = _html(client.get(url))
    assert "Issuing failed" in page and "Chromium is not installed" in page
    assert f'action="{url}/retry"' in page

    response = _post(client, url, f"{url}/retry", {})
    assert response.status_code == 302
    db.session.refresh(job)
    assert job.state == JobState.SUCCEEDED  # ran again, inline, and issued
    assert db.session.scalar(sa.select(Scorecard.review_id)) == review.id


def test_a_job_of_another_partnership_is_not_found(client, world):
    job = Job(kind="scorecard_issue", partnership_id=world.other.id, state=JobState.SUCCEEDED)
    db.session.add(job)
    db.session.commit()
    sign_in(client, world.admin.email)
    assert client.get(f"{_base(world)}/jobs/{job.id}").status_code == 404
    assert client.get(f"{_base(world, world.other)}/jobs/{job.id}").status_code == 200


# ----------------------------------------------------------------------------- other roles


def test_providers_see_issued_scorecards_but_not_drafts(client, world):
    draft = _draft(world)
    issued, scorecard = issued_review(world.partnership, world.lead, month=Month(2025, 3))
    db.session.commit()
    sign_in(client, world.provider.email)
    listing = _html(client.get(f"{_base(world)}/"))
    assert f'id="review-{issued.id}"' in listing
    # A draft is listed for its commentary (issue 19), never as a page of figures.
    assert f'href="{_base(world)}/{draft.id}/commentary"' in listing
    assert f'href="{_base(world)}/{draft.id}"' not in listing
    assert "Open a review" not in listing
    assert client.get(f"{_base(world)}/{draft.id}").status_code == 403
    assert client.get(f"{_base(world)}/{draft.id}/preview").status_code == 403
    shown = _html(client.get(f"{_base(world)}/{issued.id}"))
    assert "figures as issued in version 1" in shown
    assert 'id="summary-form"' not in shown and "Issue version" not in shown
    assert client.get(f"{_base(world)}/scorecards/{scorecard.id}.pdf").data == scorecard.pdf


def test_a_signed_in_sponsor_sees_their_acknowledgement_state(client, world):
    review, scorecard = issued_review(world.partnership, world.lead)
    delivery = ScorecardDelivery(
        scorecard_id=scorecard.id,
        sponsor_id=world.ids["sponsor_id"],
        email="erika@test.example",
        result=DeliveryResult.SENT,
        sent_at=scorecard.issued_at,
    )
    db.session.add(delivery)
    db.session.commit()
    sign_in(client, world.sponsor.email)
    url = f"{_base(world)}/{review.id}"
    page = _html(client.get(url))
    assert "you have not acknowledged it yet" in page
    # The sponsor reads and acknowledges in the app (issue 19), on the same delivery row.
    link = re.search(r'href="([^"]+)">Read and mark it reviewed', page).group(1)
    assert link == f"{_base(world)}/scorecards/{scorecard.id}"
    assert 'id="acknowledge-form"' in _html(client.get(link))

    delivery.acknowledged_at = scorecard.issued_at
    delivery.comment = "Reviewed with my team."
    db.session.commit()
    page = _html(client.get(url))
    assert "You acknowledged version 1" in page and "Reviewed with my team." in page


def test_the_archive_shows_the_stored_page_count_and_size_without_reading_a_pdf(client, world):
    review, scorecard = issued_review(world.partnership, world.lead)
    assert scorecard.size_bytes == len(scorecard.pdf)  # filled in from the PDF on insert
    scorecard.page_count, scorecard.size_bytes = 7, 3 * 1048576
    db.session.commit()
    sign_in(client, world.lead.email)
    with count_queries() as statements:
        page = _html(client.get(f"{_base(world)}/{review.id}"))
    assert "PDF, 7 pages, 3.0 MB" in " ".join(page.split())
    assert not [s for s in statements if re.search(r"scorecards\.pdf\b", s)]


# ----------------------------------------------------------------------------- compare, CSV


def _with_status(data, code: str, status: str):
    rows = tuple(
        dataclasses.replace(row, status=status) if row.code == code else row
        for row in data.slas.rows
    )
    return dataclasses.replace(data, slas=dataclasses.replace(data.slas, rows=rows))


def test_compare_shows_a_new_breach(client, world):
    current = sample_data()
    assert {row.code: row.status for row in current.slas.rows}["SLA-02"] == "breached"
    issued_review(
        world.partnership,
        world.lead,
        month=Month(2026, 9),
        data=dataclasses.replace(
            _with_status(current, "SLA-02", "at risk"),
            health=dataclasses.replace(current.health, score=70),
        ),
    )
    review, _ = issued_review(world.partnership, world.lead, month=Month(2026, 10), data=current)
    db.session.commit()
    sign_in(client, world.viewer.email)
    page = _html(client.get(f"{_base(world)}/{review.id}/compare"))
    new = page[page.index('id="new-breaches"') : page.index('id="resolved-breaches"')]
    assert "SLA-02" in new and "was at risk" in new
    assert "SLA-04" not in new  # breached in both
    health = page[page.index('id="figure-health"') :]
    health = health[: health.index("</tr>")]
    assert "▲" in health and "+5 up · better" in health


def test_compare_without_an_earlier_review_says_so(client, world):
    review, _ = issued_review(world.partnership, world.lead)
    db.session.commit()
    sign_in(client, world.viewer.email)
    page = _html(client.get(f"{_base(world)}/{review.id}/compare"))
    assert "No earlier review to compare with" in page


def test_the_list_as_csv(client, world, app):
    issued_review(world.partnership, world.lead, month=Month(2025, 3))
    _draft(world)
    sign_in(client, world.lead.email)
    response = client.get(f"{_base(world)}/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:2] == ["Period", "Kind"]
    by_period = {row[0]: row for row in rows[1:]}
    assert by_period["March 2025"][5] == "issued (version 1)"
    assert by_period[_last_month().first_day.strftime("%B %Y")][5] == "draft"

    viewer = app.test_client()
    sign_in(viewer, world.viewer.email)
    viewer_rows = viewer.get(f"{_base(world)}/export.csv").get_data(as_text=True)
    assert "March 2025" in viewer_rows and "draft" not in viewer_rows


def test_the_lead_previews_the_print_template_as_a_page(client, world):
    review = _draft(world)
    reviews_service.update_review(
        world.lead,
        review.id,
        executive_summary="Preview me <b>now</b>",
        featured_win_ids=[],
        expected_version=review.version,
    )
    sign_in(client, world.lead.email)
    response = client.get(f"{_base(world)}/{review.id}/preview")
    page = _html(response)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "not issued" in page.lower()
    assert "Preview me &lt;b&gt;now&lt;/b&gt;" in page
    assert response.headers["Cache-Control"] == "no-store"


def _delivered(scorecard, world, result=DeliveryResult.SENT) -> None:
    db.session.add(
        ScorecardDelivery(
            scorecard_id=scorecard.id,
            sponsor_id=world.ids["sponsor_id"],
            email="erika@test.example",
            result=result,
            error="550 mailbox unavailable" if result == DeliveryResult.FAILED else None,
        )
    )


def test_the_list_and_a_review_take_as_many_queries_for_one_review_as_for_many(client, world):
    from tests.test_partnerships import count_queries

    review, scorecard = issued_review(world.partnership, world.lead, month=Month(2025, 1))
    _delivered(scorecard, world)
    db.session.commit()
    sign_in(client, world.lead.email)
    base = _base(world)

    def queries(url: str) -> int:
        client.get(url)  # warm: sessions, caches
        with count_queries() as statements:
            assert client.get(url).status_code == 200
        return len(statements)

    one = queries(f"{base}/"), queries(f"{base}/{review.id}")
    for number in range(2, 7):
        _, more = issued_review(world.partnership, world.lead, month=Month(2025, number))
        _delivered(more, world)
        _delivered(more, world, DeliveryResult.FAILED)
        version = Scorecard(
            review_id=review.id,
            version=number,
            issued_by_id=world.lead.id,
            sha256=scorecard.sha256,
            pdf=scorecard.pdf,
            snapshot=scorecard.snapshot,
        )
        db.session.add(version)
        db.session.flush()
        _delivered(version, world, DeliveryResult.FAILED)
    db.session.commit()
    assert (queries(f"{base}/"), queries(f"{base}/{review.id}")) == one


def test_a_failed_delivery_shows_its_reason_and_can_be_resent(client, world, mailbox):
    review, scorecard = issued_review(world.partnership, world.lead)
    _delivered(scorecard, world, DeliveryResult.FAILED)
    db.session.commit()
    sign_in(client, world.lead.email)
    url = f"{_base(world)}/{review.id}"
    page = _html(client.get(url))
    assert "Failed" in page and "550 mailbox unavailable" in page
    delivery_id = db.session.scalar(sa.select(ScorecardDelivery.id))
    response = _post(client, url, f"{_base(world)}/deliveries/{delivery_id}/resend", {})
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"]
    assert "1 e-mail sent" in _html(client.get(response.headers["Location"]))
    assert [message["To"] for message in mailbox] == ["erika@test.example"]


def test_every_failed_delivery_is_resent_in_one_go(client, world, mailbox):
    review, scorecard = issued_review(world.partnership, world.lead)
    _delivered(scorecard, world, DeliveryResult.FAILED)
    _delivered(scorecard, world, DeliveryResult.FAILED)
    _delivered(scorecard, world)  # this one arrived: not sent again
    db.session.commit()
    sign_in(client, world.lead.email)
    url = f"{_base(world)}/{review.id}"
    assert "Resend to the 2 who did not get it" in _html(client.get(url))
    resend = f"{_base(world)}/scorecards/{scorecard.id}/resend-failed"
    response = _post(client, url, resend, {})
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"]
    assert "2 e-mails sent" in _html(client.get(response.headers["Location"]))
    assert len(mailbox) == 2
    results = db.session.scalars(sa.select(ScorecardDelivery.result)).all()
    assert sorted(str(result) for result in results) == ["sent", "sent", "sent"]
    again = _post(client, url, resend, {})  # nothing left to resend: said, not sent
    assert again.status_code == 302 and "/jobs/" not in again.headers["Location"]
    assert "nothing to send again" in _html(client.get(again.headers["Location"]))
    assert len(mailbox) == 2


def test_the_lead_sends_to_the_sponsors_of_chosen_regions(client, world, mailbox):
    review, scorecard = issued_review(world.partnership, world.lead)
    db.session.commit()
    emea, apac = (region.id for region in world.partnership.regions)
    sign_in(client, world.lead.email)
    url = f"{_base(world)}/scorecards/{scorecard.id}/send"
    page = _html(client.get(url))
    assert "Erika Sponsor" in page and "Send to 1 sponsor" in page

    nothing = _post(client, url, url, {"audience": "regions", "send": "1"})
    assert nothing.status_code == 200
    assert re.search(r'id="region_ids-error">\s*<div>Choose at least one region', _html(nothing))
    only_apac = _post(
        client, url, url, {"audience": "regions", "region_ids": str(apac), "show": "1"}
    )
    assert "Erika Sponsor" not in _html(only_apac) and 'id="no-recipients"' in _html(only_apac)
    assert mailbox == []

    response = _post(
        client, url, url, {"audience": "regions", "region_ids": str(emea), "send": "1"}
    )
    assert response.status_code == 302
    assert "1 e-mail sent" in _html(client.get(response.headers["Location"]))
    assert [message["To"] for message in mailbox] == ["erika@test.example"]
    shown = _html(client.get(f"{_base(world)}/{review.id}"))
    assert "1 sent" in shown and "Erika Sponsor" in shown


def test_posts_without_a_csrf_token_change_nothing(client, world):
    review = _draft(world)
    sign_in(client, world.lead.email)
    url = f"{_base(world)}/{review.id}"
    version = str(review.version)
    for action, data in (
        ("issue", {"version": version}),
        ("edit", {"executive_summary": "Forged", "version": version}),
        ("refresh", {}),
    ):
        assert client.post(f"{url}/{action}", data=data).status_code == 400
    db.session.refresh(review)
    assert review.executive_summary is None and str(review.version) == version
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Scorecard)) == 0
