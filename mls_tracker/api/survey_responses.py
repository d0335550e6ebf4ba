"""POST /partnerships/{id}/survey-responses (the survey push) and the survey imports a lead
confirms: GET /partnerships/{id}/survey-imports[/{import_id}], POST …/{import_id}/confirm."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from werkzeug.exceptions import UnprocessableEntity

from mls_tracker import access
from mls_tracker.services import survey_import, survey_push

blp = Blueprint(
    "api_survey_responses",
    __name__,
    url_prefix="/partnerships",
    description="Survey responses pushed by an LMS or survey tool, and the imports they make "
    "(a provider's wait for a lead's confirmation, as a provider's uploaded file does).",
)

_SCALAR = {"type": ["string", "number", "integer", "boolean", "null"]}


class Scalar(ma.fields.Raw):
    """A value read by the survey import's own rules, whatever its JSON type: a wrong one is
    a problem of its response (422 listing every response's problems), never a 500."""


class ResponseSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    response_id = Scalar(
        required=True, metadata={**_SCALAR, "description": "The survey tool's id (≤ 128 chars)"}
    )
    submitted_at = Scalar(
        required=True,
        metadata={**_SCALAR, "description": "ISO 8601; without an offset it is UTC"},
    )
    rating = Scalar(metadata={**_SCALAR, "description": "Satisfaction, 1–5"})
    recommend = Scalar(metadata={**_SCALAR, "description": "Likelihood to recommend, 0–10"})
    program = Scalar(metadata={**_SCALAR, "description": "Program or course (≤ 200 chars)"})
    region = Scalar(metadata={**_SCALAR, "description": "One of the partnership's regions"})
    comment = Scalar(metadata=_SCALAR)


class PushSchema(ma.Schema):
    responses = ma.fields.List(
        ma.fields.Nested(ResponseSchema),
        required=True,
        validate=ma.validate.Length(max=survey_push.MAX_RESPONSES),
        metadata={"description": f"At most {survey_push.MAX_RESPONSES:,} responses"},
    )


class PushResultSchema(ma.Schema):
    import_id = ma.fields.Integer(
        allow_none=True, metadata={"description": "null when every response was stored already"}
    )
    state = ma.fields.Function(
        lambda r: r.state.value if r.state else None,
        metadata={"description": "proposed (until a lead confirms) or confirmed"},
    )
    received = ma.fields.Integer()
    added = ma.fields.Integer()
    skipped = ma.fields.Integer(metadata={"description": "Already stored: not added again"})
    no_answer = ma.fields.Integer(
        metadata={"description": "Neither a rating nor a recommend answer: left out"}
    )


class ImportSchema(ma.Schema):
    id = ma.fields.Integer()
    file_name = ma.fields.String(metadata={"description": "“API push” for a push"})
    format = ma.fields.String()
    state = ma.fields.Function(lambda v: v.state.lower())
    uploaded_by = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    rows_added = ma.fields.Integer()
    rows_skipped = ma.fields.Integer()
    confirmed_at = ma.fields.AwareDateTime(allow_none=True)
    confirmed_by = ma.fields.String(allow_none=True)
    undone_at = ma.fields.AwareDateTime(allow_none=True)


def refusal(refused: survey_push.PushRefused) -> UnprocessableEntity:
    """422 problem+json whose ``errors`` say, as for a field the schema refuses, which
    response (by index) and field each problem is about."""
    rows: dict[int, dict[str, list[str]]] = {}
    for problem in refused.outcome.problems:
        if problem.row is not None:
            field = problem.field or "_schema"
            rows.setdefault(problem.row, {}).setdefault(field, []).append(problem.message)
    error = UnprocessableEntity(str(refused))
    error.data = {"errors": {"json": {"responses": rows}}}  # type: ignore[attr-defined]
    return error


@blp.route("/<int:partnership_id>/survey-responses")
class SurveyResponses(MethodView):
    @blp.arguments(PushSchema)
    @blp.response(201, PushResultSchema, description="Responses added (in a new import)")
    @blp.alt_response(200, schema=PushResultSchema, description="Every one was stored already")
    def post(self, body: dict[str, Any], partnership_id: int):
        """Push survey responses: all or none, idempotent by response id

        Each response is checked by the rules of a survey file import; any problem refuses
        the whole batch (422, ``errors.json.responses.<index>.<field>``). Responses whose id
        the partnership holds already are skipped. A provider's push is proposed until a
        lead confirms its import; a lead's counts at once.
        """
        try:
            result = survey_push.push_responses(current_user, partnership_id, body["responses"])
        except survey_push.PushRefused as refused:
            raise refusal(refused) from refused
        return result, 201 if result.import_id else 200


@blp.route("/<int:partnership_id>/survey-imports")
class SurveyImports(MethodView):
    @blp.response(200, ImportSchema(many=True))
    def get(self, partnership_id: int):
        """The partnership's survey imports (files and pushes), latest first"""
        access.check(access.Action.VIEW, partnership_id)
        return survey_import.import_history(partnership_id)


@blp.route("/<int:partnership_id>/survey-imports/<int:import_id>")
class SurveyImport(MethodView):
    @blp.response(200, ImportSchema)
    def get(self, partnership_id: int, import_id: int):
        """One survey import"""
        access.check(access.Action.VIEW, partnership_id)
        return survey_import.import_view(partnership_id, import_id)


@blp.route("/<int:partnership_id>/survey-imports/<int:import_id>/confirm")
class SurveyImportConfirmation(MethodView):
    @blp.response(200, ImportSchema)
    def post(self, partnership_id: int, import_id: int):
        """A lead confirms a provider's proposed import: its responses count from now on"""
        survey_import.confirm_import(current_user, partnership_id, import_id)
        return survey_import.import_view(partnership_id, import_id)
