"""The form on a sponsor's acknowledgement page: mark as reviewed, with an optional comment."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SubmitField
from wtforms.validators import Length

from mls_tracker.formhelp import TextAreaField
from mls_tracker.scorecards.delivery import COMMENT_MAX_LENGTH


class AcknowledgeForm(FlaskForm):
    comment = TextAreaField(
        "Comment (optional)",
        validators=[
            Length(
                max=COMMENT_MAX_LENGTH,
                message=f"Keep the comment to {COMMENT_MAX_LENGTH:,} characters.",
            )
        ],
        # Line breaks arrive as CR LF: counted as one character, as the browser counts them.
        filters=[lambda value: value.replace("\r\n", "\n") if value else value],
        description="It goes on the agenda of the next governance meeting "
        f"(up to {COMMENT_MAX_LENGTH:,} characters).",
        render_kw={"rows": 4, "maxlength": COMMENT_MAX_LENGTH, "data-char-counter": ""},
    )
    submit = SubmitField("Mark as reviewed")
