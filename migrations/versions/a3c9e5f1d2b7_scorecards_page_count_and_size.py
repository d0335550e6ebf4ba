"""Scorecards: their page count and size, stored at issue time

Revision ID: a3c9e5f1d2b7
Revises: 7e2730b30008
Create Date: 2026-11-24 10:12:41.318206

"""

import re
import zlib

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a3c9e5f1d2b7"
down_revision = "7e2730b30008"
branch_labels = None
depends_on = None

# The page tree's count, as scorecards/pdf.page_count reads it; copied rather than imported
# so that this migration keeps working whatever the application's code becomes.
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.DOTALL)
_PAGES_COUNT = re.compile(
    rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)|/Count\s+(\d+)[^>]*?/Type\s*/Pages\b"
)


def _page_count(data: bytes) -> int | None:
    chunks = [data]
    for match in _STREAM.finditer(data):
        try:
            chunks.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    counts = [int(a or b) for chunk in chunks for a, b in _PAGES_COUNT.findall(chunk)]
    return max(counts) if counts else None


def upgrade():
    with op.batch_alter_table("scorecards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("size_bytes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("page_count", sa.Integer(), nullable=True))
    # Scorecards issued before: measured once from their stored PDF, one row at a time.
    connection = op.get_bind()
    ids = connection.execute(sa.text("SELECT id FROM scorecards ORDER BY id")).scalars().all()
    for scorecard_id in ids:
        body = connection.execute(
            sa.text("SELECT pdf FROM scorecards WHERE id = :id"), {"id": scorecard_id}
        ).scalar_one()
        body = bytes(body or b"")
        connection.execute(
            sa.text("UPDATE scorecards SET size_bytes = :size, page_count = :pages WHERE id = :id"),
            {"size": len(body), "pages": _page_count(body), "id": scorecard_id},
        )
    with op.batch_alter_table("scorecards", schema=None) as batch_op:
        batch_op.alter_column("size_bytes", existing_type=sa.Integer(), nullable=False)


def downgrade():
    with op.batch_alter_table("scorecards", schema=None) as batch_op:
        batch_op.drop_column("page_count")
        batch_op.drop_column("size_bytes")
