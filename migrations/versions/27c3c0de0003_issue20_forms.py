"""Issue 20: forms and lists (a placeholder: filled in by the branch that needs it, else a no-op)

Revision ID: 27c3c0de0003
Revises: 27b2c0de0002
Create Date: 2026-12-06 16:10:00

"""

# revision identifiers, used by Alembic.
revision = "27c3c0de0003"
down_revision = "27b2c0de0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
