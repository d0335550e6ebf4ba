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


def default_base_url() -> str:
    """Where the app is served, for links in e-mails sent outside a request."""
    server = current_app.config.get("SERVER_NAME")
    scheme = current_app.config.get("PREFERRED_URL_SCHEME", "http")
    return f"{scheme}://{server}" if server else "http://localhost:5000"


@contextlib.contextmanager
def external_links(base_url: str | None = None) -> Iterator[None]:
    """A context in which ``url_for(..., _external=True)`` gives links that work from a mail
    client: the request's own host, or ``base_url`` (else SERVER_NAME) outside a request —
    the command line or a job worker."""
    if base_url is None and has_request_context():
        yield
        return
    with current_app.test_request_context(
        "/", base_url=(base_url or default_base_url()).rstrip("/")
    ):
        yield
