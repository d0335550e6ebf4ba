"""Google Forms is a survey format of its own (issue 15, point 14): the format check of
survey_imports and import_mappings accepts "google forms"

Revision ID: d5f1b7c3a9e2
Revises: c4e8a1f3b9d2
Create Date: 2026-12-05 08:00:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "d5f1b7c3a9e2"
down_revision = "c4e8a1f3b9d2"
branch_labels = None
depends_on = None

TABLES = ("survey_imports", "import_mappings")
BEFORE = ("generic", "qualtrics", "surveymonkey", "microsoft forms")
AFTER = (*BEFORE, "google forms")


def _formats(table: str, formats: tuple[str, ...]) -> None:
    allowed = ", ".join(f"'{name}'" for name in formats)
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(f"ck_{table}_format"), type_="check")
        batch_op.create_check_constraint(op.f(f"ck_{table}_format"), f"file_format IN ({allowed})")


def upgrade():
    for table in TABLES:
        _formats(table, AFTER)


def downgrade():
    # Imports keep their responses and are labelled generic; a remembered Google Forms
    # mapping is dropped (a partnership has one mapping per format).
    op.execute(
        "UPDATE survey_imports SET file_format = 'generic' WHERE file_format = 'google forms'"
    )
    op.execute("DELETE FROM import_mappings WHERE file_format = 'google forms'")
    for table in TABLES:
        _formats(table, BEFORE)
