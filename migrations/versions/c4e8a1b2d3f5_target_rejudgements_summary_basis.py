"""Issue 15: the months a target set from a past month re-judged (as confirmed), and the
figures a review's executive summary was written for

Revision ID: c4e8a1b2d3f5
Revises: b7d2e4f6a8c1
Create Date: 2026-12-05 08:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c4e8a1b2d3f5"
down_revision = "b7d2e4f6a8c1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("sla_targets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rejudged", sa.JSON(), nullable=True))
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("summary_basis", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_column("summary_basis")
    with op.batch_alter_table("sla_targets", schema=None) as batch_op:
        batch_op.drop_column("rejudged")
