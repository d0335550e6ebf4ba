"""Slows down password guessing (HTTP 429 with ``Retry-After``), with Flask-Limiter.

Failed credential checks — a wrong password at ``/login``, a wrong two-factor code at
``/tf-validate``, an unusable password-reset token at ``/reset/<token>`` — count whatever the
request's format (form or JSON): the forms record what the check decided on ``g``
(:func:`count_failed_check`), and only those requests are deducted. The limits, read at
request time from the configuration:

- ``LOGIN_RATE_PER_ACCOUNT`` — the strict one, per account *and* address, so that guessing
  from one address locks that address out of that account and nobody else;
- ``LOGIN_RATE_ACCOUNT_CEILING`` — looser, per account from every address together, against
  guessing spread over many addresses;
- ``LOGIN_RATE_PER_ADDRESS`` — per address, whatever accounts it tries.

The sign-in and the two-factor step share these counters; refused single sign-on callbacks
count towards the per-address one (:func:`sso_callback_limit`). Every password-reset request
(``POST /reset``, which sends a mail) counts towards ``RESET_RATE_PER_ACCOUNT`` (per address
typed) and ``RESET_RATE_PER_ADDRESS``. Counters live in Redis when ``REDIS_URL`` is set
(``RATELIMIT_STORAGE_URI``), so that every worker sees the same ones.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, current_app, g, request, session
from flask_limiter.util import get_remote_address
from flask_security.recoverable import reset_password_token_status

from mls_tracker.extensions import limiter, security

SIGN_IN_ENDPOINT = "security.login"
TWO_FACTOR_ENDPOINT = "security.two_factor_token_validation"
RESET_LINK_ENDPOINT = "security.reset_password"
RESET_REQUEST_ENDPOINT = "security.forgot_password"
_FAILED = "mls_failed_credential_check"


def count_failed_check() -> None:
    """Called where a credential check has just failed: this request counts towards the
    sign-in limits."""
    g.setdefault(_FAILED, True)


def _failed(_response: Response) -> bool:
    return bool(g.get(_FAILED))


def _typed_email() -> str:
    data: Any = request.get_json(silent=True) if request.is_json else request.form
    value = data.get("email") if isinstance(data, Mapping) else None
    return value.strip().lower() if isinstance(value, str) else ""


def _account() -> str:
    """The account a request tries: the e-mail typed, or at the two-factor step the one
    whose password was just accepted."""
    if request.endpoint != TWO_FACTOR_ENDPOINT:
        return _typed_email()
    if "mls_two_factor_account" not in g:  # asked once per limit: look it up once
        uniquifier = session.get("tf_user_id")
        user = security.datastore.find_user(fs_uniquifier=uniquifier) if uniquifier else None
        g.mls_two_factor_account = user.email.lower() if user is not None else ""
    return g.mls_two_factor_account


def _address() -> str:
    return get_remote_address() or "unknown"


def _account_key() -> str:
    return "account:" + _account()


def _account_address_key() -> str:
    return f"account-address:{_account()}|{_address()}"


def _address_key() -> str:
    return "address:" + _address()


# Limits are read at request time, and every callable is module-level so that every app
# registers equal limits (Flask-Limiter keeps decorated limits per view name, across apps).
def _per_account_and_address() -> str:
    return current_app.config["LOGIN_RATE_PER_ACCOUNT"]


def _account_ceiling() -> str:
    return current_app.config["LOGIN_RATE_ACCOUNT_CEILING"]


def _per_address() -> str:
    return current_app.config["LOGIN_RATE_PER_ADDRESS"]


def _resets_per_account() -> str:
    return current_app.config["RESET_RATE_PER_ACCOUNT"]


def _resets_per_address() -> str:
    return current_app.config["RESET_RATE_PER_ADDRESS"]


def _sign_in_limits(
    *, per_account: bool
) -> list[Callable[[Callable[..., Any]], Callable[..., Any]]]:
    limits = [
        limiter.shared_limit(
            _per_address,
            scope="sign-in-address",
            key_func=_address_key,
            methods=["POST"],
            deduct_when=_failed,
        )
    ]
    if per_account:
        limits += [
            limiter.shared_limit(
                _per_account_and_address,
                scope="sign-in-account-address",
                key_func=_account_address_key,
                methods=["POST"],
                deduct_when=_failed,
            ),
            limiter.shared_limit(
                _account_ceiling,
                scope="sign-in-account",
                key_func=_account_key,
                methods=["POST"],
                deduct_when=_failed,
            ),
        ]
    return limits


def sso_callback_limit(view: Callable[..., Any]) -> Callable[..., Any]:
    """The single sign-on callback: every refused identity counts towards the same
    per-address limit as a wrong password."""
    return limiter.shared_limit(
        _per_address,
        scope="sign-in-address",
        key_func=_address_key,
        methods=["GET"],
        deduct_when=_failed,
    )(view)


def _reset_request_limits() -> list[Callable[[Callable[..., Any]], Callable[..., Any]]]:
    return [
        limiter.limit(_resets_per_address, key_func=_address_key, methods=["POST"]),
        limiter.limit(_resets_per_account, key_func=_account_key, methods=["POST"]),
    ]


def _checking_reset_token(view: Callable[..., Any]) -> Callable[..., Any]:
    """Flask-Security's reset view checks the token before any form: a POST with an unusable
    one is a failed credential check."""

    @functools.wraps(view)
    def checked(token: str, *args: Any, **kwargs: Any) -> Any:
        if request.method == "POST":
            expired, invalid, user = reset_password_token_status(token)
            if expired or invalid or user is None:
                count_failed_check()
        return view(token, *args, **kwargs)

    return checked


def _retry_after(response: Response) -> Response:
    """Every 429 says when to come back: the latest reset of the limits it broke."""
    if response.status_code == 429 and "Retry-After" not in response.headers:
        now = time.time()
        resets = [limit.reset_at for limit in limiter.current_limits if limit.breached]
        response.headers["Retry-After"] = str(max(1, int(max(resets, default=now + 60) - now)))
    return response


def init_app(app: Flask) -> None:
    limiter.init_app(app)
    guarded: dict[str, list[Callable[[Callable[..., Any]], Callable[..., Any]]]] = {
        SIGN_IN_ENDPOINT: _sign_in_limits(per_account=True),
        TWO_FACTOR_ENDPOINT: _sign_in_limits(per_account=True),
        RESET_LINK_ENDPOINT: _sign_in_limits(per_account=False),
        RESET_REQUEST_ENDPOINT: _reset_request_limits(),
    }
    for endpoint, limits in guarded.items():
        view = app.view_functions[endpoint]
        if endpoint == RESET_LINK_ENDPOINT:
            view = _checking_reset_token(view)
        for limit in limits:
            view = limit(view)
        app.view_functions[endpoint] = view
    app.after_request(_retry_after)
