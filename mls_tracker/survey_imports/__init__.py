"""Survey imports: upload a file, map its columns, preview, commit, history and undo."""

from flask import Blueprint

bp = Blueprint(
    "survey_imports",
    __name__,
    url_prefix="/partnerships/<int:partnership_id>/satisfaction/imports",
)

from mls_tracker.survey_imports import routes  # noqa: E402, F401
