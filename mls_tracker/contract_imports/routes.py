"""Bringing an existing partnership in: the workbook template, upload, preview, import job."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_security import auth_required

from mls_tracker import jobs
from mls_tracker.access import Action, get_partnership
from mls_tracker.contract_imports.forms import (
    RetryForm,
    UploadForm,
    decisions_form,
    decisions_of,
)
from mls_tracker.services import contract_import as service
from mls_tracker.services import contract_workbook as workbook
from mls_tracker.services.errors import ValidationFailed

bp = Blueprint("contract_imports", __name__)

_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(data: bytes, mimetype: str, name: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/import/template.xlsx")
@auth_required()
def template():
    return _download(workbook.template_xlsx(), _XLSX, "partnership-workbook.xlsx")


@bp.get("/import/template-csv.zip")
@auth_required()
def template_csv():
    return _download(workbook.template_csv_zip(), "application/zip", "partnership-workbook-csv.zip")


@bp.route("/partnerships/<int:partnership_id>/import", methods=["GET", "POST"])
@auth_required()
def new(partnership_id: int):
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = UploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            staged = service.stage_upload(
                current_user, partnership.id, upload.stream, upload.filename
            )
        except ValidationFailed as error:
            form.file.errors = [*form.file.errors, str(error)]
        else:
            return redirect(
                url_for(".preview", partnership_id=partnership.id, workbook_token=staged.token)
            )
    return render_template(
        "contract_imports/new.html",
        partnership=partnership,
        form=form,
        sheets=workbook.SHEETS,
        limit=service.upload_limit_text(),
    )


@bp.route("/partnerships/<int:partnership_id>/import/<workbook_token>", methods=["GET", "POST"])
@auth_required()
def preview(partnership_id: int, workbook_token: str):
    partnership = get_partnership(partnership_id, Action.MANAGE)
    shown = service.preview(current_user, partnership.id, workbook_token)
    form = decisions_form(shown)
    refused = None
    if form.validate_on_submit():
        decisions = decisions_of(form)
        if form.submit.data:
            try:
                job_id = service.submit(current_user, partnership.id, workbook_token, decisions)
            except ValidationFailed as error:
                refused = str(error)
            else:
                return redirect(
                    url_for(".result", partnership_id=partnership.id, workbook_job_id=job_id)
                )
        shown = service.preview(current_user, partnership.id, workbook_token, decisions)
    return render_template(
        "contract_imports/preview.html",
        partnership=partnership,
        shown=shown,
        plan=shown.plan,
        form=form,
        refused=refused,
        problems_shown=service.PROBLEMS_SHOWN,
        sheet_names=[s.name for s in workbook.SHEETS],
    )


@bp.get("/partnerships/<int:partnership_id>/import/jobs/<int:workbook_job_id>")
@auth_required()
def result(partnership_id: int, workbook_job_id: int):
    partnership = get_partnership(partnership_id, Action.MANAGE)
    job = service.job_view(partnership.id, workbook_job_id)
    return render_template(
        "contract_imports/result.html",
        partnership=partnership,
        job=job,
        done_url=request.url,
        retry_form=RetryForm(formdata=None) if service.retryable(partnership.id, job) else None,
    )


@bp.post("/partnerships/<int:partnership_id>/import/jobs/<int:workbook_job_id>/retry")
@auth_required()
def retry(partnership_id: int, workbook_job_id: int):
    """Queues a failed import again (its worker stopped, say)."""
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = RetryForm()
    if not form.validate_on_submit():
        flash("This page is out of date: reload it and try again.", "warning")
    else:
        try:
            service.retry(current_user, partnership.id, workbook_job_id)
        except (jobs.JobFailed, ValidationFailed) as error:
            flash(str(error), "warning")
    return redirect(
        url_for(".result", partnership_id=partnership.id, workbook_job_id=workbook_job_id)
    )
