"""Meetings: the list, planning, the agenda, holding the meeting and approving its minutes."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_security import auth_required

from mls_tracker import lists, page_parts
from mls_tracker.access import Action, can, get_object, get_partnership
from mls_tracker.exports import attachment, csv_response
from mls_tracker.exports import slug as slug_of
from mls_tracker.formatting import read_month, viewer_zone
from mls_tracker.formhelp import attach_error, to_int
from mls_tracker.meetings.forms import (
    AgendaItemForm,
    ApproveForm,
    ButtonForm,
    DeleteItemForm,
    EditMeetingForm,
    HoldForm,
    MeetingForm,
    SendInvitationsForm,
)
from mls_tracker.models import AgendaItem, Meeting, MeetingKind, MeetingState
from mls_tracker.periods import Month, utc_today
from mls_tracker.services import audit_log, meeting_mail
from mls_tracker.services import meetings as service
from mls_tracker.services.errors import Conflict, NotFound, ValidationFailed

bp = Blueprint("meetings", __name__, url_prefix="/partnerships/<int:partnership_id>/meetings")


def _show_url(meeting: Meeting, anchor: str | None = None) -> str:
    return url_for(
        ".show", partnership_id=meeting.partnership_id, meeting_id=meeting.id, _anchor=anchor
    )


def _meeting(partnership_id: int, meeting_id: int, action: Action = Action.VIEW) -> Meeting:
    return get_object(Meeting, meeting_id, partnership_id, action)


def _item(partnership_id: int, meeting: Meeting, item_id: int) -> AgendaItem:
    item = get_object(AgendaItem, item_id, partnership_id, Action.MANAGE)
    if item.meeting_id != meeting.id:
        raise NotFound()
    return item


def _refuse_if_approved(meeting: Meeting):
    """Approved minutes are read-only: say so and go back to the meeting."""
    if meeting.state is MeetingState.MINUTES_APPROVED:
        flash(service.APPROVED_MESSAGE, "warning")
        return redirect(_show_url(meeting))
    return None


def _month_arg(name: str) -> Month | None:
    """A month filter as typed ("Nov 2026", "November 2026") or as links carry it ("2026-11");
    none when it is not a month."""
    try:
        return Month(*read_month(request.args.get(name, "")))
    except ValueError:
        return None


MONTH_FILTER_ERROR = "Type it like Nov 2026; until then this filter is not applied."


def _month_errors() -> dict[str, str]:
    """The month filters typed but not months, by field name ("from", "to"), as typed: shown
    back in their field with a message beside it, and not applied."""
    typed = {name: request.args.get(name, "").strip() for name in ("from", "to")}
    return {name: text[:40] for name, text in typed.items() if text and _month_arg(name) is None}


def _filters() -> service.MeetingFilters:
    """The list's filters from the query string; unknown values are ignored."""
    kind = request.args.get("kind", "")
    state = request.args.get("state", "")
    return service.MeetingFilters(
        kind=MeetingKind(kind) if kind in {k.value for k in MeetingKind} else None,
        state=MeetingState(state) if state in {s.value for s in MeetingState} else None,
        month_from=_month_arg("from"),
        month_to=_month_arg("to"),
        words=request.args.get("q", "").strip()[:200],
    )


def _sort() -> str:
    sort = request.args.get("sort", "")
    return sort if sort in service.SORTS else service.SORTS[0]


def _query(filters: service.MeetingFilters) -> dict[str, str]:
    """The filters as URL arguments (kept by the sort links and the CSV link)."""
    query = {
        "kind": filters.kind.value if filters.kind else "",
        "state": filters.state.value if filters.state else "",
        "from": str(filters.month_from) if filters.month_from else "",
        "to": str(filters.month_to) if filters.month_to else "",
        "q": filters.words,
    }
    return {key: value for key, value in query.items() if value}


