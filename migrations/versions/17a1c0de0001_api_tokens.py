"""API tokens: personal access tokens and service accounts (issue 17)

Revision ID: 17a1c0de0001
Revises: 3e28c0c0118a
Create Date: 2026-12-05 15:30:00

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "17a1c0de0001"
down_revision = "3e28c0c0118a"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
