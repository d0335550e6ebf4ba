"""Issue 20: inbox and queues — notifications (the in-app inbox), each user's notification
setting (immediate e-mail, daily digest or none), and the partial indexes the queues read

Revision ID: 20b2c0de0002
Revises: 20a1c0de0001
Create Date: 2026-12-06 08:50:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "20b2c0de0002"
down_revision = "20a1c0de0001"
branch_labels = None
depends_on = None


KINDS = (
    "assigned",
    "update",
    "reopened",
    "actual proposed",
    "actual confirmed",
    "scorecard to acknowledge",
    "sponsor comment",
)
AWAITING_VERIFICATION = "status = 'done' AND verified_at IS NULL"
PROPOSED = "state = 'proposed'"
UNREAD = "read_at IS NULL"


def upgrade():
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(*KINDS, name="notification_kind", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("link_path", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("emailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["partnership_id"],
            ["partnerships.id"],
            name=op.f("fk_notifications_partnership_id_partnerships"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_user_created", ["user_id", "created_at"])
        batch_op.create_index(
            "ix_notifications_user_unread",
            ["user_id"],
            sqlite_where=sa.text(UNREAD),
            postgresql_where=sa.text(UNREAD),
        )

    op.create_table(
        "notification_settings",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "delivery",
            sa.Enum(
                "immediate",
                "digest",
                "none",
                name="notification_delivery",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("last_digest_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_settings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_settings")),
    )

    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_action_items_awaiting_verification",
            ["partnership_id", "due_on"],
            sqlite_where=sa.text(AWAITING_VERIFICATION),
            postgresql_where=sa.text(AWAITING_VERIFICATION),
        )
    with op.batch_alter_table("sla_measurements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sla_measurements_proposed",
            ["sla_id"],
            sqlite_where=sa.text(PROPOSED),
            postgresql_where=sa.text(PROPOSED),
        )


def downgrade():
    with op.batch_alter_table("sla_measurements", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_measurements_proposed")
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.drop_index("ix_action_items_awaiting_verification")
    op.drop_table("notification_settings")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_user_unread")
        batch_op.drop_index("ix_notifications_user_created")
    op.drop_table("notifications")
