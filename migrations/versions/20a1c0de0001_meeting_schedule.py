"""Issue 20: meeting schedule — start time, duration, place, the invitation's sequence, and
extra meetings (a second meeting of a kind for the same reviewed month, kept on purpose)

Existing data may already hold two meetings of the same kind reviewing the same month of a
partnership: the upgrade keeps the first (earliest date, then lowest id) as the meeting of
that month and marks the others as extra, so that nothing fails and nothing is lost.

Revision ID: 20a1c0de0001
Revises: 19e5c0de0005
Create Date: 2026-12-06 08:50:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "20a1c0de0001"
down_revision = "19e5c0de0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("extra", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("duration_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("place", sa.String(length=500), nullable=True))
        batch_op.add_column(
            sa.Column("ics_sequence", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_meetings_duration_in_range"),
            "duration_minutes IS NULL OR duration_minutes BETWEEN 15 AND 480",
        )
    # Duplicates already stored: all but the first of each (partnership, kind, month) are extra.
    meetings = sa.table(
        "meetings",
        sa.column("id", sa.Integer()),
        sa.column("partnership_id", sa.Integer()),
        sa.column("kind", sa.String()),
        sa.column("reviewed_month", sa.Date()),
        sa.column("held_on", sa.Date()),
        sa.column("extra", sa.Boolean()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(
            meetings.c.id, meetings.c.partnership_id, meetings.c.kind, meetings.c.reviewed_month
        ).order_by(meetings.c.held_on, meetings.c.id)
    ).all()
    seen = set()
    extra_ids = []
    for meeting_id, partnership_id, kind, month in rows:
        key = (partnership_id, kind, month)
        if key in seen:
            extra_ids.append(meeting_id)
        seen.add(key)
    if extra_ids:
        bind.execute(meetings.update().where(meetings.c.id.in_(extra_ids)).values(extra=sa.true()))


def downgrade():
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_meetings_duration_in_range"), type_="check")
        batch_op.drop_column("ics_sequence")
        batch_op.drop_column("place")
        batch_op.drop_column("duration_minutes")
        batch_op.drop_column("starts_at")
        batch_op.drop_column("extra")
