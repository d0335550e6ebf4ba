"""Scorecard deliveries: when the comment was last written

Revision ID: 7e2730b30008
Revises: 4629e71732bc
Create Date: 2026-11-23 02:37:03.790391

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "7e2730b30008"
down_revision = "4629e71732bc"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("scorecard_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("commented_at", sa.DateTime(timezone=True), nullable=True))
    # Comments written before this column existed were written when they were acknowledged.
    op.execute(
        "UPDATE scorecard_deliveries SET commented_at = acknowledged_at WHERE comment IS NOT NULL"
    )


def downgrade():
    with op.batch_alter_table("scorecard_deliveries", schema=None) as batch_op:
        batch_op.drop_column("commented_at")
