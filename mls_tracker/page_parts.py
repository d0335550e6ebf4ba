"""The part of a partnership page that is the same for every visitor with the same rights,
rendered once per data version and remembered (``services/data_version.remembered``).

Only a page's default view is remembered: a view with query arguments (filters, sorting,
other months) is rendered each time, so that no visitor can fill the memory with variants.

A part holding POST forms (``default_view_with_forms``, or ``tokenless``/``with_token`` around
``data_version.remembered``) is remembered with a mark in place of the session's CSRF token,
however the template wrote it (``csrf_token()`` or WTForms' ``hidden_tag()``); the viewer's own
token is put back on every request, so the token in the page is always the one of the session
that asked for it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import render_template, request
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from mls_tracker.services import data_version

T = TypeVar("T")

# Stands for the session's CSRF token in remembered markup: random per process, so that no
# text a user typed into a shown record can be (or contain) it.
TOKEN_MARK = f"csrf-mark-{secrets.token_hex(16)}"


def tokenless(render: Callable[[], str]) -> Callable[[], str]:
    """``render`` whose output holds the mark in place of this session's CSRF token."""

    def render_without_token() -> str:
        return str(render()).replace(generate_csrf(), TOKEN_MARK)

    return render_without_token


def with_token(markup: str) -> Markup:
    """Markup from ``tokenless`` with this session's CSRF token put back."""
    return Markup(str(markup).replace(TOKEN_MARK, generate_csrf()))  # noqa: S704 (a template's output)


def rendered(template: str, **context: object) -> Markup:
    """A template's output as markup, to be placed into another page (Jinja escaped what
    went into it)."""
    return Markup(render_template(template, **context))  # noqa: S704 (a template's output)


def default_data(page: str, partnership_id: int, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()`` (what a page shows from the partnership's data, for this viewer's rights
    and day, which ``key`` holds): remembered under ``page``, ``key`` and the partnership's
    data version for a request without query arguments, computed each time for one with them."""
    if request.args:
        return compute()
    return data_version.remembered(page, partnership_id, key, compute)


def default_view(
    page: str, partnership_id: int, key: Hashable, render: Callable[[], str]
) -> Markup:
    """``render()`` (a template's output, for this viewer's rights and day, which ``key``
    holds) as markup: remembered under ``page``, ``key`` and the partnership's data version
    for a request without query arguments, rendered each time for one with them."""
    return default_data(
        page,
        partnership_id,
        key,
        lambda: Markup(render()),  # noqa: S704 (a template's output)
    )


def default_view_with_forms(
    page: str, partnership_id: int, key: Hashable, render: Callable[[], str]
) -> Markup:
    """``default_view`` of a part whose forms carry CSRF tokens: remembered with the mark in
    place of the token, this request's session token put back on every request."""
    return with_token(default_view(page, partnership_id, key, tokenless(render)))
