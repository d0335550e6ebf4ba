"""Service credits (issue 19): ``GET /partnerships/{id}/credits?from=YYYY-MM&to=YYYY-MM`` reads
a partnership's credits per month, as the Credits page shows them (``services.service_credits``);
amounts are exact decimal strings in the partnership's currency."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from mls_tracker import access
from mls_tracker.periods import Month, utc_today
from mls_tracker.services import service_credits as service

blp = Blueprint(
    "api_credits",
    __name__,
    url_prefix="/partnerships/<int:partnership_id>",
    description="Service credits for confirmed SLA breaches.",
)

# Exact decimal strings ("1200.00"), never binary floats.
MONEY = {"allow_none": True}


class CreditsQuerySchema(ma.Schema):
    first = ma.fields.String(
        data_key="from",
        load_default=None,
        metadata={"description": "YYYY-MM (default: 11 months before `to`)"},
    )
    last = ma.fields.String(
        data_key="to", load_default=None, metadata={"description": "YYYY-MM (default: last month)"}
    )


class SlaCreditSchema(ma.Schema):
    sla_id = ma.fields.Integer(required=True)
    code = ma.fields.String()
    credit_percent = ma.fields.String()
    status = ma.fields.String(
        metadata={
            "description": "On confirmed actuals: met, at risk, breached, missing, not applicable"
        }
    )
    proposed_breach = ma.fields.Boolean(
        metadata={"description": "A proposed actual would be a breach: not counted until confirmed"}
    )
    amount = ma.fields.String(**MONEY)


class MonthCreditsSchema(ma.Schema):
    month = ma.fields.String(required=True)
    slas = ma.fields.List(ma.fields.Nested(SlaCreditSchema))
    uncapped = ma.fields.String(**MONEY, metadata={"description": "Sum of the SLAs' credits"})
    cap = ma.fields.String(**MONEY)
    credited = ma.fields.String(**MONEY)
    capped = ma.fields.Boolean()


class CreditRuleSchema(ma.Schema):
    sla_id = ma.fields.Integer(required=True)
    code = ma.fields.String()
    name = ma.fields.String()
    credit_percent = ma.fields.String()
    active = ma.fields.Boolean()


class CreditsSchema(ma.Schema):
    first_month = ma.fields.String()
    last_month = ma.fields.String()
    currency = ma.fields.String()
    computable = ma.fields.Boolean()
    message = ma.fields.String(allow_none=True)
    monthly_fee = ma.fields.String(attribute="fee_shown", **MONEY)
    fee_from_annual_value = ma.fields.Boolean()
    cap_percent = ma.fields.String(allow_none=True)
    cap = ma.fields.String(**MONEY)
    total = ma.fields.String(**MONEY)
    rules = ma.fields.List(ma.fields.Nested(CreditRuleSchema))
    months = ma.fields.List(ma.fields.Nested(MonthCreditsSchema))


def _month(text: str | None, name: str) -> Month | None:
    if not text:
        return None
    try:
        return Month.parse(text)
    except ValueError:
        abort(422, message=f"Write `{name}` as YYYY-MM.")


@blp.route("/credits")
class Credits(MethodView):
    @blp.arguments(CreditsQuerySchema, location="query")
    @blp.response(200, CreditsSchema)
    def get(self, args, partnership_id: int):
        """The partnership's service credits per month (at most 36 months)"""
        access.get_partnership(partnership_id)
        first, last = service.clamp_range(
            _month(args["first"], "from"), _month(args["last"], "to"), Month.current(utc_today())
        )
        return service.credits_for(partnership_id, first, last)
