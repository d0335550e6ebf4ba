"""Monthly satisfaction aggregates maintained on import (issue 18)

Revision ID: 18b2c0de0002
Revises: 18a1c0de0001
Create Date: 2026-12-06 02:45:00

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "18b2c0de0002"
down_revision = "18a1c0de0001"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
