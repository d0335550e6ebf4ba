"""Portfolio rows and needs-attention cached beside the monthly figures (issue 18)

Revision ID: 18a1c0de0001
Revises: 17c3c0de0003
Create Date: 2026-12-06 02:45:00

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "18a1c0de0001"
down_revision = "17c3c0de0003"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
