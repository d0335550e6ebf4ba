"""Portable SQL functions the two databases spell differently."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class month_key(FunctionElement[str]):  # noqa: N801 — used like a SQL function
    """``YYYY-MM`` of a date or timestamp column (timestamps are stored in UTC), for
    ``GROUP BY`` month; ``Month.parse`` reads it back."""

    type = sa.String()
    inherit_cache = True
    name = "month_key"


@compiles(month_key)
def _month_key_default(element: month_key, compiler: Any, **kw: Any) -> str:
    return f"strftime('%Y-%m', {compiler.process(element.clauses, **kw)})"


@compiles(month_key, "postgresql")
def _month_key_postgresql(element: month_key, compiler: Any, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM')"
