"""GET /partnerships/{id}/sponsors[/{sponsor_id}]: executive sponsors by region and side,
with their engagement (read only)."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from mls_tracker import access
from mls_tracker.api.core import set_etag
from mls_tracker.models import Sponsor
from mls_tracker.periods import utc_today
from mls_tracker.services import sponsors as service

blp = Blueprint(
    "api_sponsors",
    __name__,
    url_prefix="/partnerships",
    description="Executive sponsors of a partnership (read only).",
)


class EngagementSchema(ma.Schema):
    attended = ma.fields.Integer()
    held = ma.fields.Integer()
    rate = ma.fields.Float(allow_none=True, metadata={"description": "attended ÷ held, 0–1"})
    last_attended_on = ma.fields.Date(allow_none=True)
    days_since_last_attended = ma.fields.Integer(allow_none=True)
    disengaged = ma.fields.Boolean()


class SponsorSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    title = ma.fields.String(allow_none=True)
    email = ma.fields.String(allow_none=True)
    side = ma.fields.String(attribute="side.value")
    region = ma.fields.String(attribute="region_name")
    start_date = ma.fields.Date()
    end_date = ma.fields.Date(allow_none=True)
    linked_user_id = ma.fields.Integer(allow_none=True)
    engagement = ma.fields.Nested(
        EngagementSchema,
        allow_none=True,
        metadata={"description": "Meetings of the last 3 months (active sponsors only)"},
    )
    version = ma.fields.Integer()


def _all_sponsors(partnership_id: int) -> list[service.SponsorView]:
    """Every sponsorship as the sponsors page shows it: by region, then the rest."""
    matrix = service.coverage_matrix(partnership_id, utc_today())
    views = [view for row in matrix.rows for view in (*row.client, *row.provider)]
    return views + [*matrix.other_regions, *matrix.upcoming, *matrix.history]


@blp.route("/<int:partnership_id>/sponsors")
class Sponsors(MethodView):
    @blp.response(200, SponsorSchema(many=True))
    def get(self, partnership_id: int):
        """Every sponsorship: active ones by region in scope, then upcoming and ended ones"""
        access.check(access.Action.VIEW, partnership_id)
        return _all_sponsors(partnership_id)


@blp.route("/<int:partnership_id>/sponsors/<int:sponsor_id>")
class SponsorItem(MethodView):
    @blp.response(200, SponsorSchema)
    def get(self, partnership_id: int, sponsor_id: int):
        """One sponsorship (its ETag is its version)"""
        sponsor = access.get_object(Sponsor, sponsor_id, partnership_id)
        set_etag(sponsor)
        views = _all_sponsors(partnership_id)
        return next((v for v in views if v.id == sponsor.id), None) or service.sponsor_view(sponsor)
