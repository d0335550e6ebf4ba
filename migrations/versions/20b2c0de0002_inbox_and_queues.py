"""Issue 20: inbox and queues (placeholder in the chain; its owner fills it in)

Revision ID: 20b2c0de0002
Revises: 20a1c0de0001
Create Date: 2026-12-06 08:50:00

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "20b2c0de0002"
down_revision = "20a1c0de0001"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
