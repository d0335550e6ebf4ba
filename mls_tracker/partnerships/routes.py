"""Partnership list, the partnership overview (tiles, health, charts, needs attention) with
its charts' data as CSV, the people page, the health weights, the client's logo, and inviting
people."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_security import auth_required
from markupsafe import Markup

from mls_tracker import page_parts
from mls_tracker.access import Action, can, get_partnership, role_in
from mls_tracker.auth import invitation_actions
from mls_tracker.auth.forms import InviteForm
from mls_tracker.exports import csv_response
from mls_tracker.formatting import viewer_zone
from mls_tracker.formhelp import attach_error, to_int
from mls_tracker.models import Partnership, Role
from mls_tracker.partnerships import overview
from mls_tracker.partnerships.forms import WEIGHT_FIELDS, LogoForm, RemoveLogoForm, WeightsForm
from mls_tracker.periods import utc_today
from mls_tracker.services import audit_log, data_version, delivery, logos, partnerships
from mls_tracker.services.errors import Conflict, ValidationFailed
from mls_tracker.services.health import ComponentKey, health_score, partnership_weights
from mls_tracker.services.invitations import invite_person

bp = Blueprint("partnerships", __name__, url_prefix="/partnerships")

# The tabs of a partnership as each kind of viewer sees them: a few hundred bytes each.
_TABS = data_version.Memo(256)


@bp.app_template_global()
def partnership_tabs(partnership: Partnership, section: str) -> Markup:
    """The partnership's tabs (partnerships/_tabs.html, on nearly every partnership page)
    remembered by everything they show: the partnership's name and archiving, the section,
    whether the viewer may manage (the Webhooks tab) and is an administrator (reopening an
    archived one), the viewer's zone (the archiving date) and the application's root."""
    webhooks = can(current_user, Action.MANAGE, partnership.id)
    is_admin = bool(getattr(current_user, "is_admin", False))
    archived = partnership.archived_at
    key = (
        partnership.id,
        partnership.name,
        section,
        webhooks,
        is_admin,
        archived,
        str(viewer_zone()) if archived else None,
        request.script_root,
    )
    tabs = _TABS.get(key)
    if tabs is None:
        tabs = page_parts.rendered(
            "partnerships/_tabs.html",
            partnership=partnership,
            section=section,
            webhooks=webhooks,
            is_admin=is_admin,
        )
        _TABS.put(key, tabs)
    return tabs


@bp.get("/")
@auth_required()
def index():
    """One page of the partnerships the user may see, sorted in SQL over all of them. Plain
    rows, not ORM objects: the template only reads fields (four queries, whatever the size).
    The default view is remembered per user, day and newest audit entry of the installation
    (every write it shows is audited: partnerships, their regions, memberships, organisations,
    regions, the user); a view with query arguments is rendered each time."""

    def render_list() -> Markup:
        listing = partnerships.list_partnerships(
            current_user,
            sort=request.args.get("sort", "name"),
            page=request.args.get("page"),
            archived=request.args.get("archived") == "1",
        )
        return page_parts.rendered(
            "partnerships/_index.html",
            partnerships=listing.rows,
            regions=listing.regions,
            roles=listing.roles,
            sort=listing.sort,
            page=listing.window.number,
            pages=listing.window.pages,
            total=listing.window.total,
            first=listing.first,
            last=listing.last,
            archived_shown=listing.archived_shown,
            archived_count=listing.archived_count,
        )

    if request.args:
        content = render_list()
    else:
        content = data_version.remembered_across(
            "partnerships.index", (current_user.id, utc_today()), render_list
        )
    return render_template("partnerships/index.html", content=content)


@bp.get("/<int:partnership_id>")
@auth_required()
def show(partnership_id: int):
    """The overview: the reviewed month's tiles and health score, the charts, and what needs
    attention."""
    partnership = get_partnership(partnership_id)
    page = overview.overview_page(partnership, utc_today())
    may_manage = can(current_user, Action.MANAGE, partnership.id)  # never when archived
    content = page.content(
        may_manage,
        lambda: render_template(
            "partnerships/_overview.html",
            partnership=partnership,
            overview=page.overview,
            chart_views=page.charts,
            may_manage=may_manage,
            setup=page.setup,
            delivery=delivery.overview_figures(partnership, page.overview.month),
        ),
    )
    return render_template(
        "partnerships/show.html",
        partnership=partnership,
        client_name=page.client_name,
        provider_name=page.provider_name,
        my_role=role_in(current_user, partnership.id),
        may_manage=may_manage,
        may_see_history=audit_log.may_see_history(current_user, partnership.id),
        content=content,
        with_charts=page.with_charts,
    )


@bp.get("/<int:partnership_id>/charts/<chart>.csv")
@auth_required()
def chart_data(partnership_id: int, chart: str):
    """The data behind one chart of the overview."""
    partnership = get_partnership(partnership_id)
    spec = overview.CHARTS_BY_KEY.get(chart)
    if spec is None:
        abort(404)
    rows = overview.chart_rows(spec, partnership, utc_today())
    return csv_response(f"partnership-{partnership.id}-{spec.key}.csv", spec.header, rows)


@bp.get("/<int:partnership_id>/people")
@auth_required()
def people(partnership_id: int):
    """The partnership's facts, its people by role, its active sponsors by region and, for
    leads, the pending invitations."""
    partnership = get_partnership(partnership_id)
    today = utc_today()
    # Invitations expire by the minute: read each time, and the body remembered per list.
    pending = partnerships.pending_invitations(current_user, partnership.id)
    my_role = role_in(current_user, partnership.id)

    def render_body() -> str:
        people = partnerships.people_of(current_user, partnership.id, today)
        return render_template(
            "partnerships/_people.html",
            partnership=partnership,
            members=people.members,
            sponsors=people.sponsors,
            pending=pending,
            my_role=my_role,
            may_invite=people.may_invite,
        )

    # Leads' pending invitations carry forms (send again, withdraw): remembered without the
    # session's CSRF token.
    content = page_parts.default_view_with_forms(
        "partnerships.people",
        partnership.id,
        (today, current_user.id, my_role, current_user.is_admin, tuple(i.id for i in pending)),
        render_body,
    )
    return render_template("partnerships/people.html", partnership=partnership, content=content)


@bp.route("/<int:partnership_id>/invite", methods=["GET", "POST"])
@auth_required()
def invite(partnership_id: int):
    partnership = get_partnership(partnership_id, Action.INVITE)
    form = InviteForm()
    if form.validate_on_submit():
        try:
            invitation = invite_person(
                current_user,
                partnership,
                form.email.data,
                Role(form.role.data),
                form.display_name.data,
            )
        except ValidationFailed as error:
            getattr(form, error.field or "email").errors.append(str(error))
        else:
            flash(
                f"Invitation sent to {invitation.email} as {invitation.role}. "
                "The link works once and expires in 7 days.",
                "success",
            )
            return redirect(url_for(".people", partnership_id=partnership.id))
    return render_template("partnerships/invite.html", partnership=partnership, form=form)


def _pending_list(partnership_id: int) -> str:
    return url_for(".people", partnership_id=partnership_id) + "#pending-heading"


@bp.post("/<int:partnership_id>/invitations/<int:invitation_id>/send-again")
@auth_required()
def send_invitation_again(partnership_id: int, invitation_id: int):
    """A lead e-mails a pending invitation again: a new link, valid for the full period."""
    return invitation_actions.send_again_and_return(
        invitation_id, partnership_id, _pending_list(partnership_id)
    )


@bp.post("/<int:partnership_id>/invitations/<int:invitation_id>/withdraw")
@auth_required()
def withdraw_invitation(partnership_id: int, invitation_id: int):
    """A lead withdraws a pending invitation: its link says so and no longer works."""
    return invitation_actions.withdraw_and_return(
        invitation_id, partnership_id, _pending_list(partnership_id)
    )


@bp.route("/<int:partnership_id>/weights", methods=["GET", "POST"])
@auth_required()
def weights(partnership_id: int):
    """The health score's weights: leads edit them and see the effective percentages."""
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = WeightsForm()
    conflict = None
    if not form.is_submitted():
        for name in WEIGHT_FIELDS.values():
            getattr(form, name).data = getattr(partnership, name)
        form.version.data = str(partnership.version)
    elif form.validate():
        values = {key: getattr(form, name).data for key, name in WEIGHT_FIELDS.items()}
        try:
            partnerships.save_weights(current_user, partnership, values, to_int(form.version.data))
        except ValidationFailed as error:
            attach_error(form, error)
        except Conflict as error:
            conflict = str(error)
            form.version.data = str(partnership.version)
        else:
            flash(
                "Health weights saved: the score uses them from now on, for every month.", "success"
            )
            return redirect(url_for(".show", partnership_id=partnership.id))
    current = partnership_weights(partnership)
    # The effective shares when every component has data.
    shares = health_score(dict.fromkeys(ComponentKey, 0.0), current).components
    return render_template(
        "partnerships/weights.html",
        partnership=partnership,
        form=form,
        fields=[(key, WEIGHT_FIELDS[key]) for key in ComponentKey],
        shares={c.key: c.effective_weight for c in shares},
        conflict=conflict,
    )


