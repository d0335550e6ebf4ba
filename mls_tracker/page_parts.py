"""The part of a partnership page that is the same for every visitor with the same rights,
rendered once per data version and remembered (``services/data_version.remembered``).

Only a page's default view is remembered: a view with query arguments (filters, sorting,
other months) is rendered each time, so that no visitor can fill the memory with variants.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from flask import request
from markupsafe import Markup

from mls_tracker.services import data_version


def default_view(
    page: str, partnership_id: int, key: Hashable, render: Callable[[], str]
) -> Markup:
    """``render()`` (a template's output, for this viewer's rights and day, which ``key``
    holds) as markup: remembered under ``page``, ``key`` and the partnership's data version
    for a request without query arguments, rendered each time for one with them."""
    if request.args:
        return Markup(render())  # noqa: S704 (a template's output)
    return data_version.remembered(
        page,
        partnership_id,
        key,
        lambda: Markup(render()),  # noqa: S704 (a template's output)
    )
