"""Sending e-mail through SMTP (Flask-Mail); the one place that builds outgoing messages."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from flask import current_app, has_request_context, render_template
from flask_mail import Message

from mls_tracker.extensions import mail


def templated_message(to: str, subject: str, template: str, **context: object) -> Message:
    """A plain-text and HTML message rendered from ``templates/email/<template>.txt|html``."""
    return Message(
        subject=subject,
        recipients=[to],
        body=render_template(f"email/{template}.txt", **context),
        html=render_template(f"email/{template}.html", **context),
    )


def send_templated(to: str, subject: str, template: str, **context: object) -> None:
    mail.send(templated_message(to, subject, template, **context))


# Set in the WSGI environ of the request ``external_links`` makes: that request's links use
# its base URL (a client cannot set an environ key of this shape).
EXTERNAL_URL_KEY = "mls_tracker.external_url"


def default_base_url() -> str:
    """Where the app is served (EXTERNAL_URL): every link in an e-mail starts with it."""
    return str(current_app.config["EXTERNAL_URL"])


@contextlib.contextmanager
def external_links(base_url: str | None = None) -> Iterator[None]:
    """A context in which ``url_for(..., _external=True)`` gives links that work from a mail
    client: ``base_url`` if given (the command line's ``--base-url``), else the configured
    EXTERNAL_URL — never the Host a request names. Inside a request nothing needs doing for
    the configured address: the app builds every external URL from it
    (``mls_tracker._Tracker.create_url_adapter``)."""
    if base_url is None and has_request_context():
        yield
        return
    base = (base_url or default_base_url()).rstrip("/")
    with current_app.test_request_context(
        "/", base_url=base, environ_overrides={EXTERNAL_URL_KEY: base}
    ):
        yield
