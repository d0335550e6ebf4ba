"""Issue 19: delivery and spend (placeholder in the chain; its owner fills it in)

Revision ID: 19a1c0de0001
Revises: 18c3c0de0003
Create Date: 2026-12-06 08:40:00

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "19a1c0de0001"
down_revision = "18c3c0de0003"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
