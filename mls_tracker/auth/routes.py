"""Accepting an invitation (a clear page for every state the link can be in), and
administrators' two-factor requirement."""

from __future__ import annotations

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from flask_security import login_user
from joserfc.errors import JoseError

from mls_tracker.auth import oidc
from mls_tracker.auth.forms import AcceptInvitationForm, JoinForm, SingleSignOnForm
from mls_tracker.errors import error_response, wants_json
from mls_tracker.services import single_sign_on
from mls_tracker.services.errors import ValidationFailed
from mls_tracker.services.invitations import (
    InvitationState,
    accept_invitation,
    account_exists,
    find_invitation,
    save_sign_in,
)
from mls_tracker.sessions import SIGNED_IN_WITH_SSO
from mls_tracker.throttling import count_failed_check, sso_callback_limit

bp = Blueprint("auth", __name__)

# What an administrator without two-factor sign-in may still reach: setting it up (with the
# re-authentication it may ask for), signing out, and the files those pages need.
TWO_FACTOR_SETUP_ENDPOINTS = frozenset(
    {
        "security.two_factor_setup",
        "security.two_factor_setup_validate",
        "security.two_factor_token_validation",
        "security.two_factor_rescue",
        "security.tf_select",
        "security.verify",
        "security.logout",
        "security.static",
        "bootstrap.static",
        "static",
        "healthz",
    }
)


@bp.before_app_request
def require_two_factor_for_administrators():
    """With REQUIRE_ADMIN_2FA (on in production), a signed-in administrator without
    two-factor sign-in is sent to set it up before anything else."""
    if not current_app.config.get("REQUIRE_ADMIN_2FA"):
        return None
    if request.endpoint is None or request.endpoint in TWO_FACTOR_SETUP_ENDPOINTS:
        return None
    if not (current_user.is_authenticated and current_user.is_admin):
        return None
    # Signed in through the identity provider, which asks for its own second factor.
    if current_user.tf_primary_method or session.get(SIGNED_IN_WITH_SSO):
        return None
    if wants_json():
        return error_response(
            403, "Administrators must turn on two-factor sign-in before anything else."
        )
    # The set-up page says why (templates/security/two_factor_setup.html).
    return redirect(url_for("security.two_factor_setup"))


@bp.route("/invitations/<token>", methods=["GET", "POST"], endpoint="accept_invitation")
def accept_invitation_view(token: str):
    state, invitation = find_invitation(token)
    if state is not InvitationState.VALID or invitation is None:
        status = 404 if state is InvitationState.UNKNOWN else 410
        return render_template(
            "auth/invitation_invalid.html", state=state.value, invitation=invitation
        ), status
    # A partnership invitation opens the partnership; a product-level one the partnerships list.
    if invitation.partnership_id is not None:
        landing = url_for("partnerships.show", partnership_id=invitation.partnership_id)
        joined = f"You joined {invitation.partnership.name}."
    else:
        landing = url_for("partnerships.index")
        joined = "Your invitation is accepted."

    if current_user.is_authenticated:
        if current_user.email != invitation.email:
            return render_template("auth/invitation_other_user.html", invitation=invitation), 409
        form = JoinForm()
        if invitation.partnership_id is None:
            form.submit.label.text = "Accept the invitation"
        if form.validate_on_submit():
            accept_invitation(invitation, current_user)
            flash(joined, "success")
            return redirect(landing)
        return render_template("auth/invitation_join.html", invitation=invitation, form=form)

    if account_exists(invitation.email):
        flash("You already have an account: sign in, and the invitation opens again.", "info")
        return redirect(url_for("security.login", next=url_for(".accept_invitation", token=token)))

    form = AcceptInvitationForm()
    form.email_for_check = invitation.email
    if invitation.partnership_id is None:
        form.submit.label.text = "Create account"
    if not form.is_submitted() and invitation.display_name:
        form.display_name.data = invitation.display_name
    if form.validate_on_submit():
        try:
            user = accept_invitation(invitation, None, form.display_name.data, form.password.data)
        except ValidationFailed as error:
            form.password.errors.append(str(error))
        else:
            login_user(user, authn_via=["invitation"])
            save_sign_in()
            flash(f"Welcome, {user.display_name}. {joined}", "success")
            return redirect(landing)
    return render_template("auth/invitation_accept.html", invitation=invitation, form=form)


def _refused(message: str):
    count_failed_check()
    current_app.logger.info("single sign-on refused: %s", message)
    flash(message, "error")
    return redirect(url_for("security.login"))


@bp.post("/auth/sso/login")
def sso_start():
    """Off to the identity provider (authorization code with PKCE, state and nonce)."""
    provider = oidc.client()
    if provider is None:
        abort(404)
    if current_user.is_authenticated:
        return redirect(url_for(current_app.config["SECURITY_POST_LOGIN_VIEW"]))
    if not SingleSignOnForm().validate_on_submit():
        flash("The sign-in page had expired; please try again.", "error")
        return redirect(url_for("security.login"))
    try:
        return provider.authorize_redirect(url_for(".sso_callback", _external=True))
    except requests.RequestException as error:
        current_app.logger.warning("identity provider unreachable: %s", error)
        flash(UNREACHABLE, "error")
        return redirect(url_for("security.login"))


UNREACHABLE = (
    "The identity provider cannot be reached just now. Please try again in a few minutes, "
    "or sign in with your password."
)


@bp.get("/auth/sso/callback")
@sso_callback_limit
def sso_callback():
    """The provider's answer: the ID token checked (signature, issuer, audience, expiry,
    nonce), then the person it names signed in as any password sign-in is."""
    provider = oidc.client()
    if provider is None:
        abort(404)
    if request.args.get("error"):
        return _refused("Single sign-on was cancelled or refused by your identity provider.")
    try:
        token = provider.authorize_access_token(claims_options=oidc.claims_options())
    except MismatchingStateError:
        return _refused(
            "This single sign-on answer does not belong to a sign-in started here, or it was "
            "already used. Please start again."
        )
    except requests.RequestException as error:
        current_app.logger.warning("identity provider unreachable: %s", error)
        flash(UNREACHABLE, "error")
        return redirect(url_for("security.login"))
    except (AuthlibBaseError, JoseError) as error:
        current_app.logger.warning("identity provider answer refused: %r", error)
        return _refused(
            "Your identity provider's answer could not be verified, so you are not signed "
            "in. Please start again."
        )
    claims = token.get("userinfo")
    if not claims or not claims.get("sub"):
        return _refused("Your identity provider did not say who you are. Please start again.")
    identity = single_sign_on.ProviderIdentity(
        issuer=current_app.config["OIDC_ISSUER"],
        subject=str(claims["sub"]),
        email=claims.get("email"),
        email_verified=claims.get("email_verified") is True,
        name=claims.get("name"),
    )
    try:
        user = single_sign_on.user_for_identity(identity)
    except single_sign_on.SignInRefused as error:
        return _refused(str(error))
    login_user(user, authn_via=["sso"])
    session[SIGNED_IN_WITH_SSO] = True
    save_sign_in()
    return redirect(url_for(current_app.config["SECURITY_POST_LOGIN_VIEW"]))
