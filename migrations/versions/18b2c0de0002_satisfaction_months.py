"""Monthly satisfaction aggregates maintained on import (issue 18)

``satisfaction_months``: the sums of the survey responses per partnership, import, month,
region and program, from which every satisfaction figure is computed. The upgrade fills it
from the responses already stored, in one INSERT … SELECT, so an upgraded database is correct.

Revision ID: 18b2c0de0002
Revises: 18a1c0de0001
Create Date: 2026-12-06 02:45:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "18b2c0de0002"
down_revision = "18a1c0de0001"
branch_labels = None
depends_on = None

SUMS = (
    "responses",
    "n_rating",
    "rating_sum",
    "satisfied",
    "n_recommend",
    "promoters",
    "detractors",
)


def upgrade():
    op.create_table(
        "satisfaction_months",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("program", sa.String(length=200), nullable=True),
        sa.Column("region_id", sa.Integer(), nullable=True),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in SUMS),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["survey_imports.id"],
            name=op.f("fk_satisfaction_months_import_id_survey_imports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["partnership_id"],
            ["partnerships.id"],
            name=op.f("fk_satisfaction_months_partnership_id_partnerships"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_satisfaction_months")),
    )
    with op.batch_alter_table("satisfaction_months", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_satisfaction_months_import_id"), ["import_id"], unique=False
        )
        batch_op.create_index(
            "ix_satisfaction_months_partnership_month", ["partnership_id", "month"], unique=False
        )
    # The same sums services/satisfaction_months.py writes, for the responses already stored.
    op.execute(
        "INSERT INTO satisfaction_months (partnership_id, import_id, month, program, region_id, "
        "responses, n_rating, rating_sum, satisfied, n_recommend, promoters, detractors) "
        "SELECT partnership_id, import_id, month, program, region_id, COUNT(*), COUNT(rating), "
        "COALESCE(SUM(rating), 0), COALESCE(SUM(CASE WHEN rating >= 4 THEN 1 ELSE 0 END), 0), "
        "COUNT(recommend), COALESCE(SUM(CASE WHEN recommend >= 9 THEN 1 ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN recommend <= 6 THEN 1 ELSE 0 END), 0) "
        "FROM survey_responses "
        "GROUP BY partnership_id, import_id, month, region_id, program"
    )


def downgrade():
    with op.batch_alter_table("satisfaction_months", schema=None) as batch_op:
        batch_op.drop_index("ix_satisfaction_months_partnership_month")
        batch_op.drop_index(batch_op.f("ix_satisfaction_months_import_id"))
    op.drop_table("satisfaction_months")
