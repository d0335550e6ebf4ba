"""Expectations: the list by category (and its CSV), one expectation's history, and agreeing,
rewording and revisiting expectations."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_security import auth_required

from mls_tracker import lists, page_parts
from mls_tracker.access import Action, can, get_object, get_partnership
from mls_tracker.expectations.forms import (
    CATEGORY_CHOICES,
    EditExpectationForm,
    ExpectationForm,
    RevisitForm,
)
from mls_tracker.exports import csv_response
from mls_tracker.exports import slug as slug_of
from mls_tracker.formhelp import attach_error, to_int
from mls_tracker.models import Expectation, ExpectationCategory, Side
from mls_tracker.periods import Month, utc_today
from mls_tracker.services import audit_log
from mls_tracker.services import expectations as service
from mls_tracker.services.errors import Conflict, ValidationFailed

bp = Blueprint(
    "expectations", __name__, url_prefix="/partnerships/<int:partnership_id>/expectations"
)

DEFAULT_REVISIT_MONTHS = 12


def _filters() -> dict:
    """The list's filters from the query string; unknown values are ignored."""
    category = request.args.get("category", "")
    side = request.args.get("side", "")
    return {
        "category": ExpectationCategory(category)
        if category in {c.value for c in ExpectationCategory}
        else None,
        "owner_side": Side(side) if side in {s.value for s in Side} else None,
        "due_only": request.args.get("due") == "1",
    }


def _add_months(day: dt.date, months: int) -> dt.date:
    month = Month.of(day).shift(months)
    return dt.date(month.year, month.month, min(day.day, month.last_day.day))


@bp.get("/")
@auth_required()
def index(partnership_id: int):
    partnership = get_partnership(partnership_id)
    today = utc_today()
    filters = _filters()
    may_manage = can(current_user, Action.MANAGE, partnership.id)

    def render_list() -> str:
        views = service.list_expectations(partnership.id, today, **filters)
        return render_template(
            "expectations/_list.html",
            partnership=partnership,
            groups=service.grouped_by_category(views),
            count=len(views),
            due_count=sum(1 for view in views if view.due_for_review),
            filters=filters,
            filtered=any(filters.values()),
            category_choices=CATEGORY_CHOICES,
            today=today,
            may_manage=may_manage,
        )

    return render_template(
        "expectations/index.html",
        partnership=partnership,
        filters=filters,
        may_manage=may_manage,
        content=page_parts.default_view(
            "expectations.index", partnership.id, (today, may_manage), render_list
        ),
    )


@bp.get("/export.csv")
@auth_required()
def export(partnership_id: int):
    partnership = get_partnership(partnership_id)
    today = utc_today()
    views = service.list_expectations(partnership.id, today, **_filters())
    slug = slug_of(partnership.name)
    return csv_response(
        f"expectations-{slug}-{today}.csv", service.CSV_COLUMNS, service.expectation_rows(views)
    )


@bp.route("/new", methods=["GET", "POST"])
@auth_required()
def new(partnership_id: int):
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = ExpectationForm()
    if not form.is_submitted():
        today = utc_today()
        form.agreed_on.data = today
        form.revisit_by.data = _add_months(today, DEFAULT_REVISIT_MONTHS)
        category = request.args.get("category")
        if category in {c.value for c in ExpectationCategory}:
            form.category.data = category
    if form.validate_on_submit():
        try:
            expectation = service.create_expectation(
                current_user,
                partnership,
                category=form.category.data,
                statement=form.statement.data,
                owner_side=form.owner_side.data,
                agreed_on=form.agreed_on.data,
                revisit_by=form.revisit_by.data,
            )
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            flash("Expectation recorded.", "success")
            return redirect(
                url_for(".show", partnership_id=partnership.id, expectation_id=expectation.id)
            )
    return render_template(
        "expectations/form.html", partnership=partnership, form=form, expectation=None
    )


