"""Security headers on every response; no caching of anything a signed-in user sees."""

from __future__ import annotations

from flask import Flask, Response, request
from flask_login import current_user

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)


def _set_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    # Browsers ignore HSTS over plain HTTP, so it is safe to send always.
    response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    is_static = request.endpoint in {"static", "bootstrap.static"}
    if not is_static and getattr(current_user, "is_authenticated", False):
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.after_request(_set_headers)
