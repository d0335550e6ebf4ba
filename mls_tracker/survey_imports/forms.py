"""Forms of the survey import: the upload, the column mapping (with a number for each
choice text found in the file), the commit and the undo confirmation."""

from __future__ import annotations

import hashlib
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, IntegerField, RadioField, SelectField, SubmitField
from wtforms.validators import InputRequired, NumberRange

from mls_tracker.models import SurveyFormat
from mls_tracker.services import survey_import as service

FORMAT_NAMES = {
    SurveyFormat.GENERIC: "Generic (the documented columns)",
    SurveyFormat.QUALTRICS: "Qualtrics",
    SurveyFormat.SURVEYMONKEY: "SurveyMonkey",
    SurveyFormat.MICROSOFT_FORMS: "Microsoft Forms",
    SurveyFormat.GOOGLE_FORMS: "Google Forms",
}
NOT_MAPPED = ""


class UploadForm(FlaskForm):
    file = FileField(
        "Survey file (CSV or XLSX)",
        validators=[FileRequired("Choose a CSV or XLSX file to upload.")],
        render_kw={"accept": ".csv,.xlsx,text/csv"},
    )
    submit = SubmitField("Upload and map the columns")


class MappingForm(FlaskForm):
    """Column choices and the choice-text fields are set by ``mapping_form``."""

    file_format = HiddenField()
    response_id = SelectField(service.FIELD_LABELS["response_id"], validate_choice=True)
    submitted_at = SelectField(service.FIELD_LABELS["submitted_at"], validate_choice=True)
    rating = SelectField(service.FIELD_LABELS["rating"], validate_choice=True)
    recommend = SelectField(service.FIELD_LABELS["recommend"], validate_choice=True)
    program = SelectField(service.FIELD_LABELS["program"], validate_choice=True)
    region = SelectField(service.FIELD_LABELS["region"], validate_choice=True)
    comment = SelectField(service.FIELD_LABELS["comment"], validate_choice=True)
    rating_scale = SelectField(
        "Scale of the satisfaction question",
        choices=[
            ("1-5", "1–5 (as the figures)"),
            ("1-7", "1–7, mapped to 1–5"),
            ("1-10", "1–10, mapped to 1–5"),
            ("0-10", "0–10, mapped to 1–5"),
        ],
        default="1-5",
    )
    date_order = RadioField(
        "Dates such as 03/11/2026 are",
        choices=[
            ("auto", "Decided from the file"),
            ("dmy", "Day first (03/11/2026 is 3 November)"),
            ("mdy", "Month first (03/11/2026 is 11 March)"),
        ],
        default="auto",
    )
    submit = SubmitField("Check the whole file")

    choice_fields: dict[str, list[tuple[str, str]]]  # scale → [(answer text, field name)]


def choice_field_name(scale: str, text: str) -> str:
    return f"c_{scale}_{hashlib.sha1(text.encode()).hexdigest()[:12]}"  # noqa: S324 - a name


def mapping_form(
    columns: list, mapping: service.Mapping, choice_values: dict[str, list[str]], **kwargs: Any
) -> MappingForm:
    """A mapping form for these columns and these choice texts, filled with ``mapping``
    (when the request carries no form data)."""

    class Form(MappingForm):
        pass

    choice_fields: dict[str, list[tuple[str, str]]] = {}
    defaults: dict[str, Any] = {}
    for scale, texts in choice_values.items():
        low, high = service.SCALES[scale]
        for text in texts:
            name = choice_field_name(scale, text)
            setattr(
                Form,
                name,
                IntegerField(
                    text,
                    validators=[
                        InputRequired(f"Give “{text}” a number from {low} to {high}."),
                        NumberRange(low, high, f"Give “{text}” a number from {low} to {high}."),
                    ],
                    render_kw={"min": low, "max": high, "inputmode": "numeric"},
                ),
            )
            choice_fields.setdefault(scale, []).append((text, name))
            remembered = mapping.choices.get(scale, {}).get(text)
            defaults[name] = (
                remembered if remembered is not None else service.default_choice(scale, text)
            )
    defaults.update({name: mapping.columns.get(name) or NOT_MAPPED for name in service.FIELDS})
    defaults["file_format"] = mapping.format.value
    defaults["date_order"] = mapping.date_order
    defaults["rating_scale"] = mapping.rating_scale
    form = Form(data=defaults, **kwargs)
    options = [(NOT_MAPPED, "— not in this file —")] + [
        (column.key, _column_text(column)) for column in columns
    ]
    for name in service.FIELDS:
        getattr(form, name).choices = options
    form.choice_fields = choice_fields
    return form


def _column_text(column) -> str:
    label = column.label if len(column.label) <= 70 else column.label[:67] + "…"
    if column.key and column.key != column.label and len(column.key) <= 20:
        return f"{label} [{column.key}]"
    return label or f"Column {column.index + 1}"


class CommitForm(FlaskForm):
    digest = HiddenField(validators=[InputRequired()])
    submit = SubmitField("Import")


class RetryForm(FlaskForm):
    """Only a button: the CSRF token is its content."""

    submit = SubmitField("Retry")


class UndoForm(FlaskForm):
    confirm = HiddenField(
        validators=[InputRequired("Undo it from the page that says what undoing deletes.")],
        default="yes",
    )
    submit = SubmitField("Undo this import")
