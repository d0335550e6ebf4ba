"""A client's logo: an uploaded image checked and re-encoded as a small PNG, shown on the
partnership's pages and on the scorecard's cover."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so

from mls_tracker.models.base import Audited, Base, utcnow


class Logo(Audited, Base):
    """The PNG bytes as re-encoded (never the file as uploaded). A partnership points at its
    logo (``partnerships.logo_id``); replacing or removing it deletes the old row."""

    __tablename__ = "logos"
    __audit_exclude__ = ("png",)  # logged through its SHA-256, a column

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    png: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary, deferred=True)
    width: so.Mapped[int]
    height: so.Mapped[int]
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    __table_args__ = (sa.CheckConstraint("width > 0 AND height > 0", name="size"),)

    # The partnership the logo is written for, set by the service before the flush: the row
    # has no column naming it (the partnership points at the logo), but its audit entry
    # belongs to that partnership.
    owner_partnership_id = None  # not a column (see above)

    @property
    def audit_partnership_id(self) -> int | None:
        return self.owner_partnership_id
