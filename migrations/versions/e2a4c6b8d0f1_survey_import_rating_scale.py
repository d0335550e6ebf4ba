"""Survey imports: the scale their satisfaction question was asked on, when not 1–5 (issue 15,
point 17: the scorecard says how such answers were mapped)

Revision ID: e2a4c6b8d0f1
Revises: d5f1b7c3a9e2
Create Date: 2026-12-05 08:45:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e2a4c6b8d0f1"
down_revision = "d5f1b7c3a9e2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("survey_imports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rating_scale", sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table("survey_imports", schema=None) as batch_op:
        batch_op.drop_column("rating_scale")