def _refuse_unless_planned(meeting: Meeting, message: str):
    """Rescheduling and invitations are for a planned meeting: say so and go back to it."""
    if meeting.state is not MeetingState.PLANNED:
        flash(message, "warning")
        return redirect(_show_url(meeting))
    return None


@bp.get("/")
@auth_required()
def index(partnership_id: int):
    partnership = get_partnership(partnership_id)
    today = utc_today()
    may_manage = can(current_user, Action.MANAGE, partnership.id)
    filters = _filters()
    sort = _sort()
    zone = viewer_zone()

    def render_lists() -> str:
        found = service.find_meetings(partnership.id, filters, sort)
        return render_template(
            "meetings/_list.html",
            partnership=partnership,
            meetings=found,
            planned_count=sum(1 for m in found if m.state is MeetingState.PLANNED),
            next_meeting_id=service.next_meeting_id(partnership.id, today),
            filters=filters,
            query=_query(filters),
            sort=sort,
            kinds=list(MeetingKind),
            states=list(MeetingState),
            when={m.id: service.when_text(m, zone, beside_date=True) for m in found},
            month_errors=_month_errors(),
            month_error=MONTH_FILTER_ERROR,
            today=today,
            may_manage=may_manage,
        )

    return render_template(
        "meetings/index.html",
        partnership=partnership,
        may_manage=may_manage,
        content=page_parts.default_view(
            "meetings.index", partnership.id, (today, may_manage, str(zone)), render_lists
        ),
    )


@bp.get("/export.csv")
@auth_required()
def export(partnership_id: int):
    partnership = get_partnership(partnership_id)
    found = service.find_meetings(partnership.id, _filters(), _sort())
    return csv_response(
        f"meetings-{slug_of(partnership.name)}-{utc_today()}.csv",
        service.CSV_COLUMNS,
        service.csv_rows(found),
    )


def _schedule(form: MeetingForm) -> service.Schedule:
    return service.Schedule(
        start_time=form.local_start.time(),
        duration_minutes=form.duration.data,
        place=form.place.data,
        zone=viewer_zone(),
    )


@bp.route("/new", methods=["GET", "POST"])
@auth_required()
def new(partnership_id: int):
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = MeetingForm()
    if not form.is_submitted():
        today = utc_today()
        form.starts.data = today  # the day alone: the planner adds the time
        form.reviewed_month.data = Month.of(today).previous()
    if form.validate_on_submit():
        try:
            meeting = service.plan_meeting(
                current_user,
                partnership,
                held_on=form.local_start.date(),
                kind=form.kind.data,
                reviewed_month=form.reviewed_month.data,
                today=utc_today(),
                extra=form.extra.data,
                schedule=_schedule(form),
            )
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            flash(
                f"Meeting planned; its agenda has {len(meeting.agenda_items)} item"
                f"{'' if len(meeting.agenda_items) == 1 else 's'} from the current figures.",
                "success",
            )
            return redirect(_show_url(meeting))
    return render_template("meetings/form.html", partnership=partnership, form=form, meeting=None)


@bp.get("/<int:meeting_id>")
@auth_required()
def show(partnership_id: int, meeting_id: int):
    meeting = _meeting(partnership_id, meeting_id)
    partnership = get_partnership(partnership_id)
    today = utc_today()
    may_manage = can(current_user, Action.MANAGE, partnership.id)
    may_see_history = audit_log.may_see_history(current_user, partnership.id)

    zone = viewer_zone()

    def render_meeting() -> str:
        return render_template(
            "meetings/_show.html",
            partnership=partnership,
            meeting=meeting,
            agenda=service.grouped_agenda(meeting),
            overdue=service.overdue_keys(meeting, today),
            attendees=service.attendees(meeting),
            actions=service.action_items(meeting),
            today=today,
            button_form=ButtonForm(),
            delete_form=DeleteItemForm(),
            when=service.when_text(meeting, zone),
            zone_name=str(zone),
            video_link=service.is_video_link(meeting.place),
            may_manage=may_manage,
        )

    # The body holds the forms of the agenda: remembered without this session's token. Its
    # tabs offer an administrator to reopen an archived partnership.
    content = page_parts.default_view(
        "meetings.show",
        partnership.id,
        (meeting.id, today, may_manage, may_see_history, current_user.is_admin, str(zone)),
        page_parts.tokenless(render_meeting),
    )
    return render_template(
        "meetings/show.html",
        partnership=partnership,
        meeting=meeting,
        content=page_parts.with_token(content),
    )


