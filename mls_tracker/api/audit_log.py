"""The audit log: who changed what, when, from which value to which (read only).

``GET /audit-log`` is the audit log page's list: administrators see every entry, leads those
of the partnerships they lead, anyone else is answered 404 (as on the page).
``GET /partnerships/{id}/audit-log`` is one partnership's: its leads and administrators
(another member: 403; not a member: 404). Both filter as the page does (person, partnership,
object type and id — with the rows that belong to that object —, action, UTC days) and are
paginated, newest first."""

from __future__ import annotations

import datetime as dt
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from mls_tracker import access
from mls_tracker.api.reviews import ID
from mls_tracker.models import AuditAction
from mls_tracker.services import audit_log as service
from mls_tracker.services.errors import PermissionDenied

blp = Blueprint(
    "api_audit_log",
    __name__,
    url_prefix="",
    description="The audit log (administrators, and leads for the partnerships they lead).",
)

READERS_ONLY = "Only the partnership's leads and administrators may read its audit log."


class AuditQuerySchema(ma.Schema):
    person = ma.fields.Integer(
        load_default=None, validate=ID, metadata={"description": "The acting user's id"}
    )
    object_type = ma.fields.String(
        load_default=None,
        validate=ma.validate.Regexp(r"^[A-Za-z]{1,60}$"),
        metadata={"description": "e.g. Sla, SurveyImport"},
    )
    object_id = ma.fields.String(
        load_default=None,
        # An id (an SQL integer), or ids as the log keeps them ("3,7")
        validate=[
            ma.validate.Length(max=60),
            ma.validate.Regexp(r"^(?:[0-9]{1,9}|[0-9]*,[0-9,]*)$"),
        ],
        metadata={"description": "With object_type: that object's history, its rows' too"},
    )
    action = ma.fields.Enum(AuditAction, by_value=True, load_default=None)
    date_from = ma.fields.Date(load_default=None, metadata={"description": "From this UTC day"})
    date_to = ma.fields.Date(
        load_default=None, metadata={"description": "Up to this UTC day, included"}
    )


class GlobalQuerySchema(AuditQuerySchema):
    partnership = ma.fields.Integer(
        load_default=None,
        validate=ID,
        metadata={"description": "Only this partnership's (one you may read)"},
    )


class ChangeSchema(ma.Schema):
    field = ma.fields.String()
    before = ma.fields.String(attribute="before.full")
    after = ma.fields.String(attribute="after.full")


class EntrySchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    occurred_at = ma.fields.AwareDateTime(required=True)
    actor_id = ma.fields.Integer(allow_none=True)
    actor_name = ma.fields.String()
    partnership_id = ma.fields.Integer(allow_none=True)
    partnership_name = ma.fields.String(allow_none=True)
    action = ma.fields.String(attribute="action.value", metadata={"description": "insert…"})
    object_type = ma.fields.String()
    object_id = ma.fields.String()
    object_label = ma.fields.String()
    changes = ma.fields.List(ma.fields.Nested(ChangeSchema))


def _entries(args: dict[str, Any], pagination_parameters: Any) -> list[service.EntryView]:
    """One page of the entries the token's user may read (``log_page``: 404 for anyone but
    administrators and leads)."""
    filters = service.Filters(**args)
    page = service.log_page(
        current_user,
        filters,
        pagination_parameters.page,
        dt.UTC,
        per_page=pagination_parameters.page_size,
    )
    pagination_parameters.item_count = page.window.total
    if page.window.number != pagination_parameters.page:
        return []  # past the last page
    return page.entries


@blp.route("/audit-log")
class AuditLog(MethodView):
    @blp.arguments(GlobalQuerySchema, location="query")
    @blp.response(200, EntrySchema(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], pagination_parameters: Any):
        """The entries you may read, newest first (administrators, leads)"""
        return _entries(args, pagination_parameters)


@blp.route("/partnerships/<int:partnership_id>/audit-log")
class PartnershipAuditLog(MethodView):
    @blp.arguments(AuditQuerySchema, location="query")
    @blp.response(200, EntrySchema(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], partnership_id: int, pagination_parameters: Any):
        """The partnership's entries, newest first (its leads, administrators)"""
        access.check(access.Action.VIEW, partnership_id)
        if not service.may_see_history(current_user, partnership_id):
            raise PermissionDenied(READERS_ONLY)
        return _entries({**args, "partnership": partnership_id}, pagination_parameters)
