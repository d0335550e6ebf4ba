"""Webhooks: a partnership's HTTPS endpoints and the outbox of deliveries to them."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker.models.base import Audited, Base, Timestamped, enum_column, utcnow


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookEndpoint(Audited, Timestamped, Base):
    """An HTTPS address that receives the chosen events of one partnership, signed with a
    secret only we and the receiver hold (stored encrypted: we must sign with it)."""

    __tablename__ = "webhook_endpoints"
    __audit_exclude__ = ("updated_at", "secret_encrypted", "consecutive_failures")

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    partnership_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    url: so.Mapped[str] = so.mapped_column(sa.String(500))
    description: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    events: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    secret_encrypted: so.Mapped[str] = so.mapped_column(sa.String(300))
    enabled: so.Mapped[bool] = so.mapped_column(default=True)
    disabled_reason: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    consecutive_failures: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )


class WebhookDelivery(Base):
    """One event for one endpoint: written in the transaction of the change it announces
    (the outbox), then sent by the job queue until delivered or failed."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
        sa.UniqueConstraint("endpoint_id", "dedupe_key"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    endpoint_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    event_type: so.Mapped[str] = so.mapped_column(sa.String(60))
    payload: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)
    # Events that must be sent once only (an item's overdue transition) carry a key.
    dedupe_key: so.Mapped[str | None] = so.mapped_column(sa.String(120))
    state: so.Mapped[DeliveryState] = so.mapped_column(
        enum_column(DeliveryState, "webhook_delivery_state"), default=DeliveryState.PENDING
    )
    attempts: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    next_attempt_at: so.Mapped[dt.datetime | None] = so.mapped_column(default=utcnow)
    last_attempt_at: so.Mapped[dt.datetime | None]
    last_status: so.Mapped[int | None]
    last_error: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    last_duration_ms: so.Mapped[int | None]

    endpoint: so.Mapped[WebhookEndpoint] = so.relationship()
