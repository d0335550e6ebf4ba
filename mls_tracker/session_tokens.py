"""Remembered markup that holds forms: the session's CSRF token is taken out before the markup
is remembered and this session's token put back on every view, so that what one visitor's
view remembered never hands their token to another (see page_parts for what is remembered)."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

# Stands for the token in remembered markup: random per process, so that no text a user typed
# into a shown record can be (or contain) it.
_MARK = f"csrf-mark-{secrets.token_hex(16)}"


def tokenless(render: Callable[[], str]) -> Callable[[], str]:
    """``render`` whose output holds a mark in place of this session's CSRF token."""

    def render_without_token() -> str:
        return str(render()).replace(generate_csrf(), _MARK)

    return render_without_token


def with_token(markup: str) -> Markup:
    """Markup from ``tokenless`` with this session's CSRF token put back."""
    return Markup(str(markup).replace(_MARK, generate_csrf()))  # noqa: S704 (a template's output)
