"""Issue 19: service credits — a credit rule per SLA, the partnership's monthly fee and cap

Revision ID: 19b2c0de0002
Revises: 19a1c0de0001
Create Date: 2026-12-06 08:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "19b2c0de0002"
down_revision = "19a1c0de0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("slas", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credit_percent", sa.Numeric(5, 2), nullable=True))
        batch_op.create_check_constraint(
            "credit_percent",
            "credit_percent IS NULL OR (credit_percent > 0 AND credit_percent <= 100)",
        )
    with op.batch_alter_table("partnerships", schema=None) as batch_op:
        batch_op.add_column(sa.Column("monthly_fee", sa.Numeric(14, 2), nullable=True))
        batch_op.add_column(sa.Column("credit_cap_percent", sa.Numeric(5, 2), nullable=True))
        batch_op.create_check_constraint("monthly_fee", "monthly_fee IS NULL OR monthly_fee >= 0")
        batch_op.create_check_constraint(
            "credit_cap_percent",
            "credit_cap_percent IS NULL OR (credit_cap_percent > 0 AND credit_cap_percent <= 100)",
        )


def downgrade():
    with op.batch_alter_table("partnerships", schema=None) as batch_op:
        batch_op.drop_constraint("credit_cap_percent", type_="check")
        batch_op.drop_constraint("monthly_fee", type_="check")
        batch_op.drop_column("credit_cap_percent")
        batch_op.drop_column("monthly_fee")
    with op.batch_alter_table("slas", schema=None) as batch_op:
        batch_op.drop_constraint("credit_percent", type_="check")
        batch_op.drop_column("credit_percent")
