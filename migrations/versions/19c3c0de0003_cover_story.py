"""Issue 19: cover story (placeholder in the chain; its owner fills it in)

Revision ID: 19c3c0de0003
Revises: 19b2c0de0002
Create Date: 2026-12-06 08:40:00

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "19c3c0de0003"
down_revision = "19b2c0de0002"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
