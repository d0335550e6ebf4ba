"""Delivery volumes and spend by month (issue 19).

``GET /partnerships/{id}/delivery`` lists the months (newest first; ``?state=proposed``);
``GET``/``PUT /partnerships/{id}/delivery/{YYYY-MM}`` reads and saves one month as the month
form does (``services.delivery.record_month``): a provider's figures are proposed, a lead's
confirmed at once; ``version`` is the stored month's version the figures replace (0: none;
left out: not checked). ``POST …/confirm`` is a lead confirming a proposed month unchanged."""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint, abort

from mls_tracker import access
from mls_tracker.api.core import SelectPage, set_etag
from mls_tracker.models import DeliveryMonth, MeasurementState
from mls_tracker.periods import Month
from mls_tracker.services import delivery as service

blp = Blueprint(
    "api_delivery",
    __name__,
    url_prefix="/partnerships/<int:partnership_id>/delivery",
    description="Delivery volumes and invoiced spend by month.",
)

_COUNT = {"validate": ma.validate.Range(min=0, max=10_000_000)}


class DeliveryMonthSchema(ma.Schema):
    month = ma.fields.Function(lambda row: str(row.month), metadata={"description": "YYYY-MM"})
    learners_trained = ma.fields.Integer(required=True)
    completions = ma.fields.Integer(required=True)
    training_hours = ma.fields.Decimal(
        as_string=True,
        required=True,
        metadata={"type": "string", "description": 'Exact decimal text, e.g. "310.50"'},
    )
    sessions_delivered = ma.fields.Integer(required=True)
    invoiced_amount = ma.fields.Decimal(
        as_string=True,
        allow_none=True,
        metadata={
            "type": "string",
            "description": "Exact decimal text in the partnership's currency; null: not "
            "invoiced yet",
        },
    )
    note = ma.fields.String(allow_none=True)
    state = ma.fields.String(
        attribute="state.value", metadata={"description": "proposed, confirmed"}
    )
    version = ma.fields.Integer(required=True)
    entered_by = ma.fields.Function(
        lambda row: row.entered_by.display_name if row.entered_by else None, allow_none=True
    )
    entered_at = ma.fields.DateTime()
    confirmed_by = ma.fields.Function(
        lambda row: row.confirmed_by.display_name if row.confirmed_by else None, allow_none=True
    )
    confirmed_at = ma.fields.DateTime(allow_none=True)


class DeliveryQuerySchema(ma.Schema):
    state = ma.fields.String(
        load_default=None,
        validate=ma.validate.OneOf(["proposed", "confirmed"]),
        metadata={"description": "Only proposed or only confirmed months"},
    )


class DeliveryInputSchema(ma.Schema):
    learners_trained = ma.fields.Integer(required=True, **_COUNT)
    completions = ma.fields.Integer(required=True, **_COUNT)
    training_hours = ma.fields.Decimal(
        required=True, metadata={"description": "Learner hours, up to 2 decimals"}
    )
    sessions_delivered = ma.fields.Integer(required=True, **_COUNT)
    invoiced_amount = ma.fields.Decimal(
        load_default=None,
        allow_none=True,
        metadata={"description": "In the partnership's currency, up to 2 decimals"},
    )
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000))
    version = ma.fields.Integer(
        load_default=None,
        validate=ma.validate.Range(min=0),
        metadata={"description": "The stored month's version these figures replace (0: none)"},
    )


class ConfirmInputSchema(ma.Schema):
    version = ma.fields.Integer(
        load_default=None,
        validate=ma.validate.Range(min=0),
        metadata={"description": "The version confirmed (refused with 409 if it changed)"},
    )


def _month(text: str) -> Month:
    try:
        return service.parse_month(text)
    except ValueError:
        abort(404, message="The month is written YYYY-MM.")


def _stored(partnership_id: int, month: Month) -> DeliveryMonth:
    row = service.month_row(partnership_id, month)
    if row is None:
        abort(404, message="No delivery figures for this month.")
    return row


def _text(value: object) -> str:
    return "" if value is None else str(value)


@blp.route("")
class DeliveryMonths(MethodView):
    @blp.arguments(DeliveryQuerySchema, location="query")
    @blp.response(200, DeliveryMonthSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, args, partnership_id: int):
        """The partnership's months of delivery and spend, newest first"""
        access.get_partnership(partnership_id)
        query = sa.select(DeliveryMonth).where(DeliveryMonth.partnership_id == partnership_id)
        if args["state"]:
            query = query.where(DeliveryMonth.state == MeasurementState(args["state"]))
        return query.order_by(DeliveryMonth.month.desc())


@blp.route("/<month>")
class DeliveryMonthItem(MethodView):
    @blp.response(200, DeliveryMonthSchema)
    def get(self, partnership_id: int, month: str):
        """One month's figures (its ETag is its version)"""
        access.get_partnership(partnership_id)
        row = _stored(partnership_id, _month(month))
        set_etag(row)
        return row

    @blp.arguments(DeliveryInputSchema)
    @blp.response(200, DeliveryMonthSchema)
    def put(self, body, partnership_id: int, month: str):
        """Save a month's figures (a provider proposes, a lead's are confirmed at once)

        A month saved by someone else since ``version`` is refused (409)."""
        partnership = access.get_partnership(partnership_id)
        values = service.DeliveryInput(
            learners_trained=_text(body["learners_trained"]),
            completions=_text(body["completions"]),
            training_hours=_text(body["training_hours"]),
            sessions_delivered=_text(body["sessions_delivered"]),
            invoiced_amount=_text(body["invoiced_amount"]),
            note=body["note"],
        )
        row = service.record_month(
            current_user, partnership, _month(month), values, body["version"]
        )
        set_etag(row)
        return row


@blp.route("/<month>/confirm")
class ConfirmDeliveryMonth(MethodView):
    @blp.arguments(ConfirmInputSchema)
    @blp.response(200, DeliveryMonthSchema)
    def post(self, body, partnership_id: int, month: str):
        """A lead confirms a proposed month unchanged"""
        partnership = access.get_partnership(partnership_id)
        row = service.confirm_month(current_user, partnership, _month(month), body["version"])
        set_etag(row)
        return row
