"""Wins: the list (sorted, filtered, as CSV), one win, and logging, editing and deleting
wins."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_security import auth_required

from mls_tracker import lists, page_parts
from mls_tracker.access import Action, can, get_object, get_partnership
from mls_tracker.exports import csv_response
from mls_tracker.exports import slug as slug_of
from mls_tracker.formhelp import attach_error, to_int
from mls_tracker.models import Partnership, Win
from mls_tracker.periods import utc_today
from mls_tracker.services import audit_log
from mls_tracker.services import changes as changes_service
from mls_tracker.services import wins as service
from mls_tracker.services.errors import Conflict, ValidationFailed
from mls_tracker.wins.forms import NO_REGION, DeleteForm, EditWinForm, WinForm

bp = Blueprint("wins", __name__, url_prefix="/partnerships/<int:partnership_id>/wins")


def _filters(partnership: Partnership) -> dict:
    """The list's filters from the query string; unknown values are ignored."""
    region_id = to_int(request.args.get("region"))
    return {
        # the regions in scope are read only when one is asked for
        "region_id": region_id
        if region_id is not None and region_id in {region.id for region in partnership.regions}
        else None,
        "shareable_only": request.args.get("shareable") == "1",
    }


def _sort() -> str:
    sort = request.args.get("sort", "")
    return sort if sort in service.SORTS else service.SORTS[0]


def _set_choices(form: WinForm, partnership: Partnership, win: Win | None = None) -> None:
    regions = [
        (region.id, region.name) for region in changes_service.regions_in_scope(partnership.id)
    ]
    if win is not None and win.region is not None and win.region_id not in dict(regions):
        regions.append((win.region_id, f"{win.region.name} (no longer in scope)"))
    form.region_id.choices = [(NO_REGION, "No particular region"), *regions]


def _form_values(form: WinForm) -> dict:
    return {
        "title": form.title.data,
        "story": form.story.data,
        "won_on": form.won_on.data,
        "region_id": form.region_id.data or None,
        "measurable_impact": form.measurable_impact.data,
        "shareable": form.shareable.data,
    }


@bp.get("/")
@auth_required()
def index(partnership_id: int):
    partnership = get_partnership(partnership_id)
    filters = _filters(partnership)
    sort = _sort()
    may_log = can(current_user, Action.LOG_WINS_AND_CHANGES, partnership.id)
    may_manage = can(current_user, Action.MANAGE, partnership.id)

    def render_list() -> str:
        views = service.list_wins(partnership.id, **filters, sort=sort)
        return render_template(
            "wins/_list.html",
            partnership=partnership,
            wins=views,
            filters=filters,
            filtered=any(filters.values()),
            sort=sort,
            shareable_count=sum(1 for view in views if view.shareable),
            regions=changes_service.regions_in_scope(partnership.id),
            may_log=may_log,
            may_manage=may_manage,
        )

    return render_template(
        "wins/index.html",
        partnership=partnership,
        filters=filters,
        sort=sort,
        may_log=may_log,
        content=page_parts.default_view(
            "wins.index", partnership.id, (utc_today(), may_log, may_manage), render_list
        ),
    )


@bp.get("/export.csv")
@auth_required()
def export(partnership_id: int):
    partnership = get_partnership(partnership_id)
    views = service.list_wins(partnership.id, **_filters(partnership), sort=_sort())
    slug = slug_of(partnership.name)
    return csv_response(
        f"wins-{slug}-{utc_today()}.csv", service.CSV_COLUMNS, service.win_rows(views)
    )


@bp.route("/new", methods=["GET", "POST"])
@auth_required()
def new(partnership_id: int):
    partnership = get_partnership(partnership_id, Action.LOG_WINS_AND_CHANGES)
    form = WinForm()
    _set_choices(form, partnership)
    if not form.is_submitted():
        form.won_on.data = utc_today()
    if form.validate_on_submit():
        try:
            win = service.log_win(current_user, partnership, utc_today(), **_form_values(form))
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            flash(f"Win “{win.title}” logged.", "success")
            return redirect(url_for(".show", partnership_id=partnership.id, win_id=win.id))
    return render_template("wins/form.html", partnership=partnership, form=form, win=None)


@bp.get("/<int:win_id>")
@auth_required()
def show(partnership_id: int, win_id: int):
    win = get_object(Win, win_id, partnership_id)
    partnership = get_partnership(partnership_id)
    may_manage = can(current_user, Action.MANAGE, partnership.id)
    may_see_history = audit_log.may_see_history(current_user, partnership.id)

    def render_win() -> str:
        return render_template(
            "wins/_show.html",
            partnership=partnership,
            win=service.win_view(win),
            may_manage=may_manage,
        )

    return render_template(
        "wins/show.html",
        partnership=partnership,
        win=win,
        content=page_parts.default_view(
            "wins.show", partnership.id, (win.id, may_manage, may_see_history), render_win
        ),
    )


@bp.route("/<int:win_id>/edit", methods=["GET", "POST"])
@auth_required()
def edit(partnership_id: int, win_id: int):
    win = get_object(Win, win_id, partnership_id, Action.MANAGE)
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = EditWinForm(obj=None if request.method == "POST" else win)
    _set_choices(form, partnership, win)
    if not form.is_submitted():
        form.region_id.data = win.region_id or NO_REGION
        form.version.data = str(win.version)
    conflict = conflict_message = None
    if form.validate_on_submit():
        try:
            service.update_win(
                current_user,
                win,
                utc_today(),
                **_form_values(form),
                expected_version=to_int(form.version.data),
            )
        except ValidationFailed as error:
            attach_error(form, error)
        except Conflict as error:
            conflict = service.win_view(win)
            conflict_message = str(error)
            # Saving again now is a deliberate choice to replace what is shown as current.
            form.version.data = str(conflict.version)
        else:
            flash(f"Win “{win.title}” saved.", "success")
            return redirect(
                url_for(
                    ".show", **lists.with_next({"partnership_id": partnership.id, "win_id": win.id})
                )
            )
    return render_template(
        "wins/form.html",
        partnership=partnership,
        form=form,
        win=win,
        conflict=conflict,
        conflict_message=conflict_message,
    )


@bp.route("/<int:win_id>/delete", methods=["GET", "POST"])
@auth_required()
def delete(partnership_id: int, win_id: int):
    win = get_object(Win, win_id, partnership_id, Action.MANAGE)
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = DeleteForm()
    if not form.is_submitted():
        form.version.data = str(win.version)
    conflict_message = None
    if form.validate_on_submit():
        title = win.title
        try:
            service.delete_win(current_user, win, expected_version=to_int(form.version.data))
        except Conflict as error:
            conflict_message = str(error) + " Look at it again before deleting it."
            form.version.data = str(win.version)
        else:
            flash(f"Win “{title}” deleted.", "success")
            return redirect(url_for(".index", partnership_id=partnership.id))
    return render_template(
        "wins/delete.html",
        partnership=partnership,
        form=form,
        win=service.win_view(win),
        conflict_message=conflict_message,
    )
