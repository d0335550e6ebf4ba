"""First run: the one-time set-up link that creates the first administrator, then the walk to the
first partnership."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_security import login_user

from mls_tracker.formhelp import attach_error
from mls_tracker.services import setup as service
from mls_tracker.services.errors import ValidationFailed
from mls_tracker.services.invitations import save_sign_in
from mls_tracker.setup.forms import FirstAdminForm

bp = Blueprint("setup", __name__, url_prefix="/setup")


@bp.app_template_global()
def setup_needed() -> bool:
    """Whether nobody has an account yet (the sign-in page says how to set the app up). A
    function, so that only the template that calls it makes the query."""
    return not service.has_users()


@bp.route("/<token>", methods=["GET", "POST"])
def first_admin(token: str):
    # A forged, expired or used link (anyone has an account) is a plain 404: nobody learns
    # that a set-up page exists.
    service.check_token(token)
    form = FirstAdminForm()
    if form.validate_on_submit():
        try:
            user = service.create_first_admin(
                token,
                display_name=form.display_name.data,
                email=form.email.data,
                password=form.password.data,
            )
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            login_user(user, authn_via=["setup"])
            save_sign_in()
            flash(
                f"Welcome, {user.display_name}. You are the administrator of this MLS Tracker: "
                "here is how to get it ready.",
                "success",
            )
            return redirect(url_for("admin.index"))
    return render_template("setup/first_admin.html", form=form)