@bp.route("/<int:meeting_id>/edit", methods=["GET", "POST"])
@auth_required()
def edit(partnership_id: int, meeting_id: int):
    meeting = _meeting(partnership_id, meeting_id, Action.MANAGE)
    partnership = get_partnership(partnership_id, Action.MANAGE)
    if refused := _refuse_unless_planned(
        meeting, "Only a planned meeting can be rescheduled: this one has been held."
    ):
        return refused
    form = EditMeetingForm(obj=None if request.method == "POST" else meeting)
    if not form.is_submitted():
        form.kind.data = meeting.kind.value
        form.version.data = str(meeting.version)
        form.duration.data = meeting.duration_minutes or 60
        form.starts.data = meeting.starts_at or meeting.held_on
    conflict_message = None
    saved = None
    if form.validate_on_submit():
        try:
            service.update_meeting(
                current_user,
                meeting,
                held_on=form.local_start.date(),
                kind=form.kind.data,
                reviewed_month=form.reviewed_month.data,
                expected_version=to_int(form.version.data),
                extra=form.extra.data,
                schedule=_schedule(form),
            )
        except ValidationFailed as error:
            attach_error(form, error)
        except Conflict as error:
            conflict_message = str(error)
            # What is saved now beside the form, which keeps what was typed; saving again is
            # a deliberate choice to replace it.
            saved = service.saved_record(meeting)
            form.version.data = str(saved.version)
        else:
            flash("Meeting saved. Refresh the agenda if the reviewed month changed.", "success")
            return redirect(lists.carrying_next(_show_url(meeting)))
    return render_template(
        "meetings/form.html",
        partnership=partnership,
        form=form,
        meeting=meeting,
        conflict_message=conflict_message,
        saved=saved,
    )


@bp.get("/<int:meeting_id>/invite.ics")
@auth_required()
def ics(partnership_id: int, meeting_id: int):
    meeting = _meeting(partnership_id, meeting_id)
    partnership = get_partnership(partnership_id)
    try:
        body = meeting_mail.build_ics(meeting, partnership)
    except ValidationFailed as error:
        flash(str(error), "warning")
        return redirect(_show_url(meeting))
    return attachment(body, "text/calendar", meeting_mail.ics_filename(meeting))


@bp.route("/<int:meeting_id>/invitations", methods=["GET", "POST"])
@auth_required()
def invitations(partnership_id: int, meeting_id: int):
    """Send the invitation to every attendee: a page that lists them asks first."""
    meeting = _meeting(partnership_id, meeting_id, Action.MANAGE)
    partnership = get_partnership(partnership_id, Action.MANAGE)
    if refused := _refuse_unless_planned(
        meeting, "Invitations are for a planned meeting: this one has been held."
    ):
        return refused
    if meeting.starts_at is None:
        flash(meeting_mail.NO_TIME_MESSAGE, "warning")
        return redirect(url_for(".edit", partnership_id=partnership_id, meeting_id=meeting_id))
    form = SendInvitationsForm()
    if form.validate_on_submit():
        try:
            sent = meeting_mail.send_invitations(current_user, meeting, partnership)
        except ValidationFailed as error:
            flash(str(error), "danger")
        else:
            flash(f"Invitations: {sent.text}", "warning" if sent.failed else "success")
        return redirect(_show_url(meeting))
    form.confirm.data = "send"
    return render_template(
        "meetings/invitations.html",
        partnership=partnership,
        meeting=meeting,
        form=form,
        people=meeting_mail.recipients(meeting),
        when=service.when_text(meeting, viewer_zone()),
    )


