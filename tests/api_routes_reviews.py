"""API permission-matrix rows of reviews, scorecards and the audit log (merged into
tests/test_api_permissions.py)."""

from __future__ import annotations

from tests.api_routes_core import LEAD_ONLY, READ, statuses

SCOPED = {
    # An issued review and its scorecard: every member reads them (drafts are the leads').
    ("GET", "api_reviews.Reviews"): (READ, None),
    ("GET", "api_reviews.ReviewItem"): (READ, None),
    ("GET", "api_reviews.ReviewSnapshot"): (READ, None),
    ("GET", "api_reviews.Scorecards"): (READ, None),
    ("GET", "api_reviews.ScorecardItem"): (READ, None),
    ("GET", "api_reviews.ScorecardPdf"): (READ, None),
    ("GET", "api_reviews.ScorecardSnapshot"): (READ, None),
    ("GET", "api_audit_log.PartnershipAuditLog"): (LEAD_ONLY, None),
}

# The whole log: administrators and leads (the outsider leads another partnership); anyone
# else 404, as on the page.
GLOBAL = {
    ("GET", "api_audit_log.AuditLog"): statuses(200, 200, 404, 404, 404, 200),
}

# For the requests sent without a token (any id will do: 401 comes first).
SAMPLE_ARGS = {"review_id": 1, "scorecard_id": 1}


def prepare(world) -> dict[str, int]:
    """An issued review of the partnership (version 1, a small real PDF)."""
    from tests.routes_reviews import issued_review

    review, scorecard = issued_review(world.partnership, world.lead)
    return {"review_id": review.id, "scorecard_id": scorecard.id}
