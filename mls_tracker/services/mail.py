"""Sending e-mail through SMTP (Flask-Mail); the one place that builds outgoing messages."""

from __future__ import annotations

from flask import render_template
from flask_mail import Message

from mls_tracker.extensions import mail


def send_templated(to: str, subject: str, template: str, **context: object) -> None:
    """Send a plain-text and HTML message rendered from ``templates/email/<template>.txt|html``."""
    message = Message(
        subject=subject,
        recipients=[to],
        body=render_template(f"email/{template}.txt", **context),
        html=render_template(f"email/{template}.html", **context),
    )
    mail.send(message)
