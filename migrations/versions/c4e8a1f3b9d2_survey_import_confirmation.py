"""Survey imports are proposed until a lead confirms them (issue 15, point 18): state,
confirmed_by_id, confirmed_at on survey_imports; imports made before are confirmed

Revision ID: c4e8a1f3b9d2
Revises: c4e8a1b2d3f5
Create Date: 2026-12-05 08:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c4e8a1f3b9d2"
down_revision = "c4e8a1b2d3f5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("survey_imports", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "state",
                sa.Enum(
                    "proposed",
                    "confirmed",
                    name="state",
                    native_enum=False,
                    create_constraint=True,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("confirmed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_survey_imports_confirmed_by_id_users"),
            "users",
            ["confirmed_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # Every import made before counted at once: it stays counted, confirmed by its uploader
    # when it was made.
    op.execute(
        "UPDATE survey_imports SET state = 'confirmed', confirmed_by_id = uploaded_by_id, "
        "confirmed_at = created_at"
    )
    with op.batch_alter_table("survey_imports", schema=None) as batch_op:
        batch_op.alter_column(
            "state",
            existing_type=sa.Enum(
                "proposed", "confirmed", name="state", native_enum=False, create_constraint=True
            ),
            nullable=False,
        )


def downgrade():
    with op.batch_alter_table("survey_imports", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_survey_imports_state"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_survey_imports_confirmed_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("confirmed_at")
        batch_op.drop_column("confirmed_by_id")
        batch_op.drop_column("state")
