"""Webhooks: endpoints and their delivery log (issue 17)

Revision ID: 17b2c0de0002
Revises: 17a1c0de0001
Create Date: 2026-12-05 15:30:00

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "17b2c0de0002"
down_revision = "17a1c0de0001"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
