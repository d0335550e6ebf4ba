"""Issue 20: meeting schedule (placeholder in the chain; its owner fills it in)

Revision ID: 20a1c0de0001
Revises: 19e5c0de0005
Create Date: 2026-12-06 08:50:00

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "20a1c0de0001"
down_revision = "19e5c0de0005"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
