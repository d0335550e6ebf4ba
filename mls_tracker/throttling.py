"""Slows down password guessing: failed sign-ins and two-factor codes are limited per
account and per address (HTTP 429), with Flask-Limiter."""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from flask_limiter.util import get_remote_address

from mls_tracker.extensions import limiter

GUARDED_ENDPOINTS = ("security.login", "security.two_factor_token_validation")


def _account_key() -> str:
    return "account:" + (request.form.get("email") or "").strip().lower()


def _address_key() -> str:
    return "address:" + (get_remote_address() or "unknown")


def _failed(response: Response) -> bool:
    # A successful sign-in redirects; a failed one shows the form again.
    return response.status_code == 200


# Read at request time, and module-level so that every app registers equal limits
# (Flask-Limiter keeps decorated limits per view name, across apps).
def _per_account() -> str:
    return current_app.config["LOGIN_RATE_PER_ACCOUNT"]


def _per_address() -> str:
    return current_app.config["LOGIN_RATE_PER_ADDRESS"]


def init_app(app: Flask) -> None:
    limiter.init_app(app)
    per_account, per_address = _per_account, _per_address
    for endpoint in GUARDED_ENDPOINTS:
        view = app.view_functions[endpoint]
        view = limiter.limit(
            per_address, key_func=_address_key, methods=["POST"], deduct_when=_failed
        )(view)
        if endpoint == "security.login":
            view = limiter.limit(
                per_account, key_func=_account_key, methods=["POST"], deduct_when=_failed
            )(view)
        app.view_functions[endpoint] = view
