"""The part of a partnership page that is the same for every visitor with the same rights,
rendered once per data version and remembered (``services/data_version.remembered``).

Only a page's default view is remembered: a view with query arguments (filters, sorting,
other months) is rendered each time, so that no visitor can fill the memory with variants.

A part holding POST forms (``default_view_with_forms``) is remembered with a placeholder where
each form's CSRF token goes; the viewer's own token is put in on every request, so the token in
the page is always the one of the session that asked for it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import request
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from mls_tracker.services import data_version

T = TypeVar("T")

# Where a remembered part's CSRF tokens go: random per process, so that no text a user
# typed into a shown record can be (or contain) it.
TOKEN_SLOT = f"csrf-slot-{secrets.token_hex(16)}"


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


def token_slot() -> str:
    """What a remembered part's template calls instead of ``csrf_token()``: pass
    ``csrf_token=page_parts.token_slot`` to ``render_template``."""
    return TOKEN_SLOT


def default_view_with_forms(
    page: str, partnership_id: int, key: Hashable, render: Callable[[], str]
) -> Markup:
    """``default_view`` of a part whose forms carry CSRF tokens: ``render()`` renders the
    template with ``csrf_token=token_slot``; the part is remembered with the slots, and this
    request's session token is put into them on every request."""
    part = default_view(page, partnership_id, key, render)
    if TOKEN_SLOT not in part:
        return part
    return part.replace(TOKEN_SLOT, escape(generate_csrf()))
