"""GET /partnerships/{id}/expectations[/{expectation_id}]: what both sides agreed, and when
each is due for review (read only)."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from mls_tracker import access
from mls_tracker.api.core import set_etag
from mls_tracker.models import Expectation
from mls_tracker.periods import utc_today
from mls_tracker.services import expectations as service

blp = Blueprint(
    "api_expectations",
    __name__,
    url_prefix="/partnerships",
    description="Expectations both sides agreed (read only).",
)


class ExpectationSchema(ma.Schema):
    id = ma.fields.Integer()
    category = ma.fields.String(attribute="category.value")
    statement = ma.fields.String()
    owner_side = ma.fields.String(attribute="owner_side.value")
    agreed_on = ma.fields.Date()
    revisit_by = ma.fields.Date()
    due_for_review = ma.fields.Boolean()
    days_past_revisit = ma.fields.Integer()
    last_revisited_on = ma.fields.Date(allow_none=True)
    times_reworded = ma.fields.Integer()
    version = ma.fields.Integer()


class ExpectationQuerySchema(ma.Schema):
    due = ma.fields.Boolean(
        load_default=False, metadata={"description": "Only those past their revisit-by date"}
    )


@blp.route("/<int:partnership_id>/expectations")
class Expectations(MethodView):
    @blp.arguments(ExpectationQuerySchema, location="query")
    @blp.response(200, ExpectationSchema(many=True))
    def get(self, args: dict, partnership_id: int):
        """The partnership's expectations, by category then revisit-by date"""
        access.check(access.Action.VIEW, partnership_id)
        return service.list_expectations(partnership_id, utc_today(), due_only=args["due"])


@blp.route("/<int:partnership_id>/expectations/<int:expectation_id>")
class ExpectationItem(MethodView):
    @blp.response(200, ExpectationSchema)
    def get(self, partnership_id: int, expectation_id: int):
        """One expectation (its ETag is its version)"""
        expectation = access.get_object(Expectation, expectation_id, partnership_id)
        set_etag(expectation)
        views = service.list_expectations(partnership_id, utc_today())
        return next(view for view in views if view.id == expectation.id)
