"""Customer set-up: region codes, retiring organisations and regions, archiving
partnerships, product-level invitations, users' time zones, SLA categories and expectation
titles

Revision ID: b7d2e4f6a8c1
Revises: a3c9e5f1d2b7
Create Date: 2026-12-05 03:40:00.000000

"""

import re

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b7d2e4f6a8c1"
down_revision = "a3c9e5f1d2b7"
branch_labels = None
depends_on = None


def _code(name: str) -> str:
    # The model's region_code_from, copied so that this migration keeps working whatever
    # the application's code becomes.
    words = [w for w in re.split(r"[^A-Za-z0-9]+", name) if w]
    if len(words) > 1:
        return "".join(w[0] for w in words).upper()[:12]
    return (words[0] if words else "R").upper()[:12]


def upgrade():
    with op.batch_alter_table("regions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    connection = op.get_bind()
    taken: set[str] = set()
    for region_id, name in connection.execute(
        sa.text("SELECT id, name FROM regions ORDER BY id")
    ).all():
        code, n = _code(name), 1
        while code in taken:
            n += 1
            code = f"{_code(name)[:10]}{n}"
        taken.add(code)
        connection.execute(
            sa.text("UPDATE regions SET code = :code WHERE id = :id"),
            {"code": code, "id": region_id},
        )
    with op.batch_alter_table("regions", schema=None) as batch_op:
        batch_op.alter_column("code", existing_type=sa.String(length=12), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_regions_code"), ["code"])

    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("partnerships", schema=None) as batch_op:
        batch_op.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))
    with op.batch_alter_table("slas", schema=None) as batch_op:
        batch_op.add_column(sa.Column("category", sa.String(length=60), nullable=True))
    with op.batch_alter_table("expectations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title", sa.String(length=200), nullable=True))

    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("make_admin", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.alter_column("partnership_id", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column(
            "role",
            existing_type=sa.String(length=8),
            nullable=True,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_invitations_organisation_id_organisations"),
            "organisations",
            ["organisation_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_check_constraint(
            "role_with_partnership", "(partnership_id IS NULL) = (role IS NULL)"
        )


def downgrade():
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_constraint("role_with_partnership", type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_invitations_organisation_id_organisations"), type_="foreignkey"
        )
        batch_op.alter_column(
            "role",
            existing_type=sa.String(length=8),
            nullable=False,
        )
        batch_op.alter_column("partnership_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("make_admin")
        batch_op.drop_column("organisation_id")
    with op.batch_alter_table("expectations", schema=None) as batch_op:
        batch_op.drop_column("title")
    with op.batch_alter_table("slas", schema=None) as batch_op:
        batch_op.drop_column("category")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("time_zone")
    with op.batch_alter_table("partnerships", schema=None) as batch_op:
        batch_op.drop_column("archived_at")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("retired_at")
    with op.batch_alter_table("regions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_regions_code"), type_="unique")
        batch_op.drop_column("retired_at")
        batch_op.drop_column("code")
