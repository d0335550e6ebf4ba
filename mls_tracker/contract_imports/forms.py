"""Forms of the workbook import: the upload, and the preview's choices for unknown regions
and people (made for each workbook by ``decisions_form``)."""

from __future__ import annotations

import hashlib

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, SubmitField

from mls_tracker.services import contract_import as service


class UploadForm(FlaskForm):
    file = FileField(
        "Workbook (.xlsx) or one sheet (.csv)",
        validators=[FileRequired("Choose the filled-in workbook to upload.")],
        render_kw={"accept": ".xlsx,.csv,text/csv"},
    )
    submit = SubmitField("Upload and check")


class DecisionsForm(FlaskForm):
    check = SubmitField("Check again")
    submit = SubmitField("Import")

    region_fields: list[tuple[str, str]]  # (text in the workbook, field name)
    person_fields: list[tuple[str, str]]  # (e-mail, field name)


def _name(prefix: str, text: str) -> str:
    return f"{prefix}_{hashlib.sha1(text.lower().encode()).hexdigest()[:12]}"  # noqa: S324


def decisions_form(shown: service.Preview, **kwargs) -> DecisionsForm:
    class Form(DecisionsForm):
        pass

    region_choices = [("", "— choose a region —")] + [
        (str(r.id), f"{r.code} · {r.name}") for r in shown.regions
    ]
    if shown.may_create_regions:
        region_choices.append((service.NEW_REGION, "Create it as a new region"))
    person_choices = [("", "Leave unassigned")] + [
        (role.value, f"Invite as {role.value}") for role in service.INVITE_ROLES
    ]
    regions, people = [], []
    for text in shown.plan.unknown_regions:
        name = _name("region", text)
        setattr(Form, name, SelectField(f"“{text}”", choices=region_choices, default=""))
        regions.append((text, name))
    for email in shown.plan.unknown_people:
        name = _name("person", email)
        setattr(Form, name, SelectField(email, choices=person_choices, default=""))
        people.append((email, name))
    form = Form(**kwargs)
    form.region_fields = regions
    form.person_fields = people
    return form


def decisions_of(form: DecisionsForm) -> service.Decisions:
    return service.Decisions(
        regions={
            text.lower(): value
            for text, name in form.region_fields
            if (value := getattr(form, name).data)
        },
        people={
            email: value
            for email, name in form.person_fields
            if (value := getattr(form, name).data)
        },
    )


class RetryForm(FlaskForm):
    """Only a button: the CSRF token is its content."""

    submit = SubmitField("Retry")