@bp.route("/<int:partnership_id>/logo", methods=["GET", "POST"])
@auth_required()
def logo(partnership_id: int):
    """The client's logo (leads and administrators): upload one, see it, replace it."""
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = LogoForm()
    conflict = None
    if form.validate_on_submit():
        data = form.file.data.read(logos.MAX_BYTES + 1)
        try:
            logos.set_logo(current_user, partnership, data, to_int(form.version.data))
        except ValidationFailed as error:
            attach_error(form, error)
        except Conflict as error:
            conflict = str(error)
        else:
            flash(
                "Logo saved: it shows on the partnership's pages and the next scorecards.",
                "success",
            )
            return redirect(url_for(".logo", partnership_id=partnership.id))
    return _logo_page(partnership, form, RemoveLogoForm(formdata=None), conflict)


@bp.post("/<int:partnership_id>/logo/remove")
@auth_required()
def remove_logo(partnership_id: int):
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = RemoveLogoForm()
    conflict = None
    if form.validate_on_submit():
        try:
            logos.remove_logo(current_user, partnership, to_int(form.version.data))
        except Conflict as error:
            conflict = str(error)
        else:
            flash("Logo removed.", "success")
            return redirect(url_for(".logo", partnership_id=partnership.id))
    return _logo_page(partnership, LogoForm(formdata=None), form, conflict)


def _logo_page(partnership, form: LogoForm, remove_form: RemoveLogoForm, conflict: str | None):
    form.version.data = remove_form.version.data = str(partnership.version)
    return render_template(
        "partnerships/logo.html",
        partnership=partnership,
        form=form,
        remove_form=remove_form,
        conflict=conflict,
    )


@bp.get("/<int:partnership_id>/logo.png")
@auth_required()
def logo_image(partnership_id: int):
    """The logo's PNG, for the partnership's members (404 without one)."""
    png, digest = logos.logo_png(current_user, partnership_id)
    response = Response(png, mimetype="image/png")
    response.headers["Content-Disposition"] = "inline"
    response.set_etag(digest)
    return response
