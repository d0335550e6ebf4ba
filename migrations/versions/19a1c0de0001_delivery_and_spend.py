"""Issue 19: delivery and spend — monthly volumes and invoiced amounts per partnership

Revision ID: 19a1c0de0001
Revises: 18c3c0de0003
Create Date: 2026-12-06 08:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "19a1c0de0001"
down_revision = "18c3c0de0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "delivery_months",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("learners_trained", sa.Integer(), nullable=False),
        sa.Column("completions", sa.Integer(), nullable=False),
        sa.Column("training_hours", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("sessions_delivered", sa.Integer(), nullable=False),
        sa.Column("invoiced_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "proposed", "confirmed", name="state", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_by_id", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "(state = 'confirmed') = (confirmed_at IS NOT NULL)",
            name=op.f("ck_delivery_months_confirmed_has_time"),
        ),
        sa.CheckConstraint(
            "invoiced_amount IS NULL OR invoiced_amount >= 0",
            name=op.f("ck_delivery_months_invoiced_not_negative"),
        ),
        sa.CheckConstraint(
            "learners_trained >= 0 AND completions >= 0 AND training_hours >= 0"
            " AND sessions_delivered >= 0",
            name=op.f("ck_delivery_months_volumes_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["confirmed_by_id"],
            ["users.id"],
            name=op.f("fk_delivery_months_confirmed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["entered_by_id"],
            ["users.id"],
            name=op.f("fk_delivery_months_entered_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["partnership_id"],
            ["partnerships.id"],
            name=op.f("fk_delivery_months_partnership_id_partnerships"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_months")),
        sa.UniqueConstraint(
            "partnership_id", "month", name=op.f("uq_delivery_months_partnership_id_month")
        ),
    )
    op.create_index(
        op.f("ix_delivery_months_partnership_id"),
        "delivery_months",
        ["partnership_id"],
        unique=False,
    )


def downgrade():
    op.drop_index(op.f("ix_delivery_months_partnership_id"), table_name="delivery_months")
    op.drop_table("delivery_months")
