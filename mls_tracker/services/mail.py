"""Sending e-mail through SMTP (Flask-Mail); the one place that builds outgoing messages."""

from __future__ import annotations

from flask import render_template
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
