"""GET /partnerships, GET /partnerships/{id}: the partnerships the token's user may see."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from mls_tracker import access
from mls_tracker.api.core import SelectPage, set_etag
from mls_tracker.models import Partnership

blp = Blueprint(
    "api_partnerships",
    __name__,
    url_prefix="/partnerships",
    description="Partnerships the token's user is a member of (administrators: all).",
)


class PartnershipSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    status = ma.fields.String(attribute="status.value")
    engagement_model = ma.fields.String(attribute="engagement_model.value")
    governance_model = ma.fields.String(attribute="governance_model.value")
    client = ma.fields.String(attribute="client.name")
    provider = ma.fields.String(attribute="provider.name")
    start_date = ma.fields.Date()
    renewal_date = ma.fields.Date(allow_none=True)
    currency = ma.fields.String()
    archived = ma.fields.Function(lambda p: p.archived_at is not None)
    role = ma.fields.Function(
        lambda p: r.value if (r := access.role_in(current_user, p.id)) else None,
        metadata={"description": "The token user's role here (null for an administrator)"},
    )
    version = ma.fields.Integer(required=True)


class PartnershipQuerySchema(ma.Schema):
    archived = ma.fields.Boolean(
        load_default=False, metadata={"description": "Include archived partnerships"}
    )


@blp.route("")
class Partnerships(MethodView):
    @blp.arguments(PartnershipQuerySchema, location="query")
    @blp.response(200, PartnershipSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, args):
        """The partnerships the token's user may see, by name"""
        query = access.visible_partnerships(current_user)
        if not args["archived"]:
            query = query.where(Partnership.archived_at.is_(None))
        return query.order_by(Partnership.name, Partnership.id)


@blp.route("/<int:partnership_id>")
class PartnershipItem(MethodView):
    @blp.response(200, PartnershipSchema)
    def get(self, partnership_id: int):
        """One partnership (its ETag is its version)"""
        partnership = access.get_partnership(partnership_id)
        set_etag(partnership)
        return partnership