@bp.get("/<int:expectation_id>")
@auth_required()
def show(partnership_id: int, expectation_id: int):
    expectation = get_object(Expectation, expectation_id, partnership_id)
    partnership = get_partnership(partnership_id)
    today = utc_today()
    may_manage = can(current_user, Action.MANAGE, partnership.id)
    may_see_history = audit_log.may_see_history(current_user, partnership.id)

    def render_expectation() -> str:
        return render_template(
            "expectations/_show.html",
            partnership=partnership,
            expectation=service.view_of(expectation, today),
            history=service.history(expectation),
            may_manage=may_manage,
        )

    return render_template(
        "expectations/show.html",
        partnership=partnership,
        expectation=expectation,
        content=page_parts.default_view(
            "expectations.show",
            partnership.id,
            (expectation.id, today, may_manage, may_see_history),
            render_expectation,
        ),
    )


@bp.route("/<int:expectation_id>/edit", methods=["GET", "POST"])
@auth_required()
def edit(partnership_id: int, expectation_id: int):
    expectation = get_object(Expectation, expectation_id, partnership_id, Action.MANAGE)
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = EditExpectationForm()
    if not form.is_submitted():
        form.category.data = expectation.category.value
        form.statement.data = expectation.statement
        form.owner_side.data = expectation.owner_side.value
        form.agreed_on.data = expectation.agreed_on
        form.revisit_by.data = expectation.revisit_by
        form.version.data = str(expectation.version)
    conflict = conflict_message = None
    if form.validate_on_submit():
        try:
            service.update_expectation(
                current_user,
                expectation,
                category=form.category.data,
                statement=form.statement.data,
                owner_side=form.owner_side.data,
                agreed_on=form.agreed_on.data,
                revisit_by=form.revisit_by.data,
                expected_version=to_int(form.version.data),
            )
        except ValidationFailed as error:
            attach_error(form, error)
        except Conflict as error:
            conflict = service.view_of(expectation, utc_today())
            conflict_message = str(error)
            # Saving again now is a deliberate choice to replace what is shown as current.
            form.version.data = str(conflict.version)
        else:
            flash("Expectation saved.", "success")
            return redirect(
                url_for(
                    ".show",
                    **lists.with_next(
                        {"partnership_id": partnership.id, "expectation_id": expectation.id}
                    ),
                )
            )
    return render_template(
        "expectations/form.html",
        partnership=partnership,
        form=form,
        expectation=expectation,
        conflict=conflict,
        conflict_message=conflict_message,
    )


@bp.route("/<int:expectation_id>/revisit", methods=["GET", "POST"])
@auth_required()
def revisit(partnership_id: int, expectation_id: int):
    expectation = get_object(Expectation, expectation_id, partnership_id, Action.MANAGE)
    partnership = get_partnership(partnership_id, Action.MANAGE)
    today = utc_today()
    form = RevisitForm()
    if not form.is_submitted():
        form.revisited_on.data = today
        form.next_revisit_by.data = _add_months(today, DEFAULT_REVISIT_MONTHS)
        form.version.data = str(expectation.version)
    conflict = conflict_message = None
    if form.validate_on_submit():
        try:
            service.revisit_expectation(
                current_user,
                expectation,
                revisited_on=form.revisited_on.data,
                next_revisit_by=form.next_revisit_by.data,
                note=form.note.data,
                today=today,
                expected_version=to_int(form.version.data),
            )
        except ValidationFailed as error:
            attach_error(form, error)
        except Conflict as error:
            conflict = service.view_of(expectation, today)
            conflict_message = str(error)
            form.version.data = str(conflict.version)
        else:
            flash(
                f"Marked revisited; next revisit by {expectation.revisit_by.day} "
                f"{expectation.revisit_by:%b %Y}.",
                "success",
            )
            # Opened from the filtered list ("Mark revisited"): back to it.
            return redirect(
                lists.return_to(
                    url_for(".show", partnership_id=partnership.id, expectation_id=expectation.id)
                )
            )
    return render_template(
        "expectations/revisit.html",
        partnership=partnership,
        form=form,
        expectation=service.view_of(expectation, today),
        conflict=conflict,
        conflict_message=conflict_message,
    )
