"""Reviews and their issued scorecards (read only).

``GET /partnerships/{id}/reviews[/{review_id}]`` lists and reads reviews as the reviews page
does: drafts (never issued) are the leads' (anyone else sees issued ones only; a draft asked
for by id is 403). ``…/reviews/{review_id}/snapshot`` is the figures frozen in the review.
``GET /partnerships/{id}/scorecards[/{scorecard_id}]`` reads the issued versions (without
their bytes); ``…/scorecards/{scorecard_id}/pdf`` is the stored PDF itself, with the page
download's permission (every member of the partnership), ``…/snapshot`` the figures it was
laid out from."""

from __future__ import annotations

import dataclasses

import marshmallow as ma
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import jsonify
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint, Page

from mls_tracker import access
from mls_tracker.access import Action
from mls_tracker.api.core import SelectPage, set_etag
from mls_tracker.exports import scorecard_pdf
from mls_tracker.models import Review, Scorecard
from mls_tracker.scorecards import issuing as scorecard_service
from mls_tracker.scorecards.build import period_label
from mls_tracker.services import reviews as service

blp = Blueprint(
    "api_reviews",
    __name__,
    url_prefix="/partnerships/<int:partnership_id>",
    description="Reviews and their issued scorecards: the PDF and the figures it was drawn from.",
)

MONTH = {"description": "YYYY-MM"}
SNAPSHOT = {"type": "object", "additionalProperties": True}
PDF = {"type": "string", "format": "binary"}
# Ids are SQL integers: anything larger names nothing (422, not a database error).
ID = ma.validate.Range(min=1, max=2**31 - 1)


class ReviewRowSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True, metadata={"description": "monthly, quarterly"})
    first_month = ma.fields.String(required=True, metadata=MONTH)
    last_month = ma.fields.String(required=True, metadata=MONTH)
    label = ma.fields.String(required=True, metadata={"description": "The period, as shown"})
    computed_on = ma.fields.Date(allow_none=True)
    issued = ma.fields.Boolean(required=True)
    latest_version = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "The latest issued scorecard's version (null: a draft)"},
    )
    issued_at = ma.fields.DateTime(allow_none=True)
    issued_by = ma.fields.String(allow_none=True)
    sent = ma.fields.Integer()
    failed = ma.fields.Integer()
    acknowledged = ma.fields.Integer()


class ScorecardSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    review_id = ma.fields.Integer(required=True)
    version = ma.fields.Integer(required=True)
    period = ma.fields.Function(
        lambda s: period_label(s.review.kind, s.review.first_month, s.review.last_month)
    )
    issued_at = ma.fields.DateTime(required=True)
    issued_by = ma.fields.Function(lambda s: s.issued_by.display_name if s.issued_by else None)
    sha256 = ma.fields.String(required=True)
    size_bytes = ma.fields.Integer(required=True)
    page_count = ma.fields.Integer(allow_none=True)


class ReviewSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(attribute="kind.value", required=True)
    first_month = ma.fields.Function(lambda r: str(r.first_month), metadata=MONTH)
    last_month = ma.fields.Function(lambda r: str(r.last_month), metadata=MONTH)
    label = ma.fields.Function(lambda r: period_label(r.kind, r.first_month, r.last_month))
    executive_summary = ma.fields.String(allow_none=True)
    computed_on = ma.fields.Function(
        lambda r: (r.snapshot or {}).get("computed_on"),
        metadata={"description": "When its figures were computed (YYYY-MM-DD)"},
    )
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    version = ma.fields.Integer(required=True)
    scorecards = ma.fields.List(
        ma.fields.Nested(ScorecardSchema), metadata={"description": "Issued versions, oldest first"}
    )


class ReviewQuerySchema(ma.Schema):
    sort = ma.fields.String(
        load_default="period",
        validate=ma.validate.OneOf(["period", "issued", "kind"]),
        metadata={"description": "period (newest first), issued (latest issue first), kind"},
    )


