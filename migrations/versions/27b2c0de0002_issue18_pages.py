"""Issue 18: pages (a placeholder: filled in by the branch that needs it, else a no-op)

Revision ID: 27b2c0de0002
Revises: 27a1c0de0001
Create Date: 2026-12-06 16:10:00

"""

# revision identifiers, used by Alembic.
revision = "27b2c0de0002"
down_revision = "27a1c0de0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
