"""The change-management log: the list (sorted, filtered, as CSV), one change, and logging,
editing and deleting changes."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_security import auth_required

from mls_tracker import lists, page_parts
from mls_tracker.access import Action, can, get_object, get_partnership
from mls_tracker.changes.forms import (
    NO_OWNER,
    STATUS_CHOICES,
    TYPE_CHOICES,
    ChangeForm,
    DeleteForm,
    EditChangeForm,
)
from mls_tracker.exports import csv_response
from mls_tracker.exports import slug as slug_of
from mls_tracker.formhelp import attach_error, to_int
from mls_tracker.models import Change, ChangeStatus, ChangeType, Partnership
from mls_tracker.periods import utc_today
from mls_tracker.services import audit_log
from mls_tracker.services import changes as service
from mls_tracker.services.errors import Conflict, ValidationFailed

bp = Blueprint("changes", __name__, url_prefix="/partnerships/<int:partnership_id>/changes")


def _filters(partnership: Partnership) -> dict:
    """The list's filters from the query string; unknown values are ignored."""
    status = request.args.get("status", "")
    change_type = request.args.get("type", "")
    region_id = to_int(request.args.get("region"))
    return {
        "status": ChangeStatus(status) if status in {s.value for s in ChangeStatus} else None,
        "change_type": ChangeType(change_type)
        if change_type in {t.value for t in ChangeType}
        else None,
        # the regions in scope are read only when one is asked for
        "region_id": region_id
        if region_id is not None and region_id in {region.id for region in partnership.regions}
        else None,
        "soon_only": request.args.get("soon") == "1",
    }


def _sort() -> str:
    sort = request.args.get("sort", "")
    return sort if sort in service.SORTS else service.SORTS[0]


def _set_choices(form: ChangeForm, partnership: Partnership, change: Change | None = None):
    regions = [(region.id, region.name) for region in service.regions_in_scope(partnership.id)]
    if change is not None:
        in_scope = {rid for rid, _ in regions}
        regions += [
            (region.id, f"{region.name} (no longer in scope)")
            for region in change.regions
            if region.id not in in_scope
        ]
    form.region_ids.choices = regions
    form.owner_id.choices = [(NO_OWNER, "No owner yet")] + [
        (user.id, user.display_name) for user in service.owner_candidates(partnership.id)
    ]


def _form_values(form: ChangeForm) -> dict:
    return {
        "title": form.title.data,
        "description": form.description.data,
        "change_type": form.change_type.data,
        "planned_on": form.planned_on.data,
        "communication_plan": form.communication_plan.data,
        "owner_id": form.owner_id.data or None,
        "status": form.status.data,
        "region_ids": form.region_ids.data or [],
    }


@bp.get("/")
@auth_required()
def index(partnership_id: int):
    partnership = get_partnership(partnership_id)
    today = utc_today()
    filters = _filters(partnership)
    sort = _sort()
    may_log = can(current_user, Action.LOG_WINS_AND_CHANGES, partnership.id)
    may_manage = can(current_user, Action.MANAGE, partnership.id)

    def render_list() -> str:
        views = service.list_changes(partnership.id, today, **filters, sort=sort)
        return render_template(
            "changes/_list.html",
            partnership=partnership,
            changes=views,
            filters=filters,
            filtered=any(filters.values()),
            sort=sort,
            soon_count=sum(1 for view in views if view.going_live_soon),
            regions=service.regions_in_scope(partnership.id),
            type_choices=TYPE_CHOICES,
            status_choices=STATUS_CHOICES,
            today=today,
            may_log=may_log,
            may_manage=may_manage,
        )

    return render_template(
        "changes/index.html",
        partnership=partnership,
        filters=filters,
        sort=sort,
        may_log=may_log,
        content=page_parts.default_view(
            "changes.index", partnership.id, (today, may_log, may_manage), render_list
        ),
    )


