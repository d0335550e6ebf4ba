"""Forms of the review pages: opening a review, its summary and featured wins, issuing,
sending to sponsors, and the one-button forms (refresh, resend, retry)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    SubmitField,
)
from wtforms.validators import DataRequired, InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from mls_tracker.changes.forms import version_field
from mls_tracker.formhelp import TextAreaField
from mls_tracker.services.reviews import (
    COMMENTARY_MAX,
    DECISIONS_MAX,
    FEATURED_WINS_MAX,
    KEY_MESSAGE_CHARS,
    KEY_MESSAGES_MAX,
    RETURN_REASON_MAX,
    SUMMARY_MAX,
)


class CheckboxesField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes; choices are set by the view."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class OpenReviewForm(FlaskForm):
    """``period`` choices ("monthly:2026-10", "quarterly:2026-07") are set by the view."""

    period = SelectField(
        "Period",
        validators=[InputRequired("Choose the month or quarter to review.")],
        validate_choice=False,
    )
    submit = SubmitField("Open review")


class ReviewForm(FlaskForm):
    """The lead's part of a review. Win choices are set by the view."""

    executive_summary = TextAreaField(
        "Executive summary",
        validators=[
            Length(max=SUMMARY_MAX, message=f"Keep the summary under {SUMMARY_MAX:,} characters.")
        ],
        render_kw={"rows": 8},
        description="What a sponsor should take away in a minute: plain text, blank lines "
        f"between paragraphs, up to {SUMMARY_MAX:,} characters.",
    )
    featured_win_ids = CheckboxesField(
        f"Wins to feature (at most {FEATURED_WINS_MAX})", coerce=int, validate_choice=False
    )
    version = version_field()
    submit = SubmitField("Save summary")


class StoryForm(FlaskForm):
    """The lead's part of the cover: key messages (one a line) and decisions and asks."""

    key_messages = TextAreaField(
        "Key messages",
        render_kw={
            "rows": 9,
            "data-lines-max": KEY_MESSAGES_MAX,
            "data-line-chars": KEY_MESSAGE_CHARS,
        },
        description=f"One message a line, most important first: at most {KEY_MESSAGES_MAX}, "
        f"each up to {KEY_MESSAGE_CHARS} characters, in words a sponsor uses.",
    )
    decisions_asks = TextAreaField(
        "Decisions and asks of sponsors",
        validators=[
            Length(max=DECISIONS_MAX, message=f"Keep it under {DECISIONS_MAX:,} characters.")
        ],
        render_kw={"rows": 4, "maxlength": DECISIONS_MAX},
        description="What you need the sponsors to decide or do; boxed on the cover. "
        f"Up to {DECISIONS_MAX:,} characters.",
    )
    version = version_field()
    submit = SubmitField("Save cover story")


class CommentaryForm(FlaskForm):
    """The provider's commentary: saved as a draft or submitted for a lead's approval."""

    text = TextAreaField(
        "Commentary",
        validators=[
            Length(max=COMMENTARY_MAX, message=f"Keep it under {COMMENTARY_MAX:,} characters.")
        ],
        render_kw={"rows": 6, "maxlength": COMMENTARY_MAX},
        description="Your view of the period for the client's sponsors, shown on the "
        f"scorecard's cover with your name once a lead approves it. Up to {COMMENTARY_MAX:,} "
        "characters.",
    )
    save = SubmitField("Save draft")
    submit = SubmitField("Submit for approval")


class CommentaryDecisionForm(FlaskForm):
    """A lead approves the submitted commentary, or returns it with a reason."""

    reason = TextAreaField(
        "Reason for returning it",
        validators=[
            Length(max=RETURN_REASON_MAX, message=f"Keep it under {RETURN_REASON_MAX} characters.")
        ],
        render_kw={"rows": 2, "maxlength": RETURN_REASON_MAX},
        description="Needed only to return it; the provider sees it.",
    )
    approve = SubmitField("Approve")
    send_back = SubmitField("Return to the provider")


class IssueForm(FlaskForm):
    """Issuing freezes what the lead last saw: the review's version travels with the button."""

    version = HiddenField(
        validators=[DataRequired("This page is out of date: look at the review again, then issue.")]
    )
    # Shown only when it applies: the lead's explicit go-ahead.
    confirm_stale_summary = BooleanField(
        "Issue the summary as it is, although it was written for other figures"
    )
    # Only the confirmation page, which says that an issued version stays for good, sends it.
    confirm = HiddenField(
        default="yes",
        validators=[InputRequired("Issue it from the page that says what issuing fixes.")],
    )
    submit = SubmitField("Issue")


class SendForm(FlaskForm):
    """Region choices are set by the view."""

    audience = RadioField(
        "Send to",
        choices=[("all", "Every active sponsor"), ("regions", "The sponsors of chosen regions")],
        validators=[InputRequired("Choose who receives the scorecard.")],
    )
    region_ids = CheckboxesField("Regions", coerce=int, validate_choice=False)
    submit = SubmitField("Send scorecard")


class ButtonForm(FlaskForm):
    """A form that is only a button (refresh, resend, retry): the CSRF token is its content."""

    submit = SubmitField("Go")


__all__ = [
    "ButtonForm",
    "CheckboxesField",
    "CommentaryDecisionForm",
    "CommentaryForm",
    "IssueForm",
    "OpenReviewForm",
    "ReviewForm",
    "SendForm",
    "StoryForm",
]
