"""Survey import pages: upload a file, map its columns, preview and check it, commit it as a
background job, the import history (CSV too) and undoing an import."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from flask_security import auth_required

from mls_tracker import jobs, lists, page_parts
from mls_tracker.access import Action, can, get_partnership
from mls_tracker.errors import error_response
from mls_tracker.exports import csv_response
from mls_tracker.formhelp import attach_error, to_int
from mls_tracker.models import SurveyFormat
from mls_tracker.services import survey_import as service
from mls_tracker.services.errors import ValidationFailed
from mls_tracker.services.survey_files import (
    LEFT_OUT_KINDS,
    LEFT_OUT_NAMES,
    FileRejected,
    left_out_text,
)
from mls_tracker.survey_imports.forms import (
    FORMAT_NAMES,
    CommitForm,
    RetryForm,
    UndoForm,
    UploadForm,
    mapping_form,
)

bp = Blueprint(
    "survey_imports",
    __name__,
    url_prefix="/partnerships/<int:partnership_id>/satisfaction/imports",
)


@bp.errorhandler(413)
def _too_large(_error):
    return error_response(
        413,
        f"The file is larger than {service.upload_limit_text()}, the most this installation "
        "accepts. Split the responses into smaller files and upload each.",
    )


@bp.context_processor
def _helpers() -> dict:
    return {
        "format_names": FORMAT_NAMES,
        "format_short": {
            "generic": "Generic",
            "qualtrics": "Qualtrics",
            "surveymonkey": "SurveyMonkey",
            "microsoft forms": "Microsoft Forms",
            "google forms": "Google Forms",
        },
        "field_labels": service.FIELD_LABELS,
        "left_out_names": LEFT_OUT_NAMES,
        "left_out_text": left_out_text,
    }


def _format_arg(value: str | None) -> SurveyFormat | None:
    try:
        return SurveyFormat(value) if value else None
    except ValueError:
        return None


# ----------------------------------------------------------------------------- upload


@bp.route("/new", methods=["GET", "POST"])
@auth_required()
def new(partnership_id: int):
    partnership = get_partnership(partnership_id, Action.UPLOAD_SURVEYS)
    form = UploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            staged = service.stage_upload(
                current_user, partnership.id, upload.stream, upload.filename
            )
        except ValidationFailed as error:  # FileRejected too: the file cannot be read
            form.file.errors = [*form.file.errors, str(error)]
        else:
            return redirect(
                url_for(".mapping", partnership_id=partnership.id, upload_token=staged.token)
            )
    return render_template(
        "survey_imports/new.html",
        partnership=partnership,
        form=form,
        limit=service.upload_limit_text(),
    )


# ----------------------------------------------------------------------------- mapping


@bp.route("/<upload_token>/mapping", methods=["GET", "POST"])
@auth_required()
def mapping(partnership_id: int, upload_token: str):
    partnership = get_partnership(partnership_id, Action.UPLOAD_SURVEYS)
    staged = service.staged_upload(partnership.id, upload_token)
    posted = request.method == "POST"
    chosen_format = _format_arg(
        request.form.get("file_format") if posted else request.args.get("format")
    )
    try:
        file = service.open_for_mapping(staged, chosen_format)
    except FileRejected as error:
        flash(f"{error} Nothing was imported.", "danger")
        return redirect(url_for(".new", partnership_id=partnership.id))

    proposed = service.proposed_mapping(staged, file)
    if posted:
        keys = {column.key for column in file.columns}
        proposed = service.Mapping(
            format=file.format,
            columns={
                name: (value if (value := request.form.get(name)) in keys else None)
                for name in service.FIELDS
            },
            choices=proposed.choices,
            date_order=request.form.get("date_order")
            if request.form.get("date_order") in service.DATE_ORDERS
            else "auto",
            include=tuple(k for k in LEFT_OUT_KINDS if k in request.form.getlist("include")),
            rating_scale=request.form.get("rating_scale")
            if request.form.get("rating_scale") in service.RATING_SCALES
            else service.RATING_SCALE_DEFAULT,
        )
    # The scan reads every row: it counts the test, preview, spam and unfinished responses.
    file.include = frozenset(proposed.include)
    scan_error = None
    try:
        facts = service.scan_file(file, proposed)
    except ValidationFailed as error:
        scan_error = error
        facts = service.FileFacts({}, None, False)
    kinds_found = {
        kind: file.left_out.get(kind, 0) + file.included.get(kind, 0)
        for kind in LEFT_OUT_KINDS
        if file.left_out.get(kind) or file.included.get(kind)
    }
    form = mapping_form(file.columns, proposed, facts.choice_values)
    if scan_error is not None:
        attach_error(form, scan_error)
    decided = facts.date_order_found if facts.local_dates else None
    must_choose_order = facts.local_dates and decided is None

    if posted and form.validate_on_submit() and scan_error is None:
        missing_numbers = [
            name
            for fields in form.choice_fields.values()
            for _, name in fields
            if name not in request.form
        ]
        for name in missing_numbers:  # answers found in a newly chosen column
            field = getattr(form, name)
            field.errors = []
            field.raw_data = None
            field.data = _default_number(form, name, proposed)
        choices = {
            scale: {text: getattr(form, name).data for text, name in fields}
            for scale, fields in form.choice_fields.items()
        }
        chosen = service.Mapping(
            format=file.format,
            columns=proposed.columns,
            choices=choices,
            date_order=form.date_order.data,
            include=proposed.include,
            rating_scale=proposed.rating_scale,
        )
        order = service.resolve_date_order(chosen, facts)
        try:
            service.check_mapping(file, chosen)
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            if missing_numbers:
                form.form_errors.append(
                    "The columns you chose hold answers that are not numbers: check the number "
                    "given to each below, then check the file again."
                )
            elif order is None:
                form.date_order.errors = [
                    "Every date in the file could be read either way: choose whether the day "
                    "or the month comes first."
                ]
            else:
                job_id = service.submit_check(
                    current_user, partnership.id, staged.token, chosen, order
                )
                return redirect(
                    url_for(
                        ".preview",
                        partnership_id=partnership.id,
                        upload_token=staged.token,
                        check=job_id,
                    )
                )
    elif not posted:
        try:
            service.check_mapping(file, proposed)
        except ValidationFailed as error:
            attach_error(form, error)
        if must_choose_order and proposed.date_order == "auto":
            form.date_order.errors = [
                "Every date in the file could be read either way: choose whether the day "
                "or the month comes first."
            ]
    return render_template(
        "survey_imports/mapping.html",
        partnership=partnership,
        staged=staged,
        file=file,
        form=form,
        facts=facts,
        decided_order=decided,
        must_choose_order=must_choose_order,
        kinds_found=kinds_found,
        included=set(proposed.include),
    )


def _default_number(form, name: str, mapping: service.Mapping) -> int | None:
    for scale, fields in form.choice_fields.items():
        for text, field_name in fields:
            if field_name == name:
                remembered = mapping.choices.get(scale, {}).get(text)
                return remembered if remembered is not None else service.default_choice(scale, text)
    return None


# ----------------------------------------------------------------------------- preview and check


@bp.get("/<upload_token>/preview")
@auth_required()
def preview(partnership_id: int, upload_token: str):
    partnership = get_partnership(partnership_id, Action.UPLOAD_SURVEYS)
    staged = service.staged_upload(partnership.id, upload_token)
    back = url_for(".mapping", partnership_id=partnership.id, upload_token=staged.token)
    try:
        shown = service.preview_upload(staged, to_int(request.args.get("check")))
    except service.MappingNeeded as error:
        flash(str(error), "danger")
        return redirect(back)
    if shown is None:
        return redirect(back)
    commit_form = None
    # A file whose every response is left out (only tests, say) has nothing to import.
    if shown.outcome is not None and not shown.outcome.errors and shown.outcome.rows:
        commit_form = CommitForm(formdata=None, data={"digest": shown.mapping.digest()})
    return render_template(
        "survey_imports/preview.html",
        partnership=partnership,
        staged=staged,
        file=shown.file,
        mapping=shown.mapping,
        order=shown.order,
        columns={column.key: column for column in shown.file.columns},
        rows=shown.rows,
        outcome=shown.outcome,
        check_job=shown.check_job,
        commit_form=commit_form,
        retry_form=RetryForm(formdata=None),
        problems_shown=service.PROBLEMS_SHOWN,
    )


@bp.get("/<upload_token>/problems.csv")
@auth_required()
def problems(partnership_id: int, upload_token: str):
    partnership = get_partnership(partnership_id, Action.UPLOAD_SURVEYS)
    staged = service.staged_upload(partnership.id, upload_token)
    response = send_file(
        service.problems_csv(staged),
        mimetype="text/csv",
        as_attachment=True,
        download_name="import-problems.csv",
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<upload_token>/commit")
@auth_required()
def commit(partnership_id: int, upload_token: str):
    partnership = get_partnership(partnership_id, Action.UPLOAD_SURVEYS)
    staged = service.staged_upload(partnership.id, upload_token)
    form = CommitForm()
    digest = form.digest.data if form.validate_on_submit() else None
    back = url_for(".preview", partnership_id=partnership.id, upload_token=staged.token)
    try:
        job_id = service.submit_commit(current_user, partnership.id, staged.token, digest)
    except service.CheckNeeded as error:
        flash(str(error), "warning")
        return redirect(back)
    except ValidationFailed as error:
        flash(str(error), "danger")
        return redirect(back)
    return redirect(url_for(".result", partnership_id=partnership.id, import_job_id=job_id))


@bp.get("/results/<int:import_job_id>")
@auth_required()
def result(partnership_id: int, import_job_id: int):
    partnership = get_partnership(partnership_id, Action.UPLOAD_SURVEYS)
    shown = service.import_result(partnership.id, import_job_id)
    return render_template(
        "survey_imports/result.html",
        partnership=partnership,
        job=shown.job,
        token=shown.token,
        retry_form=RetryForm(formdata=None) if shown.token else None,
    )


@bp.post("/jobs/<int:survey_job_id>/retry")
@auth_required()
def retry(partnership_id: int, survey_job_id: int):
    """Queues a failed check or import again (its worker stopped, say)."""
    partnership = get_partnership(partnership_id, Action.UPLOAD_SURVEYS)
    form = RetryForm()
    if not form.validate_on_submit():
        flash("This page is out of date: reload it and try again.", "warning")
        return redirect(url_for(".index", partnership_id=partnership.id))
    try:
        view = service.retry_job(current_user, partnership.id, survey_job_id)
    except (jobs.JobFailed, ValidationFailed) as error:
        flash(str(error), "warning")
        return redirect(url_for(".index", partnership_id=partnership.id))
    if view.kind == service.CHECK_JOB:
        token = (view.result or {}).get("token") or service.job_token(view.id)
        return redirect(
            url_for(".preview", partnership_id=partnership.id, upload_token=token, check=view.id)
        )
    return redirect(url_for(".result", partnership_id=partnership.id, import_job_id=view.id))


# ----------------------------------------------------------------------------- history and undo


def _sort() -> str:
    sort = request.args.get("sort", "")
    return sort if sort in service.SORTS else "date"


@bp.get("/")
@auth_required()
def index(partnership_id: int):
    partnership = get_partnership(partnership_id)
    sort = _sort()
    may_upload = can(current_user, Action.UPLOAD_SURVEYS, partnership.id)
    may_undo = can(current_user, Action.MANAGE, partnership.id)

    def render_list() -> str:
        return render_template(
            "survey_imports/_list.html",
            partnership=partnership,
            imports=service.import_history(partnership.id, sort),
            sort=sort,
            may_upload=may_upload,
            may_undo=may_undo,
        )

    # The list marks the viewer's own uploads ("you"): remembered per viewer.
    key = (may_upload, may_undo, current_user.id)
    return render_template(
        "survey_imports/index.html",
        partnership=partnership,
        sort=sort,
        may_upload=may_upload,
        may_undo=may_undo,
        content=page_parts.default_view_with_forms(
            "survey_imports.index", partnership.id, key, render_list
        ),
    )


@bp.get("/export.csv")
@auth_required()
def export(partnership_id: int):
    partnership = get_partnership(partnership_id)
    views = service.import_history(partnership.id, _sort())
    return csv_response(
        f"survey-imports-{partnership.id}.csv",
        service.HISTORY_HEADER,
        service.history_rows(views),
    )


@bp.route("/<int:import_id>/undo", methods=["GET", "POST"])
@auth_required()
def undo(partnership_id: int, import_id: int):
    partnership = get_partnership(partnership_id, Action.MANAGE)
    view = service.import_view(partnership.id, import_id)
    back = lists.return_to(url_for(".index", partnership_id=partnership.id))
    if view.undone_at is not None:
        flash(f"The import of {view.file_name} is undone already.", "info")
        return redirect(back)
    form = UndoForm()
    if form.validate_on_submit():
        try:
            removed = service.undo_import(current_user, partnership.id, view.id)
        except ValidationFailed as error:
            flash(str(error), "warning")
        else:
            flash(
                f"Import of {view.file_name} undone: {removed:,} "
                f"response{'s' * (removed != 1)} removed.",
                "success",
            )
        return redirect(back)
    return render_template(
        "survey_imports/undo.html", partnership=partnership, view=view, form=form, cancel_url=back
    )


@bp.post("/<int:import_id>/confirm")
@auth_required()
def confirm(partnership_id: int, import_id: int):
    """A lead confirms a provider's proposed import: its responses count from now on."""
    partnership = get_partnership(partnership_id, Action.MANAGE)
    view = service.import_view(partnership.id, import_id)
    try:
        service.confirm_import(current_user, partnership.id, view.id)
    except ValidationFailed as error:
        flash(str(error), "warning")
    else:
        flash(
            f"Import of {view.file_name} confirmed: its {view.rows_added:,} "
            f"response{'s' * (view.rows_added != 1)} now count in every figure.",
            "success",
        )
    # Confirmed from the list opened from the lead's queue: back to the queue.
    return redirect(lists.return_to(url_for(".index", partnership_id=partnership.id)))
