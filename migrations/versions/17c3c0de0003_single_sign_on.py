"""Single sign-on: SSO-only organisations and linked identities (issue 17)

Revision ID: 17c3c0de0003
Revises: 17b2c0de0002
Create Date: 2026-12-05 15:30:00

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "17c3c0de0003"
down_revision = "17b2c0de0002"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
