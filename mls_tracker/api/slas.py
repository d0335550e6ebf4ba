"""SLAs and their monthly actuals.

``GET /partnerships/{id}/slas[/{sla_id}]`` reads the SLAs. A month's actuals are read and
written as the month form does (``services.slas.save_month_actuals``): ``PUT
/partnerships/{id}/actuals/{YYYY-MM}`` sends rows of that month, all saved or none — a
provider's are proposed, a lead's confirmed — each with the ``version`` of the value it was
based on (0 for none: the month form's optimistic lock, per row); ``POST …/confirm`` is a
lead confirming proposed values unchanged."""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint, abort

from mls_tracker import access
from mls_tracker.access import Action
from mls_tracker.api.core import SelectPage, set_etag
from mls_tracker.models import Sla, SlaMeasurement
from mls_tracker.periods import Month
from mls_tracker.services import slas as service

blp = Blueprint(
    "api_slas",
    __name__,
    url_prefix="/partnerships/<int:partnership_id>",
    description="SLAs and their monthly actuals.",
)


class SlaSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    definition = ma.fields.String(allow_none=True)
    category = ma.fields.String(allow_none=True)
    unit = ma.fields.String(attribute="unit.value")
    direction = ma.fields.String(attribute="direction.value")
    weight = ma.fields.Float()
    credit_percent = ma.fields.String(
        allow_none=True,
        metadata={
            "description": 'Service credit: % of the monthly fee per confirmed breach, e.g. "5.00"'
        },
    )
    expectation_id = ma.fields.Integer(allow_none=True)
    active = ma.fields.Boolean()
    version = ma.fields.Integer(required=True)


class SlaQuerySchema(ma.Schema):
    active = ma.fields.Boolean(
        load_default=None, metadata={"description": "Only active (true) or inactive (false)"}
    )


class ActualSchema(ma.Schema):
    sla_id = ma.fields.Integer(required=True)
    code = ma.fields.String()
    name = ma.fields.String()
    unit = ma.fields.String()
    value = ma.fields.Float(allow_none=True)
    not_applicable = ma.fields.Boolean()
    note = ma.fields.String(allow_none=True)
    state = ma.fields.String(allow_none=True, metadata={"description": "proposed, confirmed"})
    version = ma.fields.Integer(
        metadata={"description": "The stored value's version (0: none yet); send it back"}
    )
    entered_by = ma.fields.String(allow_none=True)
    entered_at = ma.fields.DateTime(allow_none=True)
    confirmed_by = ma.fields.String(allow_none=True)
    confirmed_at = ma.fields.DateTime(allow_none=True)


class MonthSchema(ma.Schema):
    month = ma.fields.String(required=True, metadata={"description": "YYYY-MM"})
    actuals = ma.fields.List(ma.fields.Nested(ActualSchema), required=True)
    saved = ma.fields.Integer(metadata={"description": "Rows saved by this request"})
    confirmed = ma.fields.Integer(metadata={"description": "Rows confirmed by this request"})


class ActualInputSchema(ma.Schema):
    sla_id = ma.fields.Integer(required=True)
    value = ma.fields.String(
        load_default="",
        validate=ma.validate.Length(max=40),
        metadata={"description": 'As typed on the month form, e.g. "95.5"; empty with n/a'},
    )
    not_applicable = ma.fields.Boolean(load_default=False)
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000))
    version = ma.fields.Integer(
        load_default=0,
        validate=ma.validate.Range(min=0),
        metadata={"description": "The version of the value this row replaces (0: none)"},
    )
    confirm = ma.fields.Boolean(
        load_default=False, metadata={"description": "A lead confirms the stored value"}
    )


class MonthInputSchema(ma.Schema):
    actuals = ma.fields.List(
        ma.fields.Nested(ActualInputSchema), required=True, validate=ma.validate.Length(max=500)
    )


class ConfirmSchema(ma.Schema):
    sla_ids = ma.fields.List(
        ma.fields.Integer(), required=True, validate=ma.validate.Length(min=1, max=500)
    )


@blp.route("/slas")
class Slas(MethodView):
    @blp.arguments(SlaQuerySchema, location="query")
    @blp.response(200, SlaSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, args, partnership_id: int):
        """The partnership's SLAs, by code"""
        access.get_partnership(partnership_id)
        query = sa.select(Sla).where(Sla.partnership_id == partnership_id)
        if args["active"] is not None:
            query = query.where(Sla.active.is_(args["active"]))
        return query.order_by(Sla.code, Sla.id)


