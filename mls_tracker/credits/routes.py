"""Service credits: a partnership's credits per month (filtered by months, sorted, as CSV)
with the credit rules they are computed from."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user
from flask_security import auth_required

from mls_tracker import page_parts
from mls_tracker.access import Action, can, get_partnership
from mls_tracker.exports import csv_response
from mls_tracker.exports import slug as slug_of
from mls_tracker.periods import Month, utc_today
from mls_tracker.services import service_credits as service
from mls_tracker.services import slas as slas_service

bp = Blueprint("credits", __name__, url_prefix="/partnerships/<int:partnership_id>/credits")


@bp.context_processor
def _helpers() -> dict:
    return {"sla_value": slas_service.format_value}


@bp.app_template_filter("credit_percent")
def _credit_percent(value) -> str:
    return service.percent_text(value)


def _month_arg(name: str) -> Month | None:
    try:
        return Month.parse(request.args.get(name) or "")
    except ValueError:
        return None


def _range() -> tuple[Month, Month]:
    return service.clamp_range(_month_arg("from"), _month_arg("to"), Month.current(utc_today()))


def _sort() -> str:
    sort = request.args.get("sort", "")
    return sort if sort in service.SORTS else service.SORTS[0]


@bp.get("/")
@auth_required()
def index(partnership_id: int):
    partnership = get_partnership(partnership_id)
    first, last = _range()
    sort = _sort()
    may_manage = can(current_user, Action.MANAGE, partnership.id)
    default_first, default_last = service.default_range(Month.current(utc_today()))

    def render_credits() -> str:
        credits = service.credits_for(partnership.id, first, last)
        return render_template(
            "credits/_credits.html",
            partnership=partnership,
            credits=credits,
            months=service.sorted_months(credits, sort),
            first=first,
            last=last,
            sort=sort,
            filtered=(first, last) != (default_first, default_last),
            may_manage=may_manage,
        )

    key = (utc_today(), first, last, sort, may_manage)
    content = page_parts.default_view("credits.index", partnership.id, key, render_credits)
    return render_template(
        "credits/index.html",
        partnership=partnership,
        first=first,
        last=last,
        sort=sort,
        content=content,
    )


@bp.get("/export.csv")
@auth_required()
def export(partnership_id: int):
    partnership = get_partnership(partnership_id)
    first, last = _range()
    credits = service.credits_for(partnership.id, first, last)
    return csv_response(
        f"service-credits-{slug_of(partnership.name)}-{first}-to-{last}.csv",
        service.CSV_HEADER,
        service.export_rows(credits),
    )
