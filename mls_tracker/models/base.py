"""Declarative base, column types and mixins shared by every model."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.types import TypeDecorator

from mls_tracker.periods import Month

# Stable constraint names, so migrations can drop and alter what they created.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp, on PostgreSQL and on SQLite alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware UTC datetime")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class MonthType(TypeDecorator[Month]):
    """A :class:`Month`, stored as the date of the month's first day."""

    impl = sa.Date
    cache_ok = True

    def process_bind_param(self, value: Month | dt.date | None, dialect: Any) -> dt.date | None:
        if value is None:
            return None
        if isinstance(value, Month):
            return value.first_day
        if value.day != 1:
            raise ValueError("a month is stored as the first day of the month")
        return value

    def process_result_value(self, value: dt.date | None, dialect: Any) -> Month | None:
        if value is None:
            return None
        return Month.of(value)


def enum_column(enum_cls: type[enum.Enum], name: str) -> sa.Enum:
    """A portable enumeration: VARCHAR plus a named CHECK constraint, storing the values."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda members: [m.value for m in members],
    )


class Base(so.DeclarativeBase):
    registry = so.registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={dt.datetime: UTCDateTime(), Month: MonthType()},
    )


class Audited:
    """Marks a model whose inserts, updates and deletes are written to the audit log.

    ``audit_partnership_id`` names the partnership that owns the row, for the log.
    """

    __audit_exclude__: tuple[str, ...] = ()
    # Columns too large to copy into the log (JSON snapshots): logged as their SHA-256.
    __audit_digest__: tuple[str, ...] = ()

    @property
    def audit_partnership_id(self) -> int | None:
        return getattr(self, "partnership_id", None)


class Timestamped:
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    updated_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow, onupdate=utcnow)


class Versioned:
    """Optimistic locking: a second save from a stale copy is refused."""

    version: so.Mapped[int] = so.mapped_column(default=1, server_default="1")

    @so.declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805
        return {"version_id_col": cls.__table__.c.version}