@blp.route("/slas/<int:sla_id>")
class SlaItem(MethodView):
    @blp.response(200, SlaSchema)
    def get(self, partnership_id: int, sla_id: int):
        """One SLA (its ETag is its version)"""
        sla = access.get_object(Sla, sla_id, partnership_id)
        set_etag(sla)
        return sla


def _month(text: str) -> Month:
    try:
        return service.parse_month(text)
    except ValueError:
        abort(404, message="The month is written YYYY-MM.")


def _month_body(partnership_id: int, month: Month, outcome=None) -> dict:
    stored = service.month_measurements(partnership_id, month)
    rows = []
    for sla in service.month_slas(partnership_id):
        m: SlaMeasurement | None = stored.get(sla.id)
        rows.append(
            {
                "sla_id": sla.id,
                "code": sla.code,
                "name": sla.name,
                "unit": sla.unit.value,
                "value": m.value if m else None,
                "not_applicable": bool(m and m.not_applicable),
                "note": m.note if m else None,
                "state": m.state.value if m else None,
                "version": m.version if m else 0,
                "entered_by": m.entered_by.display_name if m and m.entered_by else None,
                "entered_at": m.entered_at if m else None,
                "confirmed_by": m.confirmed_by.display_name if m and m.confirmed_by else None,
                "confirmed_at": m.confirmed_at if m else None,
            }
        )
    body = {"month": str(month), "actuals": rows}
    if outcome is not None:
        body.update(saved=outcome.saved, confirmed=outcome.confirmed)
    return body


def _save(partnership_id: int, month: Month, inputs: list[service.ActualInput]) -> dict:
    partnership = access.get_partnership(partnership_id)
    outcome = service.save_month_actuals(current_user, partnership, month, inputs)
    if not outcome.ok:
        # All or nothing, as on the month form: every refused row under errors.json.actuals.
        status = 409 if set(outcome.errors) == set(outcome.conflicts) else 422
        abort(
            status,
            message=f"Nothing was saved: {len(outcome.errors)} row(s) refused.",
            errors={"json": {"actuals": {str(k): [v] for k, v in outcome.errors.items()}}},
        )
    return _month_body(partnership_id, month, outcome)


@blp.route("/actuals/<month>")
class MonthActuals(MethodView):
    @blp.response(200, MonthSchema)
    def get(self, partnership_id: int, month: str):
        """Every active SLA's actual for a month (YYYY-MM), with its state and version"""
        access.get_partnership(partnership_id)
        return _month_body(partnership_id, _month(month))

    @blp.arguments(MonthInputSchema)
    @blp.response(200, MonthSchema)
    def put(self, body, partnership_id: int, month: str):
        """Save a month's actuals, all or none (a provider proposes, a lead confirms)

        Rows not sent are left as they are. A row whose ``version`` is not the stored
        value's is refused (409, someone saved it meanwhile)."""
        inputs = [
            service.ActualInput(
                sla_id=row["sla_id"],
                value=row["value"],
                not_applicable=row["not_applicable"],
                note=row["note"],
                seen_version=row["version"],
                confirm=row["confirm"],
            )
            for row in body["actuals"]
        ]
        return _save(partnership_id, _month(month), inputs)


@blp.route("/actuals/<month>/confirm")
class ConfirmActuals(MethodView):
    @blp.arguments(ConfirmSchema)
    @blp.response(200, MonthSchema)
    def post(self, body, partnership_id: int, month: str):
        """A lead confirms proposed actuals unchanged"""
        access.require(
            current_user, Action.MANAGE, partnership_id, "Only a lead can confirm actuals."
        )
        period = _month(month)
        stored = service.month_measurements(partnership_id, period)
        inputs = []
        for sla_id in body["sla_ids"]:
            m = stored.get(sla_id)
            if m is None:
                continue
            inputs.append(
                service.ActualInput(
                    sla_id=sla_id,
                    value="" if m.not_applicable or m.value is None else str(m.value),
                    not_applicable=m.not_applicable,
                    note=m.note or "",
                    seen_version=m.version,
                    confirm=True,
                )
            )
        return _save(partnership_id, period, inputs)
