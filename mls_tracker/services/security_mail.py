"""Password-reset mails, sent by a background job so that a reset request looks the same
whether or not the address has an account.

The request only queues a job with the address typed (:func:`request_password_reset`, for
every well-formed address); the job finds the account, if any, and sends Flask-Security's
reset mail, with links built from the configured external address."""

from __future__ import annotations

from flask_security.recoverable import send_reset_password_instructions

from mls_tracker import jobs
from mls_tracker.extensions import security
from mls_tracker.services import single_sign_on
from mls_tracker.services.mail import external_links

RESET_MAIL_JOB = "password_reset_mail"


def request_password_reset(email: str) -> None:
    """Queues the reset mail for ``email`` (normalised), whether it has an account or not."""
    jobs.submit(RESET_MAIL_JOB, partnership_id=None, user_id=None, params={"email": email})


@jobs.handler(RESET_MAIL_JOB)
def _send_password_reset(ctx: jobs.JobContext) -> None:
    user = security.datastore.find_user(case_insensitive=True, email=ctx.params["email"])
    # The same conditions as Flask-Security's own form: no mail for a disabled or locked
    # account; the job ends the same way either way, so its record tells nothing either.
    # A service account never has a password: it acts through API tokens only; nor people
    # of an organisation that signs in only through single sign-on.
    if (
        user is None
        or not user.is_active
        or user.is_locked()
        or user.is_service_account
        or not single_sign_on.password_sign_in_allowed(user)
    ):
        return
    with external_links():
        send_reset_password_instructions(user)
