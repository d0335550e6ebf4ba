"""Indexes for the per-user and per-partnership lists (issue 18): a user's open action items
in due order (My actions), a partial index holding only the items not done or cancelled

Revision ID: 18c3c0de0003
Revises: 18b2c0de0002
Create Date: 2026-12-06 03:35:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "18c3c0de0003"
down_revision = "18b2c0de0002"
branch_labels = None
depends_on = None


# As in the model (mls_tracker/models/meeting.py, OPEN_ACTION_SQL), written out: a migration
# must not change when the model does.
OPEN_ACTION = "status NOT IN ('cancelled', 'done')"


def upgrade():
    op.create_index(
        "ix_action_items_owner_open_due",
        "action_items",
        ["owner_id", "due_on", "id", "partnership_id", "status"],
        unique=False,
        sqlite_where=sa.text(OPEN_ACTION),
        postgresql_where=sa.text(OPEN_ACTION),
    )


def downgrade():
    op.drop_index("ix_action_items_owner_open_due", table_name="action_items")
