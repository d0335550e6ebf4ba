"""Issue 19: print and logo — the client's logo (``logos``) and ``partnerships.logo_id``

Revision ID: 19d4c0de0004
Revises: 19c3c0de0003
Create Date: 2026-12-06 08:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "19d4c0de0004"
down_revision = "19c3c0de0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "logos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("png", sa.LargeBinary(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("width > 0 AND height > 0", name=op.f("ck_logos_size")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_logos")),
    )
    with op.batch_alter_table("partnerships", schema=None) as batch_op:
        batch_op.add_column(sa.Column("logo_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_partnerships_logo_id_logos"),
            "logos",
            ["logo_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("partnerships", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_partnerships_logo_id_logos"), type_="foreignkey")
        batch_op.drop_column("logo_id")
    op.drop_table("logos")