@bp.post("/<int:meeting_id>/agenda/refresh")
@auth_required()
def refresh(partnership_id: int, meeting_id: int):
    meeting = _meeting(partnership_id, meeting_id, Action.MANAGE)
    if ButtonForm().validate_on_submit():
        try:
            generated, kept = service.refresh_agenda(current_user, meeting, utc_today())
        except ValidationFailed as error:
            flash(str(error), "danger")
        else:
            flash(
                f"Agenda refreshed from today's figures: {generated} generated item"
                f"{'' if generated == 1 else 's'}; {kept} edited or added by hand kept.",
                "success",
            )
    return redirect(_show_url(meeting, "agenda"))


@bp.post("/<int:meeting_id>/agenda/<int:item_id>/move")
@auth_required()
def move_item(partnership_id: int, meeting_id: int, item_id: int):
    meeting = _meeting(partnership_id, meeting_id, Action.MANAGE)
    item = _item(partnership_id, meeting, item_id)
    direction = request.form.get("direction")
    if ButtonForm().validate_on_submit():
        if direction not in ("up", "down"):
            flash("Move an agenda item up or down.", "danger")
        else:
            try:
                service.move_item(current_user, item, direction)
            except ValidationFailed as error:
                flash(str(error), "danger")
    return redirect(_show_url(meeting, f"item-{item.id}"))


@bp.route("/<int:meeting_id>/agenda/<int:item_id>/edit", methods=["GET", "POST"])
@auth_required()
def edit_item(partnership_id: int, meeting_id: int, item_id: int):
    meeting = _meeting(partnership_id, meeting_id, Action.MANAGE)
    item = _item(partnership_id, meeting, item_id)
    partnership = get_partnership(partnership_id, Action.MANAGE)
    if refused := _refuse_if_approved(meeting):
        return refused
    form = AgendaItemForm(obj=None if request.method == "POST" else item)
    if form.validate_on_submit():
        try:
            service.update_item(
                current_user,
                item,
                section=form.section.data,
                title=form.title.data,
                detail=form.detail.data,
            )
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            flash("Agenda item saved; a refresh of the agenda keeps it as you wrote it.", "success")
            return redirect(_show_url(meeting, f"item-{item.id}"))
    return render_template(
        "meetings/item_form.html", partnership=partnership, meeting=meeting, item=item, form=form
    )


@bp.post("/<int:meeting_id>/agenda/<int:item_id>/delete")
@auth_required()
def delete_item(partnership_id: int, meeting_id: int, item_id: int):
    meeting = _meeting(partnership_id, meeting_id, Action.MANAGE)
    item = _item(partnership_id, meeting, item_id)
    form = DeleteItemForm()
    if form.validate_on_submit():
        title = item.title
        try:
            service.delete_item(current_user, item)
        except ValidationFailed as error:
            flash(str(error), "danger")
        else:
            flash(f"“{title}” removed from the agenda.", "success")
    else:
        flash("Nothing was removed: use the Remove button of the agenda item.", "danger")
    return redirect(_show_url(meeting, "agenda"))


@bp.route("/<int:meeting_id>/agenda/new", methods=["GET", "POST"])
@auth_required()
def new_item(partnership_id: int, meeting_id: int):
    meeting = _meeting(partnership_id, meeting_id, Action.MANAGE)
    partnership = get_partnership(partnership_id, Action.MANAGE)
    if refused := _refuse_if_approved(meeting):
        return refused
    form = AgendaItemForm()
    if form.validate_on_submit():
        try:
            item = service.add_item(
                current_user,
                meeting,
                section=form.section.data,
                title=form.title.data,
                detail=form.detail.data,
            )
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            flash("Agenda item added.", "success")
            return redirect(_show_url(meeting, f"item-{item.id}"))
    return render_template(
        "meetings/item_form.html", partnership=partnership, meeting=meeting, item=None, form=form
    )


