"""The health score's weights of a partnership, and the client's logo."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DecimalField, HiddenField, SubmitField
from wtforms.validators import DataRequired, InputRequired, NumberRange

from mls_tracker.services.health import WEIGHT_COLUMNS as WEIGHT_FIELDS  # noqa: F401
from mls_tracker.services.health import ComponentKey


def _weight(label: str) -> DecimalField:
    return DecimalField(
        label,
        places=2,
        validators=[
            InputRequired("Enter a weight (0 leaves the component out)."),
            NumberRange(min=0, max=1000, message="Enter a weight from 0 to 1000."),
        ],
    )


class WeightsForm(FlaskForm):
    weight_sla = _weight(ComponentKey.SLA.label)
    weight_satisfaction = _weight(ComponentKey.SATISFACTION.label)
    weight_actions = _weight(ComponentKey.ACTIONS.label)
    weight_coverage = _weight(ComponentKey.COVERAGE.label)
    version = HiddenField(
        validators=[
            DataRequired("This form is out of date: open the page again and redo your change.")
        ]
    )
    submit = SubmitField("Save weights")


_OUT_OF_DATE = "This form is out of date: open the page again and redo your change."


class LogoForm(FlaskForm):
    file = FileField(
        "Logo image",
        validators=[FileRequired("Choose an image file: PNG, JPEG, GIF or WebP, up to 2 MB.")],
        description="PNG, JPEG, GIF or WebP, up to 2 MB and 4000 × 4000 pixels. It is stored "
        "as a PNG of at most 600 × 200 pixels, without the file's metadata.",
        render_kw={"accept": "image/png,image/jpeg,image/gif,image/webp"},
    )
    version = HiddenField(validators=[DataRequired(_OUT_OF_DATE)])
    submit = SubmitField("Upload logo")


class RemoveLogoForm(FlaskForm):
    version = HiddenField(validators=[DataRequired(_OUT_OF_DATE)])
    submit = SubmitField("Remove the logo")
