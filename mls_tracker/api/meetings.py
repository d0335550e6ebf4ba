"""GET /partnerships/{id}/meetings[/{meeting_id}]: governance meetings, with their attendees,
the state of their minutes and their action plan (read only)."""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask.views import MethodView
from flask_smorest import Blueprint

from mls_tracker import access
from mls_tracker.api.core import SelectPage, set_etag
from mls_tracker.models import Meeting
from mls_tracker.services import meetings as service

blp = Blueprint(
    "api_meetings",
    __name__,
    url_prefix="/partnerships",
    description="Governance meetings and their action plans (read only).",
)


class MeetingSchema(ma.Schema):
    id = ma.fields.Integer()
    held_on = ma.fields.Date()
    kind = ma.fields.String(attribute="kind.value")
    reviewed_month = ma.fields.String(attribute="reviewed_month")
    state = ma.fields.String(
        attribute="state.value",
        metadata={"description": "planned, held or minutes approved (the minutes' status)"},
    )
    approved_at = ma.fields.AwareDateTime(allow_none=True)
    version = ma.fields.Integer()


class AttendeeSchema(ma.Schema):
    kind = ma.fields.String(metadata={"description": "user or sponsor"})
    id = ma.fields.Integer()
    name = ma.fields.String()
    role = ma.fields.String()
    present = ma.fields.Boolean(allow_none=True, metadata={"description": "null: not recorded"})


class ActionItemSchema(ma.Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    owner_side = ma.fields.String(attribute="owner_side.value")
    owner_id = ma.fields.Integer(allow_none=True)
    due_on = ma.fields.Date()
    priority = ma.fields.String(attribute="priority.value")
    status = ma.fields.String(attribute="status.value")
    sla_id = ma.fields.Integer(allow_none=True)
    evidence_url = ma.fields.String(allow_none=True)
    version = ma.fields.Integer()


class MeetingDetailSchema(MeetingSchema):
    minutes = ma.fields.String(allow_none=True)
    successes = ma.fields.String(allow_none=True)
    decisions = ma.fields.String(allow_none=True)
    challenges = ma.fields.Function(lambda m: [c.title for c in m.challenges])
    attendees = ma.fields.Function(
        lambda m: AttendeeSchema(many=True).dump(service.attendees(m)),
        metadata={"description": "Members and the sponsors active on the day"},
    )
    action_items = ma.fields.Function(
        lambda m: ActionItemSchema(many=True).dump(service.action_items(m)),
        metadata={"description": "The meeting's action plan"},
    )


@blp.route("/<int:partnership_id>/meetings")
class Meetings(MethodView):
    @blp.response(200, MeetingSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, partnership_id: int):
        """The partnership's meetings, latest first"""
        access.check(access.Action.VIEW, partnership_id)
        return (
            sa.select(Meeting)
            .where(Meeting.partnership_id == partnership_id)
            .order_by(Meeting.held_on.desc(), Meeting.id.desc())
        )


@blp.route("/<int:partnership_id>/meetings/<int:meeting_id>")
class MeetingItem(MethodView):
    @blp.response(200, MeetingDetailSchema)
    def get(self, partnership_id: int, meeting_id: int):
        """One meeting: attendees, minutes and its action plan (its ETag is its version)"""
        meeting = access.get_object(Meeting, meeting_id, partnership_id)
        set_etag(meeting)
        return meeting
