"""Routes of the actions blueprint: the partnership's action plan, an item's timeline and
updates, and everyone's My actions."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_security import auth_required
from markupsafe import Markup

from mls_tracker import lists, page_parts
from mls_tracker.access import Action, can, get_object, get_partnership
from mls_tracker.actions.forms import (
    NONE,
    ActionForm,
    EditActionForm,
    FilterForm,
    ReopenForm,
    UpdateForm,
    VerifyForm,
)
from mls_tracker.exports import csv_response
from mls_tracker.formhelp import attach_error, local_path, to_int
from mls_tracker.models import ActionItem, Partnership, Side
from mls_tracker.periods import utc_today
from mls_tracker.services import actions as service
from mls_tracker.services import audit_log, data_version
from mls_tracker.services.errors import Conflict, NotFound, ValidationFailed

# No prefix: partnership lists live under /partnerships/<id>/actions, My actions at /my-actions.
bp = Blueprint("actions", __name__)

PREFIX = "/partnerships/<int:partnership_id>/actions"


# ----------------------------------------------------------------------------- lists


def _filters(partnership_id: int) -> tuple[FilterForm, service.Filters]:
    form = FilterForm(formdata=request.args)
    form.owner_id.choices = [(NONE, "Anyone")] + [
        (c.id, c.name) for c in service.owner_candidates(partnership_id)
    ]
    form.validate()
    status = form.status.data or service.NOT_CLOSED  # open work first; "all" shows every item
    if status not in {service.NOT_CLOSED, *(s.value for s in service.ActionStatus)}:
        status = None
    side = form.owner_side.data
    filters = service.Filters(
        status=status,
        owner_side=Side(side) if side in {s.value for s in Side} else None,
        owner_id=form.owner_id.data or None,
        overdue=bool(form.overdue.data),
        due_within=form.due_within.data if not form.due_within.errors else None,
        sort=form.sort.data if form.sort.data in service.SORTS else "due",
        descending=form.order.data == "desc",
    )
    return form, filters


@bp.get(f"{PREFIX}/")
@auth_required()
def index(partnership_id: int):
    partnership = get_partnership(partnership_id)
    today = utc_today()
    may_manage = can(current_user, Action.MANAGE, partnership.id)

    def render_list() -> str:
        form, filters = _filters(partnership.id)
        rows = service.list_actions(partnership.id, filters, today)
        return render_template(
            "actions/_list.html",
            partnership=partnership,
            rows=rows,
            form=form,
            filters=filters,
            filtered=any(
                (
                    filters.status != service.NOT_CLOSED,
                    filters.owner_side,
                    filters.owner_id,
                    filters.overdue,
                    filters.due_within is not None,
                )
            ),
            today=today,
            may_manage=may_manage,
        )

    content = page_parts.default_view(
        "actions.index", partnership.id, (today, may_manage), render_list
    )
    return render_template(
        "actions/index.html", partnership=partnership, may_manage=may_manage, content=content
    )


@bp.get(f"{PREFIX}/export.csv")
@auth_required()
def export(partnership_id: int):
    partnership = get_partnership(partnership_id)
    _, filters = _filters(partnership.id)
    today = utc_today()
    rows = service.list_actions(partnership.id, filters, today)
    header = [
        "id",
        "title",
        "owner side",
        "owner",
        "due on",
        "priority",
        "status",
        "overdue",
        "times carried",
        "closed on",
        "verified",
        "meeting",
    ]
    return csv_response(
        f"actions-{partnership.id}-{today.isoformat()}.csv",
        header,
        (
            [
                row.id,
                row.title,
                row.owner_side.value,
                row.owner_name,
                row.due_on.isoformat(),
                row.priority.value,
                row.status.value,
                "yes" if row.overdue else "no",
                row.times_carried,
                row.closed_on.isoformat() if row.closed_on else "",
                "yes" if row.verified else "no",
                row.meeting_held_on.isoformat() if row.meeting_held_on else "",
            ]
            for row in rows
        ),
    )


MY_CSV_COLUMNS = [
    "partnership",
    "id",
    "title",
    "owner side",
    "due on",
    "priority",
    "status",
    "overdue",
    "times carried",
]


@bp.get("/my-actions/export.csv")
@auth_required()
def mine_export():
    """Every open item the user owns (all pages), in the order the page arranges them."""
    today = utc_today()
    sort = "partnership" if request.args.get("sort") == "partnership" else "due"
    total = service.my_actions(current_user, today, sort=sort, per_page=1).total
    rows = service.my_actions(current_user, today, sort=sort, per_page=max(total, 1)).owned
    return csv_response(
        f"my-actions-{today.isoformat()}.csv",
        MY_CSV_COLUMNS,
        (
            [
                row.partnership_name,
                row.id,
                row.title,
                row.owner_side.value,
                row.due_on.isoformat(),
                row.priority.value,
                row.status.value,
                "yes" if row.overdue else "no",
                row.times_carried,
            ]
            for row in rows
        ),
    )


@bp.get("/my-actions")
@auth_required()
def mine():
    """One page (25 rows) of the open items the user owns, in one order over all of them:
    by due date, grouped Overdue / due in the next 7 days / later — the groups present on the
    page get their heading, with the group's count over all pages — or by partnership.

    The default view (no query arguments) is remembered per user and day under the
    installation's data version (``data_version.remembered_across``): every write it shows is
    audited (items, their owners and statuses, memberships, partnership names). Rendering its
    rows was most of the page's time: 4.4 ms in-process against 2.6 ms for the other lists
    (``benchmarks/page_cpu.py --size large``)."""
    today = utc_today()
    sort = "partnership" if request.args.get("sort") == "partnership" else "due"

    def compute() -> Markup:
        mine = service.my_actions(current_user, today, sort=sort, page=request.args.get("page"))
        owned = mine.owned
        if sort == "partnership":
            groups = [("All my open items", mine.total, owned)]
        else:
            soon = today + dt.timedelta(days=service.REMIND_WITHIN_DAYS)
            groups = [
                ("Overdue", mine.overdue, [row for row in owned if row.due_on < today]),
                (
                    "Due in the next 7 days",
                    mine.due_soon,
                    [row for row in owned if today <= row.due_on <= soon],
                ),
                ("Later", mine.later, [row for row in owned if row.due_on > soon]),
            ]
        return page_parts.rendered(
            "actions/_mine.html", mine=mine, groups=groups, sort=sort, today=today
        )

    if request.args:
        content = compute()
    else:
        content = data_version.remembered_across("actions.mine", (current_user.id, today), compute)
    return render_template("actions/mine.html", content=content)


# ----------------------------------------------------------------------------- create / edit


def _set_choices(form: ActionForm, partnership_id: int) -> None:
    candidates = service.owner_candidates(partnership_id)
    form.owner_id.choices = [(NONE, "Nobody yet")] + [
        (c.id, f"{c.name} ({c.role}, {c.side} side)") for c in candidates
    ]
    slas, challenges = service.link_choices(partnership_id)
    form.sla_id.choices = [(NONE, "None")] + slas
    form.challenge_id.choices = [(NONE, "None")] + challenges


def _values(form: ActionForm) -> dict:
    return {
        "title": form.title.data,
        "description": form.description.data,
        "owner_side": form.owner_side.data,
        "owner_id": form.owner_id.data or None,
        "due_on": form.due_on.data,
        "priority": form.priority.data,
        "status": form.status.data,
        "sla_id": form.sla_id.data or None,
        "challenge_id": form.challenge_id.data or None,
    }


@bp.route(f"{PREFIX}/new", methods=["GET", "POST"])
@auth_required()
def new(partnership_id: int):
    partnership = get_partnership(partnership_id, Action.MANAGE)
    meeting_id = to_int(request.args.get("meeting_id"))
    meeting = service.meeting_of(partnership.id, meeting_id)
    if meeting_id and meeting is None:
        raise NotFound()
    # Where the form was opened from (a meeting): saving and Cancel go back there. Only a path
    # of this app is followed; anything else is ignored.
    return_to = local_path(request.args.get("next"))
    form = ActionForm()
    _set_choices(form, partnership.id)
    if not form.is_submitted():
        form.owner_side.data = Side.PROVIDER.value
        if meeting is not None:
            form.due_on.data = max(meeting.held_on, utc_today()) + dt.timedelta(days=14)
    if form.validate_on_submit():
        try:
            item = service.create_action(
                current_user,
                partnership,
                today=utc_today(),
                meeting_id=meeting.id if meeting else None,
                **_values(form),
            )
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            flash(f"Action “{item.title}” added.", "success")
            return redirect(
                return_to or url_for(".show", partnership_id=partnership.id, action_id=item.id)
            )
    return render_template(
        "actions/form.html",
        partnership=partnership,
        form=form,
        item=None,
        meeting=meeting,
        return_to=return_to,
    )


@bp.route(f"{PREFIX}/<int:action_id>/edit", methods=["GET", "POST"])
@auth_required()
def edit(partnership_id: int, action_id: int):
    item = get_object(ActionItem, action_id, partnership_id, Action.MANAGE)
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = EditActionForm(obj=None if request.method == "POST" else item)
    _set_choices(form, partnership.id)
    if not form.is_submitted():
        form.owner_side.data = item.owner_side.value
        form.owner_id.data = item.owner_id or NONE
        form.priority.data = item.priority.value
        form.status.data = item.status.value
        form.sla_id.data = item.sla_id or NONE
        form.challenge_id.data = item.challenge_id or NONE
        form.version.data = str(item.version)
    conflict = None
    saved = None
    if form.validate_on_submit():
        try:
            service.edit_action(
                current_user,
                item,
                today=utc_today(),
                expected_version=to_int(form.version.data),
                **_values(form),
            )
        except ValidationFailed as error:
            attach_error(form, error)
        except Conflict as error:
            conflict = str(error)
            saved = service.saved_action(item.id)
            # Saving again now is a deliberate choice to replace what is shown as current.
            form.version.data = str(saved.version if saved else item.version)
        else:
            flash("Action saved.", "success")
            return redirect(_show_url(item))
    return render_template(
        "actions/form.html",
        partnership=partnership,
        form=form,
        item=item,
        meeting=item.meeting,
        conflict=conflict,
        saved=saved,
    )


# ----------------------------------------------------------------------------- one item


def _show(
    partnership: Partnership,
    item_id: int,
    *,
    update_form: UpdateForm | None = None,
    verify_form: VerifyForm | None = None,
    reopen_form: ReopenForm | None = None,
    conflict: str | None = None,
    status: int = 200,
):
    db_item = service.load_item(item_id)
    if db_item is None:
        raise NotFound()
    # After a refused save: what is stored now, beside the form that keeps what was typed.
    saved = service.saved_action(db_item.id) if conflict else None
    may_update = service.may_update(current_user, db_item)
    may_manage = can(current_user, Action.MANAGE, partnership.id)
    version = str(db_item.version)
    if update_form is None and may_update:
        update_form = UpdateForm(formdata=None)
        update_form.status.data = db_item.status.value
        update_form.version.data = version
    if verify_form is None:
        verify_form = VerifyForm(formdata=None)
    if reopen_form is None:
        reopen_form = ReopenForm(formdata=None)
    # After a refused save the forms carry the current version: saving again is deliberate.
    for form in (update_form, verify_form, reopen_form):
        if form is not None and (conflict or not form.version.data):
            form.version.data = version
    return (
        render_template(
            "actions/show.html",
            partnership=partnership,
            item=db_item,
            today=utc_today(),
            may_update=may_update,
            may_manage=may_manage,
            update_form=update_form,
            verify_form=verify_form,
            reopen_form=reopen_form,
            conflict=conflict,
            saved=saved,
        ),
        status,
    )


@bp.get(f"{PREFIX}/<int:action_id>")
@auth_required()
def show(partnership_id: int, action_id: int):
    """The item's top, its facts and timeline, and the forms of the viewer's rights
    remembered per data version, day and viewer rights (the forms without the session's
    CSRF token, put back on each view)."""
    item = get_object(ActionItem, action_id, partnership_id)
    partnership = get_partnership(partnership_id)
    today = utc_today()
    may_manage = can(current_user, Action.MANAGE, partnership.id)
    may_update = service.may_update(current_user, item)
    may_see_history = audit_log.may_see_history(current_user, partnership.id)

    def render_forms() -> str:
        version = str(item.version)
        update_form = None
        if may_update:
            update_form = UpdateForm(formdata=None)
            update_form.status.data = item.status.value
            update_form.version.data = version
        verify_form, reopen_form = VerifyForm(formdata=None), ReopenForm(formdata=None)
        verify_form.version.data = reopen_form.version.data = version
        return render_template(
            "actions/_show_forms.html",
            partnership=partnership,
            item=item,
            may_update=may_update,
            may_manage=may_manage,
            update_form=update_form,
            verify_form=verify_form,
            reopen_form=reopen_form,
            saved=None,
        )

    def render_parts() -> tuple[Markup, Markup, str]:
        loaded = service.load_item(item.id)
        context = {"partnership": partnership, "item": loaded, "today": today}
        return (
            page_parts.rendered("actions/_show_head.html", may_manage=may_manage, **context),
            page_parts.rendered("actions/_show_story.html", **context),
            page_parts.tokenless(render_forms)(),
        )

    if request.args:
        head, story, forms = render_parts()
    else:
        head, story, forms = data_version.remembered(
            "actions.show",
            partnership.id,
            (item.id, today, may_manage, may_see_history, may_update),
            render_parts,
        )
    return render_template(
        "actions/show.html",
        partnership=partnership,
        item=item,
        conflict=None,
        head=head,
        story=story,
        forms=page_parts.with_token(forms),
    )


def _show_url(item: ActionItem) -> str:
    """The item's page, leading back to the list it was opened from (``next=``) if any."""
    return url_for(
        ".show", **lists.with_next({"partnership_id": item.partnership_id, "action_id": item.id})
    )