class ScorecardQuerySchema(ma.Schema):
    review_id = ma.fields.Integer(
        load_default=None, validate=ID, metadata={"description": "Only this review's versions"}
    )


@blp.route("/reviews")
class Reviews(MethodView):
    @blp.arguments(ReviewQuerySchema, location="query")
    @blp.response(200, ReviewRowSchema(many=True))
    @blp.paginate(Page)
    def get(self, args, partnership_id: int):
        """The partnership's reviews (drafts: leads only)"""
        access.check(Action.VIEW, partnership_id)
        may_manage = access.can(current_user, Action.MANAGE, partnership_id)
        rows = service.review_rows(partnership_id, issued_only=not may_manage, sort=args["sort"])
        return [
            {
                **dataclasses.asdict(row),
                "first_month": str(row.first_month),
                "last_month": str(row.last_month),
                "latest_version": row.version,
                "issued": row.issued,
            }
            for row in rows
        ]


@blp.route("/reviews/<int:review_id>")
class ReviewItem(MethodView):
    @blp.response(200, ReviewSchema)
    def get(self, partnership_id: int, review_id: int):
        """One review with its issued scorecards (a draft: leads only)"""
        review = service.get_review(current_user, partnership_id, review_id, Action.VIEW)
        set_etag(review)
        return review


@blp.route("/reviews/<int:review_id>/snapshot")
class ReviewSnapshot(MethodView):
    @blp.response(200, SNAPSHOT)
    def get(self, partnership_id: int, review_id: int):
        """The figures frozen when the review was opened or last refreshed"""
        review = service.get_review(current_user, partnership_id, review_id, Action.VIEW)
        return jsonify(review.snapshot or {})


@blp.route("/scorecards")
class Scorecards(MethodView):
    @blp.arguments(ScorecardQuerySchema, location="query")
    @blp.response(200, ScorecardSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, args, partnership_id: int):
        """The partnership's issued scorecards, latest first (their bytes: …/pdf)"""
        access.check(Action.VIEW, partnership_id)
        query = (
            sa.select(Scorecard)
            .join(Review, Review.id == Scorecard.review_id)
            .where(Review.partnership_id == partnership_id)
            .options(
                so.defer(Scorecard.pdf),
                so.defer(Scorecard.snapshot),
                so.contains_eager(Scorecard.review),
                so.selectinload(Scorecard.issued_by),
            )
            .order_by(Scorecard.issued_at.desc(), Scorecard.id.desc())
        )
        if args["review_id"] is not None:
            query = query.where(Scorecard.review_id == args["review_id"])
        return query


@blp.route("/scorecards/<int:scorecard_id>")
class ScorecardItem(MethodView):
    @blp.response(200, ScorecardSchema)
    def get(self, partnership_id: int, scorecard_id: int):
        """One issued scorecard (its bytes: …/pdf)"""
        return scorecard_service.scorecard_for_download(current_user, partnership_id, scorecard_id)


@blp.route("/scorecards/<int:scorecard_id>/pdf")
class ScorecardPdf(MethodView):
    @blp.response(
        200,
        PDF,
        content_type="application/pdf",
        description="The issued PDF, byte for byte (ETag: its SHA-256)",
    )
    def get(self, partnership_id: int, scorecard_id: int):
        """The scorecard's stored PDF (the page download's permission)"""
        scorecard = scorecard_service.scorecard_for_download(
            current_user, partnership_id, scorecard_id
        )
        return scorecard_pdf(access.get_partnership(partnership_id).name, scorecard)


@blp.route("/scorecards/<int:scorecard_id>/snapshot")
class ScorecardSnapshot(MethodView):
    @blp.response(200, SNAPSHOT)
    def get(self, partnership_id: int, scorecard_id: int):
        """The figures this scorecard was laid out from, as stored when it was issued"""
        scorecard = scorecard_service.scorecard_for_download(
            current_user, partnership_id, scorecard_id
        )
        return jsonify(scorecard.snapshot)
