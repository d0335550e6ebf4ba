"""Portfolio rows: what the portfolio page sorts, filters and shows, as plain columns; an index
for a partnership's newest audit entry, its pages' data version (issue 18)

Revision ID: 18a1c0de0001
Revises: 17c3c0de0003
Create Date: 2026-12-06 02:45:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "18a1c0de0001"
down_revision = "17c3c0de0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_audit_log_partnership_newest", "audit_log", ["partnership_id", "id"], unique=False
    )
    # Derived data, filled on demand by the portfolio page: empty on a database with data.
    op.create_table(
        "partnership_portfolio_rows",
        sa.Column("partnership_id", sa.Integer(), nullable=False),
        sa.Column("computed_on", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sort_name", sa.Text(), nullable=False),
        sa.Column("health_score", sa.Float(), nullable=True),
        sa.Column("sla_attainment", sa.Float(), nullable=True),
        sa.Column("csat", sa.Float(), nullable=True),
        sa.Column("nps", sa.Float(), nullable=True),
        sa.Column("overdue_actions", sa.Integer(), nullable=False),
        sa.Column("gap_count", sa.Integer(), nullable=False),
        sa.Column("next_meeting_on", sa.Date(), nullable=True),
        sa.Column("next_meeting_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partnership_id"],
            ["partnerships.id"],
            name=op.f("fk_partnership_portfolio_rows_partnership_id_partnerships"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("partnership_id", name=op.f("pk_partnership_portfolio_rows")),
    )


def downgrade():
    op.drop_index("ix_audit_log_partnership_newest", table_name="audit_log")
    op.drop_table("partnership_portfolio_rows")