def _redirect_to(item: ActionItem):
    return redirect(_show_url(item) + "#timeline")


@bp.post(f"{PREFIX}/<int:action_id>/update")
@auth_required()
def update(partnership_id: int, action_id: int):
    item = get_object(ActionItem, action_id, partnership_id, Action.UPDATE_PROVIDER_ACTIONS)
    partnership = get_partnership(partnership_id, Action.UPDATE_PROVIDER_ACTIONS)
    service.require_update(current_user, item)
    form = UpdateForm()
    conflict = None
    if form.validate_on_submit():
        try:
            service.post_update(
                current_user,
                item,
                today=utc_today(),
                status=form.status.data,
                note=form.note.data,
                evidence_url=form.evidence_url.data,
                expected_version=to_int(form.version.data),
            )
        except ValidationFailed as error:
            attach_error(form, error)
        except Conflict as error:
            conflict = str(error)
        else:
            flash("Update posted.", "success")
            return _redirect_to(item)
    return _show(partnership, item.id, update_form=form, conflict=conflict)


@bp.route(f"{PREFIX}/<int:action_id>/verify", methods=["GET", "POST"])
@auth_required()
def verify(partnership_id: int, action_id: int):
    """A verification cannot be taken back: a page says so and asks first; a post without
    its ``confirm`` field verifies nothing (the item's page shows why)."""
    item = get_object(ActionItem, action_id, partnership_id, Action.MANAGE)
    partnership = get_partnership(partnership_id, Action.MANAGE)
    show_url = _show_url(item)
    if request.method == "GET":
        refusal = service.verify_refusal(item)
        if refusal:
            flash(refusal, "warning")
            return redirect(show_url)
        form = VerifyForm(formdata=None)
        form.version.data = str(item.version)
        return render_template(
            "actions/verify.html",
            partnership=partnership,
            item=service.load_item(item.id),
            form=form,
            cancel_url=show_url,
        )
    form = VerifyForm()
    conflict = None
    if form.validate_on_submit():
        try:
            service.verify_action(current_user, item, expected_version=to_int(form.version.data))
        except ValidationFailed as error:
            attach_error(form, error)
        except Conflict as error:
            conflict = str(error)
        else:
            flash("Verified as done.", "success")
            return _redirect_to(item)
    return _show(partnership, item.id, verify_form=form, conflict=conflict)


@bp.post(f"{PREFIX}/<int:action_id>/reopen")
@auth_required()
def reopen(partnership_id: int, action_id: int):
    item = get_object(ActionItem, action_id, partnership_id, Action.MANAGE)
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = ReopenForm()
    conflict = None
    if form.validate_on_submit():
        try:
            service.reopen_action(
                current_user,
                item,
                reason=form.reason.data,
                expected_version=to_int(form.version.data),
            )
        except ValidationFailed as error:
            attach_error(form, error)
        except Conflict as error:
            conflict = str(error)
        else:
            flash("Reopened; the reason is on the timeline.", "success")
            return _redirect_to(item)
    return _show(partnership, item.id, reopen_form=form, conflict=conflict)
