"""Uploaded files waiting for their preview, check or import. They are kept in the database,
not in one machine's instance folder, so that a job reading one runs on any worker."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker.models.base import Base, utcnow


class StagedFile(Base):
    __tablename__ = "staged_files"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    token: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(40))  # "survey", "contract"
    partnership_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    user_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    file_name: so.Mapped[str] = so.mapped_column(sa.String(255))
    size: so.Mapped[int]
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    # What the pages and jobs keep beside the file: the chosen mapping, the last check's
    # outcome, and every problem of that check as CSV.
    extra: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON, default=dict)
    problems_csv: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary, deferred=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    expires_at: so.Mapped[dt.datetime] = so.mapped_column(index=True)


class StagedFileChunk(Base):
    """A staged file's bytes, 1 MB a row: written and read a chunk at a time, so that a
    50 MB upload never sits in memory whole."""

    __tablename__ = "staged_file_chunks"

    staged_file_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("staged_files.id", ondelete="CASCADE"), primary_key=True
    )
    seq: so.Mapped[int] = so.mapped_column(primary_key=True, autoincrement=False)
    data: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)
