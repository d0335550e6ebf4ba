"""Issue 19: sponsor reading — when a sponsor read a scorecard, and in-app deliveries

Revision ID: 19e5c0de0005
Revises: 19d4c0de0004
Create Date: 2026-12-06 08:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "19e5c0de0005"
down_revision = "19d4c0de0004"
branch_labels = None
depends_on = None


def upgrade():
    # When the sponsor first opened the scorecard (in the app, or through the e-mailed link),
    # and whether the row was recorded in the app for a sponsor it was never e-mailed to.
    with op.batch_alter_table("scorecard_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("read_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("in_app", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("scorecard_deliveries", schema=None) as batch_op:
        batch_op.drop_column("in_app")
        batch_op.drop_column("read_at")