@bp.route("/<int:meeting_id>/hold", methods=["GET", "POST"])
@auth_required()
def hold(partnership_id: int, meeting_id: int):
    meeting = _meeting(partnership_id, meeting_id, Action.MANAGE)
    partnership = get_partnership(partnership_id, Action.MANAGE)
    if refused := _refuse_if_approved(meeting):
        return refused
    people = service.attendees(meeting)
    form = HoldForm(obj=None if request.method == "POST" else meeting)
    if not form.is_submitted():
        form.challenges.data = "\n".join(c.title for c in meeting.challenges)
        form.version.data = str(meeting.version)
    present = (
        {p.key for p in people if request.form.get(f"present-{p.key}")}
        if form.is_submitted()
        else {p.key for p in people if p.present}
    )
    conflict_message = None
    saved = None
    if form.validate_on_submit():
        was_planned = meeting.state is MeetingState.PLANNED
        try:
            carried = service.hold_meeting(
                current_user,
                meeting,
                attendance={key: True for key in present},
                minutes=form.minutes.data,
                successes=form.successes.data,
                challenges=form.challenges.data,
                decisions=form.decisions.data,
                expected_version=to_int(form.version.data),
            )
        except ValidationFailed as error:
            attach_error(form, error)
        except Conflict as error:
            conflict_message = str(error)
            # What the other person saved, beside the form that keeps what was typed (and
            # ticked); saving again is a deliberate choice to replace theirs.
            saved = service.saved_record(meeting)
            form.version.data = str(saved.version)
            people = service.attendees(meeting)
        else:
            if was_planned:
                flash(
                    f"Meeting recorded as held. {carried} open action item"
                    f"{' was' if carried == 1 else 's were'} carried forward to the next meeting.",
                    "success",
                )
            else:
                flash("Meeting record saved.", "success")
            return redirect(_show_url(meeting))
    return render_template(
        "meetings/hold.html",
        partnership=partnership,
        meeting=meeting,
        form=form,
        people=people,
        present=present,
        conflict_message=conflict_message,
        saved=saved,
    )


@bp.route("/<int:meeting_id>/approve", methods=["GET", "POST"])
@auth_required()
def approve(partnership_id: int, meeting_id: int):
    """Approving the minutes locks the record: a page says so and asks first; the server
    refuses an approval that does not come from it."""
    meeting = _meeting(partnership_id, meeting_id, Action.MANAGE)
    partnership = get_partnership(partnership_id, Action.MANAGE)
    if refused := _refuse_if_approved(meeting):
        return refused
    if meeting.state is MeetingState.PLANNED:
        flash(
            "Only the minutes of a held meeting can be approved: record it as held first.",
            "warning",
        )
        return redirect(_show_url(meeting))
    form = ApproveForm()
    if request.method == "GET":
        form.version.data = str(meeting.version)
        form.confirm.data = "approve"
    elif form.validate_on_submit():
        try:
            service.approve_minutes(
                current_user, meeting, expected_version=to_int(form.version.data)
            )
        except (ValidationFailed, Conflict) as error:
            flash(str(error), "danger")
        else:
            sent = meeting_mail.send_minutes(meeting, partnership)
            flash(
                "Minutes approved: the meeting's record is now read-only. "
                f"The summary with each person's action items: {sent.text}",
                "warning" if sent.failed else "success",
            )
        return redirect(_show_url(meeting))
    else:
        flash(
            "The minutes were not approved: approve them from this page, which says what "
            "approving locks.",
            "danger",
        )
        form.version.data = str(meeting.version)
        form.confirm.data = "approve"
    return render_template(
        "meetings/approve.html",
        partnership=partnership,
        meeting=meeting,
        form=form,
        cancel_url=_show_url(meeting),
        people=meeting_mail.recipients(meeting),
        actions=service.action_items(meeting),
    )