@bp.get("/export.csv")
@auth_required()
def export(partnership_id: int):
    partnership = get_partnership(partnership_id)
    today = utc_today()
    views = service.list_changes(partnership.id, today, **_filters(partnership), sort=_sort())
    slug = slug_of(partnership.name)
    return csv_response(
        f"changes-{slug}-{today}.csv", service.CSV_COLUMNS, service.change_rows(views)
    )


@bp.route("/new", methods=["GET", "POST"])
@auth_required()
def new(partnership_id: int):
    partnership = get_partnership(partnership_id, Action.LOG_WINS_AND_CHANGES)
    form = ChangeForm()
    _set_choices(form, partnership)
    if form.validate_on_submit():
        try:
            change = service.log_change(current_user, partnership, **_form_values(form))
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            flash(f"Change “{change.title}” logged.", "success")
            return redirect(url_for(".show", partnership_id=partnership.id, change_id=change.id))
    return render_template("changes/form.html", partnership=partnership, form=form, change=None)


@bp.get("/<int:change_id>")
@auth_required()
def show(partnership_id: int, change_id: int):
    change = get_object(Change, change_id, partnership_id)
    partnership = get_partnership(partnership_id)
    today = utc_today()
    may_manage = can(current_user, Action.MANAGE, partnership.id)
    may_see_history = audit_log.may_see_history(current_user, partnership.id)

    def render_change() -> str:
        return render_template(
            "changes/_show.html",
            partnership=partnership,
            change=service.change_view(change, today),
            may_manage=may_manage,
        )

    return render_template(
        "changes/show.html",
        partnership=partnership,
        change=change,
        content=page_parts.default_view(
            "changes.show",
            partnership.id,
            (change.id, today, may_manage, may_see_history),
            render_change,
        ),
    )


@bp.route("/<int:change_id>/edit", methods=["GET", "POST"])
@auth_required()
def edit(partnership_id: int, change_id: int):
    change = get_object(Change, change_id, partnership_id, Action.MANAGE)
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = EditChangeForm(obj=None if request.method == "POST" else change)
    _set_choices(form, partnership, change)
    if not form.is_submitted():
        form.change_type.data = change.change_type.value
        form.status.data = change.status.value
        form.owner_id.data = change.owner_id or NO_OWNER
        form.region_ids.data = [region.id for region in change.regions]
        form.version.data = str(change.version)
    conflict = conflict_message = None
    if form.validate_on_submit():
        try:
            service.update_change(
                current_user,
                change,
                **_form_values(form),
                expected_version=to_int(form.version.data),
            )
        except ValidationFailed as error:
            attach_error(form, error)
        except Conflict as error:
            conflict = service.change_view(change, utc_today())
            conflict_message = str(error)
            # Saving again now is a deliberate choice to replace what is shown as current.
            form.version.data = str(conflict.version)
        else:
            flash(f"Change “{change.title}” saved.", "success")
            return redirect(
                url_for(
                    ".show",
                    **lists.with_next({"partnership_id": partnership.id, "change_id": change.id}),
                )
            )
    return render_template(
        "changes/form.html",
        partnership=partnership,
        form=form,
        change=change,
        conflict=conflict,
        conflict_message=conflict_message,
    )


@bp.route("/<int:change_id>/delete", methods=["GET", "POST"])
@auth_required()
def delete(partnership_id: int, change_id: int):
    change = get_object(Change, change_id, partnership_id, Action.MANAGE)
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = DeleteForm()
    if not form.is_submitted():
        form.version.data = str(change.version)
    conflict_message = None
    if form.validate_on_submit():
        title = change.title
        try:
            service.delete_change(current_user, change, expected_version=to_int(form.version.data))
        except Conflict as error:
            conflict_message = str(error) + " Look at it again before deleting it."
            form.version.data = str(change.version)
        else:
            flash(f"Change “{title}” deleted.", "success")
            return redirect(url_for(".index", partnership_id=partnership.id))
    return render_template(
        "changes/delete.html",
        partnership=partnership,
        form=form,
        change=service.change_view(change, utc_today()),
        conflict_message=conflict_message,
    )
