"""API tokens: personal access tokens and service accounts (issue 17)

Revision ID: 17a1c0de0001
Revises: 3e28c0c0118a
Create Date: 2026-12-05 15:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "17a1c0de0001"
down_revision = "3e28c0c0118a"
branch_labels = None
depends_on = None

SCOPE = sa.Enum("read", "write", name="scope", native_enum=False, create_constraint=True)


def upgrade():
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("prefix", sa.String(length=16), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("scope", SCOPE, server_default="read", nullable=False))
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_service_account", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("is_service_account")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_api_tokens_scope"), type_="check")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("scope")
        batch_op.drop_column("prefix")
