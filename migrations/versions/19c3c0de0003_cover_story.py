"""Issue 19: cover story — a review's key messages (and the figures they were written for),
the lead's decisions and asks of sponsors, and the provider's commentary with its approval

Revision ID: 19c3c0de0003
Revises: 19b2c0de0002
Create Date: 2026-12-06 08:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "19c3c0de0003"
down_revision = "19b2c0de0002"
branch_labels = None
depends_on = None

STATES = ("draft", "submitted", "approved", "returned")


def upgrade():
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_messages", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("key_messages_basis", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("decisions_asks", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("provider_commentary", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("commentary_state", sa.String(length=9), nullable=True))
        batch_op.add_column(sa.Column("commentary_submitted_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("commentary_submitted_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("commentary_approved_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("commentary_approved_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("commentary_return_reason", sa.Text(), nullable=True))
        allowed = ", ".join(f"'{state}'" for state in STATES)
        batch_op.create_check_constraint(
            op.f("ck_reviews_commentary_state"), f"commentary_state IN ({allowed})"
        )
        batch_op.create_foreign_key(
            op.f("fk_reviews_commentary_submitted_by_id_users"),
            "users",
            ["commentary_submitted_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            op.f("fk_reviews_commentary_approved_by_id_users"),
            "users",
            ["commentary_approved_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("fk_reviews_commentary_approved_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            op.f("fk_reviews_commentary_submitted_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_constraint(op.f("ck_reviews_commentary_state"), type_="check")
        batch_op.drop_column("commentary_return_reason")
        batch_op.drop_column("commentary_approved_at")
        batch_op.drop_column("commentary_approved_by_id")
        batch_op.drop_column("commentary_submitted_at")
        batch_op.drop_column("commentary_submitted_by_id")
        batch_op.drop_column("commentary_state")
        batch_op.drop_column("provider_commentary")
        batch_op.drop_column("decisions_asks")
        batch_op.drop_column("key_messages_basis")
        batch_op.drop_column("key_messages")
