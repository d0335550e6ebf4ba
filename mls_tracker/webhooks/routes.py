"""Webhooks pages: a partnership's endpoints (leads and admins only), each endpoint's
delivery log, sending a test event, redelivery, rotating the secret, disabling and deleting."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_security import auth_required

from mls_tracker.access import Action, can, get_partnership
from mls_tracker.formhelp import attach_error, to_int
from mls_tracker.services import webhooks as service
from mls_tracker.services.errors import ValidationFailed
from mls_tracker.webhooks.forms import ButtonForm, DeleteForm, EndpointForm

bp = Blueprint("webhooks", __name__, url_prefix="/partnerships/<int:partnership_id>/webhooks")


@bp.app_template_global()
def may_manage_webhooks(partnership_id: int) -> bool:
    """Whether the partnership's tabs show Webhooks to the signed-in user."""
    return can(current_user, Action.MANAGE, partnership_id)


@bp.get("/")
@auth_required()
def index(partnership_id: int):
    partnership = get_partnership(partnership_id, Action.MANAGE)
    return render_template(
        "webhooks/index.html",
        partnership=partnership,
        endpoints=service.list_endpoints(current_user, partnership.id),
        events=service.EVENTS,
    )


def _secret_page(partnership, endpoint, secret: str, created: bool):
    return render_template(
        "webhooks/secret.html",
        partnership=partnership,
        endpoint=endpoint,
        secret=secret,
        created=created,
    )


def _typed(form: EndpointForm) -> tuple[str, list[str], str | None]:
    """What the endpoint form holds, in the order the create and update services take it."""
    return form.url.data, form.events.data or [], form.description.data


@bp.route("/new", methods=["GET", "POST"])
@auth_required()
def new(partnership_id: int):
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = EndpointForm()
    if not form.is_submitted():
        form.events.data = list(service.EVENTS)
    if form.validate_on_submit():
        try:
            endpoint, secret = service.create_endpoint(current_user, partnership.id, *_typed(form))
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            return _secret_page(partnership, endpoint, secret, created=True)
    return render_template("webhooks/form.html", partnership=partnership, form=form, endpoint=None)


@bp.get("/<int:endpoint_id>")
@auth_required()
def show(partnership_id: int, endpoint_id: int):
    partnership = get_partnership(partnership_id, Action.MANAGE)
    endpoint = service.get_endpoint(current_user, partnership.id, endpoint_id)
    log = service.delivery_log(
        current_user, partnership.id, endpoint.id, to_int(request.args.get("page")) or 1
    )
    return render_template(
        "webhooks/show.html",
        partnership=partnership,
        endpoint=endpoint,
        log=log,
        events=service.EVENTS,
        button=ButtonForm(),
    )


@bp.route("/<int:endpoint_id>/edit", methods=["GET", "POST"])
@auth_required()
def edit(partnership_id: int, endpoint_id: int):
    partnership = get_partnership(partnership_id, Action.MANAGE)
    endpoint = service.get_endpoint(current_user, partnership.id, endpoint_id)
    form = EndpointForm(obj=None if request.method == "POST" else endpoint)
    if form.validate_on_submit():
        try:
            service.update_endpoint(current_user, partnership.id, endpoint.id, *_typed(form))
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            flash("Endpoint saved.", "success")
            return redirect(
                url_for(".show", partnership_id=partnership.id, endpoint_id=endpoint.id)
            )
    return render_template(
        "webhooks/form.html", partnership=partnership, form=form, endpoint=endpoint
    )


def _back(partnership_id: int, endpoint_id: int):
    return redirect(url_for(".show", partnership_id=partnership_id, endpoint_id=endpoint_id))


@bp.post("/<int:endpoint_id>/test")
@auth_required()
def send_test(partnership_id: int, endpoint_id: int):
    get_partnership(partnership_id, Action.MANAGE)
    if ButtonForm().validate_on_submit():
        result = service.send_test(current_user, partnership_id, endpoint_id)
        if result.state == "delivered":
            flash(
                f"Test event delivered: HTTP {result.status} in {result.duration_ms} ms.", "success"
            )
        else:
            reason = f"HTTP {result.status}" if result.status else result.error
            flash(f"Test event not delivered: {reason}.", "danger")
    return _back(partnership_id, endpoint_id)


@bp.post("/<int:endpoint_id>/rotate")
@auth_required()
def rotate(partnership_id: int, endpoint_id: int):
    partnership = get_partnership(partnership_id, Action.MANAGE)
    if not ButtonForm().validate_on_submit():
        return _back(partnership_id, endpoint_id)
    secret = service.rotate_secret(current_user, partnership.id, endpoint_id)
    endpoint = service.get_endpoint(current_user, partnership.id, endpoint_id)
    return _secret_page(partnership, endpoint, secret, created=False)


@bp.post("/<int:endpoint_id>/enable")
@auth_required()
def enable(partnership_id: int, endpoint_id: int):
    get_partnership(partnership_id, Action.MANAGE)
    if ButtonForm().validate_on_submit():
        service.set_enabled(current_user, partnership_id, endpoint_id, True)
        flash("Endpoint enabled: events are sent to it again.", "success")
    return _back(partnership_id, endpoint_id)


@bp.post("/<int:endpoint_id>/disable")
@auth_required()
def disable(partnership_id: int, endpoint_id: int):
    get_partnership(partnership_id, Action.MANAGE)
    if ButtonForm().validate_on_submit():
        service.set_enabled(current_user, partnership_id, endpoint_id, False)
        flash("Endpoint disabled: no events are sent to it until it is enabled.", "success")
    return _back(partnership_id, endpoint_id)


@bp.route("/<int:endpoint_id>/delete", methods=["GET", "POST"])
@auth_required()
def delete(partnership_id: int, endpoint_id: int):
    partnership = get_partnership(partnership_id, Action.MANAGE)
    endpoint = service.get_endpoint(current_user, partnership.id, endpoint_id)
    form = DeleteForm()
    if form.validate_on_submit():
        service.delete_endpoint(current_user, partnership.id, endpoint.id)
        flash("Endpoint deleted, with its delivery log.", "success")
        return redirect(url_for(".index", partnership_id=partnership.id))
    return render_template(
        "webhooks/delete.html", partnership=partnership, endpoint=endpoint, form=form
    )


@bp.post("/<int:endpoint_id>/deliveries/<int:delivery_id>/redeliver")
@auth_required()
def redeliver(partnership_id: int, endpoint_id: int, delivery_id: int):
    get_partnership(partnership_id, Action.MANAGE)
    if ButtonForm().validate_on_submit():
        try:
            service.redeliver(current_user, partnership_id, endpoint_id, delivery_id)
        except ValidationFailed as error:
            flash(str(error), "danger")
        else:
            flash("Delivery queued again.", "success")
    return _back(partnership_id, endpoint_id)
