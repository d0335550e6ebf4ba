"""Permission-matrix rows of the review pages (merged into tests/test_permissions.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
from functools import cache

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
from mls_tracker.scorecards.snapshot import dump

READ = {
    "anonymous": 302,
    "admin": 200,
    "lead": 200,
    "provider": 200,
    "sponsor": 200,
    "viewer": 200,
    "outsider": 404,
}
# Leads only: a page, or a POST that shows the form again with its messages (200).
MANAGE = {**READ, "provider": 403, "sponsor": 403, "viewer": 403}
# Leads only, a POST answered by a redirect: the walk posts no data, so resend (the delivery
# did not fail) and retry (the job did not fail) change nothing.
MANAGE_REDIRECT = {**MANAGE, "admin": 302, "lead": 302}

SCOPED = {
    ("GET", "reviews.index"): READ,
    ("GET", "reviews.export"): READ,
    ("GET", "reviews.new"): MANAGE,
    ("POST", "reviews.new"): MANAGE,
    ("GET", "reviews.show"): READ,  # an issued review (drafts are the leads')
    ("POST", "reviews.edit"): MANAGE,
    ("POST", "reviews.refresh"): MANAGE_REDIRECT,
    ("GET", "reviews.preview"): MANAGE,
    # The page that asks before issuing; a post without its confirm field (the walk posts no
    # data) shows it again with why (200), nothing issued.
    ("GET", "reviews.issue"): MANAGE,
    ("POST", "reviews.issue"): MANAGE,
    ("GET", "reviews.send"): MANAGE,
    ("POST", "reviews.send"): MANAGE,
    ("POST", "reviews.resend"): MANAGE_REDIRECT,
    ("POST", "reviews.resend_failed"): MANAGE_REDIRECT,  # nothing failed: a message
    ("GET", "reviews.job"): MANAGE,
    ("POST", "reviews.retry_job"): MANAGE_REDIRECT,
    ("GET", "reviews.download_scorecard"): READ,
    ("GET", "reviews.compare"): READ,
    # The sponsor's side: any member reads an issued scorecard; only its sponsors acknowledge
    # (the walk posts an empty comment: acknowledged, then redirected). A lead or an
    # administrator who is not one of its sponsors is sent back to the page with a message,
    # nothing recorded; providers and viewers are refused.
    ("GET", "reviews.scorecard"): READ,
    ("POST", "reviews.acknowledge"): {**MANAGE_REDIRECT, "sponsor": 302},
    ("GET", "reviews.distribution_export"): MANAGE,
    # Issue 19: the cover story (leads) and the provider's commentary (providers write it on
    # their own page, drafts included; a lead approves or returns it).
    ("POST", "reviews.story"): MANAGE,  # no version posted: the form again, with its message
    ("POST", "reviews.redraft_messages"): MANAGE_REDIRECT,
    ("POST", "reviews.decide_commentary"): MANAGE,  # nothing submitted: the page, with why
    ("GET", "reviews.commentary"): {**MANAGE, "provider": 200},
    ("POST", "reviews.commentary"): {**MANAGE_REDIRECT, "provider": 302},  # an empty draft
}


@cache
def small_pdf() -> bytes:
    from mls_tracker.scorecards import pdf

    return pdf.html_to_pdf("<p>x</p>", created_at=dt.datetime(2026, 11, 3, tzinfo=dt.UTC))


OCTOBER = Month(2026, 10)


def issued_review(partnership, issuer, *, month: Month = OCTOBER, data=None):
    """A review of ``month`` with version 1 issued, from ``data`` (by default the sample
    snapshot) without rendering it: the PDF is a small real one."""
    from tests.scorecard_samples import sample_data

    snapshot = dump(data if data is not None else sample_data())
    review = Review(
        partnership_id=partnership.id,
        kind=ReviewKind.MONTHLY,
        first_month=month,
        last_month=month,
        executive_summary=snapshot["executive_summary"],
        snapshot=snapshot,
        created_by_id=issuer.id,
    )
    db.session.add(review)
    db.session.flush()
    body = small_pdf()
    scorecard = Scorecard(
        review_id=review.id,
        version=1,
        issued_by_id=issuer.id,
        sha256=hashlib.sha256(body).hexdigest(),
        pdf=body,
        snapshot=snapshot,
    )
    db.session.add(scorecard)
    db.session.flush()
    return review, scorecard


def prepare(world) -> dict[str, int]:
    review, scorecard = issued_review(world.partnership, world.lead)
    delivery = ScorecardDelivery(
        scorecard_id=scorecard.id,
        sponsor_id=world.ids["sponsor_id"],
        email="erika@test.example",
        result=DeliveryResult.SENT,
        sent_at=dt.datetime(2026, 11, 4, 9, 0, tzinfo=dt.UTC),
    )
    job = Job(
        kind="scorecard_issue",
        partnership_id=world.partnership.id,
        user_id=world.lead.id,
        params={"review_id": review.id},
        state=JobState.SUCCEEDED,
        result={"scorecard_id": scorecard.id, "version": 1},
    )
    db.session.add_all([delivery, job])
    db.session.flush()
    return {
        "review_id": review.id,
        "scorecard_id": scorecard.id,
        "delivery_id": delivery.id,
        "job_id": job.id,
    }
