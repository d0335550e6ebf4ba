"""Action items: list (the list page's filters), read, create (a lead), post a progress
update or change the status (a lead; a provider on provider-side items), with ETag /
If-Match on the item's version."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from mls_tracker import access
from mls_tracker.access import Action
from mls_tracker.api.core import if_match_version, set_etag
from mls_tracker.models import ActionItem, ActionStatus, Priority, Side
from mls_tracker.periods import utc_today
from mls_tracker.services import actions as service

blp = Blueprint(
    "api_actions",
    __name__,
    url_prefix="/partnerships/<int:partnership_id>/actions",
    description="A partnership's action items and their timelines.",
)

STATUSES = [s.value for s in ActionStatus]


def _name(user) -> str | None:
    return (user.display_name or user.email) if user else None


class ActionRowSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    owner_side = ma.fields.String(attribute="owner_side.value")
    owner_id = ma.fields.Integer(allow_none=True)
    owner_name = ma.fields.String(allow_none=True)
    due_on = ma.fields.Date()
    priority = ma.fields.String(attribute="priority.value")
    status = ma.fields.String(attribute="status.value")
    times_carried = ma.fields.Integer()
    overdue = ma.fields.Boolean()
    closed_on = ma.fields.Date(allow_none=True)
    verified = ma.fields.Boolean()


class UpdateSchema(ma.Schema):
    id = ma.fields.Integer()
    author = ma.fields.Function(lambda u: _name(u.author), allow_none=True)
    created_at = ma.fields.DateTime()
    text = ma.fields.String(allow_none=True)
    old_status = ma.fields.Function(
        lambda u: u.old_status.value if u.old_status else None, allow_none=True
    )
    new_status = ma.fields.Function(
        lambda u: u.new_status.value if u.new_status else None, allow_none=True
    )
    evidence_url = ma.fields.String(allow_none=True)


class ActionSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    description = ma.fields.String(allow_none=True)
    owner_side = ma.fields.String(attribute="owner_side.value")
    owner_id = ma.fields.Integer(allow_none=True)
    owner_name = ma.fields.Function(lambda i: _name(i.owner), allow_none=True)
    due_on = ma.fields.Date()
    priority = ma.fields.String(attribute="priority.value")
    status = ma.fields.String(attribute="status.value")
    meeting_id = ma.fields.Integer(allow_none=True)
    sla_id = ma.fields.Integer(allow_none=True)
    challenge_id = ma.fields.Integer(allow_none=True)
    evidence_url = ma.fields.String(allow_none=True)
    closed_on = ma.fields.Date(allow_none=True)
    verified = ma.fields.Function(lambda i: i.verified_at is not None)
    times_carried = ma.fields.Integer()
    version = ma.fields.Integer(required=True)
    updates = ma.fields.Function(
        lambda i: UpdateSchema(many=True).dump(
            sorted(i.updates, key=lambda u: (u.created_at, u.id), reverse=True)
        ),
        metadata={"description": "The timeline, newest first"},
    )


class ActionFilterSchema(ma.Schema):
    status = ma.fields.String(
        load_default=None, validate=ma.validate.OneOf([*STATUSES, service.NOT_CLOSED])
    )
    owner_side = ma.fields.Enum(Side, by_value=True, load_default=None)
    owner_id = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=1))
    overdue = ma.fields.Boolean(load_default=False)
    due_within = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=0, max=3660))
    sort = ma.fields.String(load_default="due", validate=ma.validate.OneOf(service.SORTS))
    descending = ma.fields.Boolean(load_default=False)


class ActionCreateSchema(ma.Schema):
    title = ma.fields.String(required=True, validate=ma.validate.Length(max=300))
    description = ma.fields.String(load_default=None, validate=ma.validate.Length(max=10000))
    owner_side = ma.fields.Enum(Side, by_value=True, required=True)
    owner_id = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=1))
    due_on = ma.fields.Date(required=True)
    priority = ma.fields.Enum(Priority, by_value=True, load_default=Priority.MEDIUM)
    status = ma.fields.Enum(ActionStatus, by_value=True, load_default=ActionStatus.OPEN)
    meeting_id = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=1))
    sla_id = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=1))
    challenge_id = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=1))


class UpdateInputSchema(ma.Schema):
    status = ma.fields.Enum(
        ActionStatus,
        by_value=True,
        load_default=None,
        metadata={"description": "The new status (default: unchanged)"},
    )
    note = ma.fields.String(load_default=None, validate=ma.validate.Length(max=10000))
    evidence_url = ma.fields.String(load_default=None, validate=ma.validate.Length(max=1000))


class StatusInputSchema(ma.Schema):
    status = ma.fields.Enum(ActionStatus, by_value=True, required=True)
    note = ma.fields.String(load_default=None, validate=ma.validate.Length(max=10000))


@blp.route("")
class Actions(MethodView):
    @blp.arguments(ActionFilterSchema, location="query")
    @blp.response(200, ActionRowSchema(many=True))
    @blp.paginate()
    def get(self, filters, partnership_id: int, pagination_parameters):
        """The action items, filtered and sorted as on the list page"""
        access.get_partnership(partnership_id)
        rows = service.list_actions(partnership_id, service.Filters(**filters), utc_today())
        pagination_parameters.item_count = len(rows)
        first = pagination_parameters.first_item
        return rows[first : first + pagination_parameters.page_size]

    @blp.arguments(ActionCreateSchema)
    @blp.response(201, ActionSchema)
    def post(self, body, partnership_id: int):
        """Create an action item (a lead)"""
        partnership = access.get_partnership(partnership_id)
        item = service.create_action(current_user, partnership, today=utc_today(), **body)
        item = service.load_item(item.id)
        set_etag(item)
        return item


def _item(partnership_id: int, action_id: int, action: Action = Action.VIEW) -> ActionItem:
    access.get_object(ActionItem, action_id, partnership_id, action)
    return service.load_item(action_id)  # type: ignore[return-value]


@blp.route("/<int:action_id>")
class ActionResource(MethodView):
    @blp.response(200, ActionSchema)
    def get(self, partnership_id: int, action_id: int):
        """One action item with its timeline (its ETag is its version)"""
        item = _item(partnership_id, action_id)
        set_etag(item)
        return item


def _post_update(partnership_id: int, action_id: int, status, note, evidence_url) -> ActionItem:
    item = _item(partnership_id, action_id, Action.UPDATE_PROVIDER_ACTIONS)
    service.require_update(current_user, item)
    service.post_update(
        current_user,
        item,
        today=utc_today(),
        status=status or item.status,
        note=note,
        evidence_url=evidence_url,
        expected_version=if_match_version(item),
    )
    item = service.load_item(action_id)
    set_etag(item)
    return item  # type: ignore[return-value]


@blp.route("/<int:action_id>/updates")
class ActionUpdates(MethodView):
    @blp.arguments(UpdateInputSchema)
    @blp.response(201, ActionSchema)
    def post(self, body, partnership_id: int, action_id: int):
        """Post a progress update: a note, an evidence link and/or a new status (If-Match)"""
        return _post_update(partnership_id, action_id, **body)


@blp.route("/<int:action_id>/status")
class ActionStatusResource(MethodView):
    @blp.arguments(StatusInputSchema)
    @blp.response(200, ActionSchema)
    def put(self, body, partnership_id: int, action_id: int):
        """Change the status (written on the timeline, with the note if any; If-Match)"""
        return _post_update(partnership_id, action_id, body["status"], body["note"], None)
