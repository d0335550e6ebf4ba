"""Invitations: a lead may withdraw a pending invitation (its link then says so)

Revision ID: 28a1c0de0001
Revises: 27c3c0de0003
Create Date: 2026-12-06 23:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "28a1c0de0001"
down_revision = "27c3c0de0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_column("withdrawn_at")
