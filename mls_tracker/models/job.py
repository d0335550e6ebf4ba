"""Background jobs: what was asked, by whom, and how it ended. Progress while a job runs is
kept outside the database (see ``mls_tracker.jobs``); so are uploads waiting for a job
(``StagedFile``, in the database so that a worker on any machine can read them)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker.models.base import Base, enum_column, utcnow


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Job(Base):
    __tablename__ = "jobs"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(60))
    partnership_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    user_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    params: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON, default=dict)
    state: so.Mapped[JobState] = so.mapped_column(
        enum_column(JobState, "job_state"), default=JobState.QUEUED
    )
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    result: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    started_at: so.Mapped[dt.datetime | None]
    finished_at: so.Mapped[dt.datetime | None]
    # The lease (``mls_tracker.jobs``): when the job was last queued, which worker runs it
    # ("host:pid") and when that worker last said it was alive. A sweeper fails a job whose
    # lease has run out.
    queued_at: so.Mapped[dt.datetime | None]
    worker: so.Mapped[str | None] = so.mapped_column(sa.String(120))
    heartbeat_at: so.Mapped[dt.datetime | None]
