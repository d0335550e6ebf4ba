"""Review pages: the list (sorted, as CSV), opening a review, one review with its summary,
figures, scorecard archive and deliveries, the preview, issuing and sending as background
jobs, downloading an issued PDF, and the comparison with the previous review."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_security import auth_required
from markupsafe import Markup

from mls_tracker import assets, jobs, page_parts
from mls_tracker.access import Action, can, get_object, get_partnership
from mls_tracker.acknowledgements.forms import AcknowledgeForm
from mls_tracker.exports import csv_response, scorecard_pdf
from mls_tracker.exports import slug as slug_of
from mls_tracker.formatting import viewer_zone
from mls_tracker.formhelp import attach_error, to_int
from mls_tracker.models import (
    Partnership,
    Review,
    ReviewKind,
    Scorecard,
    ScorecardDelivery,
)
from mls_tracker.periods import utc_today
from mls_tracker.reviews.forms import (
    ButtonForm,
    CommentaryDecisionForm,
    CommentaryForm,
    IssueForm,
    OpenReviewForm,
    ReviewForm,
    SendForm,
    StoryForm,
)
from mls_tracker.scorecards import delivery as delivery_service
from mls_tracker.scorecards import html as reports
from mls_tracker.scorecards import issuing as scorecard_service
from mls_tracker.scorecards.snapshot import ScorecardData, ScorecardMeta
from mls_tracker.services import reviews as service
from mls_tracker.services import slas as sla_service
from mls_tracker.services import sponsor_reading as reading
from mls_tracker.services.errors import Conflict, PermissionDenied, ValidationFailed

bp = Blueprint("reviews", __name__, url_prefix="/partnerships/<int:partnership_id>/reviews")


CSV_COLUMNS = (
    "Period",
    "Kind",
    "First month",
    "Last month",
    "Figures computed on",
    "State",
    "Latest version",
    "Issued at (UTC)",
    "Issued by",
    "Deliveries sent",
    "Deliveries failed",
    "Acknowledged",
)


# ----------------------------------------------------------------------------- periods


def _set_period_choices(form: OpenReviewForm, choices: Sequence[service.PeriodChoice]) -> None:
    groups: dict[str, list[tuple[str, str]]] = {}
    for choice in choices:
        group = "Months" if choice.kind is ReviewKind.MONTHLY else "Quarters (QBR)"
        groups.setdefault(group, []).append((choice.value, choice.label))
    form.period.choices = groups
    if not form.is_submitted() and choices:
        form.period.data = choices[0].value


def _open_form(partnership: Partnership) -> tuple[OpenReviewForm, list[service.PeriodChoice]]:
    form = OpenReviewForm()
    choices = service.period_choices(partnership, utc_today())
    _set_period_choices(form, choices)
    return form, choices


# ----------------------------------------------------------------------------- the list


def _sort() -> str:
    sort = request.args.get("sort", "")
    return sort if sort in service.SORTS else service.SORTS[0]


def _csv_rows(rows: Iterable[service.ReviewRow]) -> Iterable[Sequence]:
    for row in rows:
        yield (
            row.label,
            row.kind,
            str(row.first_month),
            str(row.last_month),
            row.computed_on.isoformat() if row.computed_on else "",
            f"issued (version {row.version})" if row.issued else "draft",
            row.version or "",
            row.issued_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M") if row.issued_at else "",
            row.issued_by or "",
            row.sent,
            row.failed,
            row.acknowledged,
        )


@bp.get("/")
@auth_required()
def index(partnership_id: int):
    partnership = get_partnership(partnership_id)
    may_manage = can(current_user, Action.MANAGE, partnership.id)
    # Providers see the drafts too: each has a commentary for them to write (issue 19).
    with_drafts = may_manage or can(current_user, Action.WRITE_PROVIDER_COMMENTARY, partnership.id)
    sort = _sort()
    today = utc_today()

    def compute() -> tuple[str | None, Markup]:
        """The lead's "open a review" card (its form without the session's CSRF token) and
        the list as rendered: remembered per data version and day."""
        open_review = None
        if may_manage:
            form = OpenReviewForm(formdata=None)
            choices = service.period_choices(partnership, today)
            _set_period_choices(form, choices)
            open_review = page_parts.tokenless(
                lambda: render_template(
                    "reviews/_open_review.html", partnership=partnership, form=form, choices=choices
                )
            )()
        rows = service.review_rows(partnership.id, issued_only=not with_drafts, sort=sort)
        content = page_parts.rendered(
            "reviews/_list.html",
            partnership=partnership,
            reviews=rows,
            sort=sort,
            may_manage=may_manage,
        )
        return open_review, content

    open_review, content = page_parts.default_data(
        "reviews.index", partnership.id, (today, may_manage, with_drafts), compute
    )
    return render_template(
        "reviews/index.html",
        partnership=partnership,
        sort=sort,
        may_manage=may_manage,
        open_review=page_parts.with_token(open_review) if open_review else None,
        content=content,
    )


@bp.get("/export.csv")
@auth_required()
def export(partnership_id: int):
    partnership = get_partnership(partnership_id)
    may_manage = can(current_user, Action.MANAGE, partnership.id)
    rows = service.review_rows(partnership.id, issued_only=not may_manage, sort=_sort())
    return csv_response(
        f"reviews-{slug_of(partnership.name)}-{utc_today()}.csv", CSV_COLUMNS, _csv_rows(rows)
    )


@bp.route("/new", methods=["GET", "POST"])
@auth_required()
def new(partnership_id: int):
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form, choices = _open_form(partnership)
    if form.validate_on_submit():
        chosen = next((choice for choice in choices if choice.value == form.period.data), None)
        if chosen is None:
            form.period.errors = [
                *form.period.errors,
                "Choose one of the periods listed: a complete month or quarter not reviewed yet.",
            ]
        else:
            try:
                review = service.open_review(
                    current_user,
                    partnership.id,
                    kind=chosen.kind,
                    first_month=chosen.first_month,
                    today=utc_today(),
                )
            except ValidationFailed as error:
                if error.field in ("kind", "first_month", "last_month", "period"):
                    error.field = "period"
                attach_error(form, error)
            else:
                flash(f"Review of {chosen.label} opened: its figures are computed.", "success")
                return redirect(
                    url_for(".show", partnership_id=partnership.id, review_id=review.id)
                )
    return render_template("reviews/new.html", partnership=partnership, form=form, choices=choices)


# ----------------------------------------------------------------------------- one review


def _get_review(partnership_id: int, review_id: int, action: Action = Action.VIEW) -> Review:
    """A review of the partnership. Drafts (never issued) are the leads': anyone else gets
    a 403, as for any page they may not use; another partnership's review is a 404."""
    return service.get_review(current_user, partnership_id, review_id, action)


def _review_form(review: Review, formdata: bool) -> ReviewForm:
    form = ReviewForm() if formdata else ReviewForm(formdata=None)
    form.featured_win_ids.choices = service.win_choices(review)
    if not formdata:
        form.executive_summary.data = review.executive_summary or ""
        form.featured_win_ids.data = [win.id for win in review.featured_wins]
        form.version.data = str(review.version)
    return form


def _story_form(review: Review, formdata: bool) -> StoryForm:
    form = StoryForm() if formdata else StoryForm(formdata=None)
    if not formdata:
        form.key_messages.data = "\n".join(review.key_messages or [])
        form.decisions_asks.data = review.decisions_asks or ""
        form.version.data = str(review.version)
    return form


def _render_show(
    partnership: Partnership,
    review: Review | service.ReviewFacts,
    *,
    form: ReviewForm | None = None,
    conflict: dict | None = None,
    story_form: StoryForm | None = None,
    decision_form: CommentaryDecisionForm | None = None,
    remembered: bool = False,
) -> str:
    """The review page. Leads see the working figures; everyone else the issued ones. Its
    body is ``remembered`` (the page as first shown, without a form's posted values) per
    data version, day and viewer — the deliveries to the viewer are theirs — with a mark in
    place of the session's CSRF token. Given the review's facts, the review is loaded only
    when the body is rendered."""
    may_manage = can(current_user, Action.MANAGE, partnership.id)
    may_comment = (
        can(current_user, Action.WRITE_PROVIDER_COMMENTARY, partnership.id) and not may_manage
    )
    label = service.period_label(review.kind, review.first_month, review.last_month)

    def render_body() -> str:
        loaded = (
            review
            if isinstance(review, Review)
            else _get_review(partnership.id, review.id)  # as the facts were checked
        )
        return render_template(
            "reviews/_show.html",
            **_show_context(
                partnership,
                loaded,
                may_manage=may_manage,
                may_comment=may_comment,
                label=label,
                form=form,
                conflict=conflict,
                story_form=story_form,
                decision_form=decision_form,
            ),
        )

    if remembered:
        content = page_parts.default_view_with_forms(
            "reviews.show",
            partnership.id,
            (
                review.id,
                utc_today(),
                may_manage,
                may_comment,
                getattr(current_user, "id", None),
                str(viewer_zone()),  # times are shown in the viewer's zone
            ),
            render_body,
        )
    else:
        content = Markup(render_body())  # noqa: S704 (a template's output)
    return render_template(
        "reviews/show.html", partnership=partnership, label=label, content=content
    )


def _show_context(
    partnership: Partnership,
    review: Review,
    *,
    may_manage: bool,
    may_comment: bool,
    label: str,
    form: ReviewForm | None,
    conflict: dict | None,
    story_form: StoryForm | None,
    decision_form: CommentaryDecisionForm | None,
) -> dict[str, object]:
    """What reviews/_show.html shows."""
    scorecards = service.scorecard_versions(
        review, getattr(current_user, "id", None), getattr(current_user, "email", None)
    )
    shown_version = None
    if may_manage:
        data = service.review_data(review)
    else:
        issued = service.issued_data(review)
        if issued is None:  # _get_review already refuses drafts to non-leads
            raise PermissionDenied()
        data, shown_version = issued
    if may_manage and form is None:
        form = _review_form(review, formdata=False)
    if may_manage and story_form is None:
        story_form = _story_form(review, formdata=False)
    if may_manage and decision_form is None:
        decision_form = CommentaryDecisionForm(formdata=None)
    mine = [d for s in scorecards for d in s.deliveries if d.mine]
    # A signed-in sponsor acknowledges in the app, on the same row the e-mailed link writes.
    acknowledge_urls = {
        d.id: url_for(".scorecard", partnership_id=partnership.id, scorecard_id=d.scorecard_id)
        for d in mine
        if d.acknowledged_at is None
    }
    return {
        "partnership": partnership,
        "review": review,
        "label": label,
        "data": data,
        "shown_version": shown_version,
        "scorecards": scorecards,
        "may_manage": may_manage,
        "form": form,
        "conflict": conflict,
        "button_form": ButtonForm(formdata=None),
        "next_version": (scorecards[0].version + 1) if scorecards else 1,
        "my_deliveries": mine,
        "acknowledge_urls": acknowledge_urls,
        "has_previous": service.previous_review(review) is not None,
        "summary_check": service.summary_check(review) if may_manage else None,
        "story_form": story_form,
        "decision_form": decision_form,
        "messages_check": service.key_messages_check(review) if may_manage else None,
        "may_comment": may_comment,
        "proposed": sla_service.proposed_actuals(
            partnership.id, review.first_month, review.last_month
        )
        if may_manage
        else [],
    }


@bp.get("/<int:review_id>")
@auth_required()
def show(partnership_id: int, review_id: int):
    """The body is remembered: on a revisit the review itself is not loaded, only its
    facts (period, issued), remembered too."""
    facts = service.review_facts(current_user, partnership_id, review_id)
    partnership = get_partnership(partnership_id)
    return _render_show(partnership, facts, remembered=True)


@bp.post("/<int:review_id>/edit")
@auth_required()
def edit(partnership_id: int, review_id: int):
    review = _get_review(partnership_id, review_id, Action.MANAGE)
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = _review_form(review, formdata=True)
    conflict = None
    if form.validate_on_submit():
        try:
            service.update_review(
                current_user,
                review.id,
                executive_summary=form.executive_summary.data or "",
                featured_win_ids=form.featured_win_ids.data or [],
                expected_version=to_int(form.version.data),
            )
        except ValidationFailed as error:
            attach_error(form, error)
        except Conflict as error:
            review = service.review_as_stored(review)
            chosen = dict(form.featured_win_ids.choices)
            conflict = {
                "message": str(error),
                "executive_summary": review.executive_summary or "",
                "wins": [chosen.get(win.id, win.title) for win in review.featured_wins],
            }
            # Saving again now is a deliberate choice to replace the version shown.
            form.version.data = str(review.version)
        else:
            flash("Summary and featured wins saved.", "success")
            return redirect(
                url_for(".show", partnership_id=partnership.id, review_id=review.id) + "#summary"
            )
    return _render_show(partnership, review, form=form, conflict=conflict)


def _saved(form, save: Callable[[], object]) -> bool:
    """Run a service's save for a form: its refusal is shown beside the field it names (or
    above the form), someone else's save first above the form; True when it was saved."""
    try:
        save()
    except ValidationFailed as error:
        attach_error(form, error)
    except Conflict as error:
        form.form_errors.append(str(error))
    else:
        return True
    return False


@bp.post("/<int:review_id>/story")
@auth_required()
def story(partnership_id: int, review_id: int):
    review = _get_review(partnership_id, review_id, Action.MANAGE)
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = _story_form(review, formdata=True)
    if form.validate_on_submit():
        saved = _saved(
            form,
            lambda: service.update_story(
                current_user,
                review.id,
                key_messages=form.key_messages.data or "",
                decisions_asks=form.decisions_asks.data or "",
                expected_version=to_int(form.version.data),
            ),
        )
        if not saved:
            form.version.data = str(service.review_as_stored(review).version)
        else:
            flash("Key messages and decisions saved.", "success")
            return redirect(
                url_for(".show", partnership_id=partnership.id, review_id=review.id)
                + "#cover-story"
            )
    return _render_show(partnership, review, story_form=form)


@bp.post("/<int:review_id>/story/redraft")
@auth_required()
def redraft_messages(partnership_id: int, review_id: int):
    review = _get_review(partnership_id, review_id, Action.MANAGE)
    back = url_for(".show", partnership_id=partnership_id, review_id=review.id) + "#cover-story"
    if not ButtonForm().validate_on_submit():
        flash("This page is out of date: reload it and try again.", "warning")
        return redirect(back)
    try:
        service.redraft_key_messages(current_user, review.id)
    except (ValidationFailed, Conflict) as error:
        flash(str(error), "warning")
    else:
        flash("Key messages drafted again from the figures.", "success")
    return redirect(back)


@bp.post("/<int:review_id>/commentary/decide")
@auth_required()
def decide_commentary(partnership_id: int, review_id: int):
    review = _get_review(partnership_id, review_id, Action.MANAGE)
    partnership = get_partnership(partnership_id, Action.MANAGE)
    form = CommentaryDecisionForm()
    if form.validate_on_submit():
        approve = bool(form.approve.data)
        if _saved(
            form,
            lambda: service.decide_commentary(
                current_user, review.id, approve=approve, reason=form.reason.data or ""
            ),
        ):
            flash(
                "Commentary approved: it goes on the scorecard's cover."
                if approve
                else "Commentary returned to the provider.",
                "success",
            )
            return redirect(
                url_for(".show", partnership_id=partnership.id, review_id=review.id)
                + "#cover-story"
            )
    return _render_show(partnership, review, decision_form=form)


@bp.route("/<int:review_id>/commentary", methods=["GET", "POST"])
@auth_required()
def commentary(partnership_id: int, review_id: int):
    """The provider's commentary on a review (issued or not): written, saved, submitted."""
    review = service.get_review_for_commentary(current_user, partnership_id, review_id)
    partnership = get_partnership(partnership_id)
    if request.method == "GET":
        form = CommentaryForm(formdata=None)
        form.text.data = review.provider_commentary or ""
    else:
        form = CommentaryForm()
        if form.validate_on_submit():
            submit = bool(form.submit.data)
            if _saved(
                form,
                lambda: service.save_commentary(
                    current_user, partnership_id, review.id, text=form.text.data, submit=submit
                ),
            ):
                flash(
                    "Commentary submitted: a lead of the partnership approves it for the scorecard."
                    if submit
                    else "Commentary saved as a draft.",
                    "success",
                )
                return redirect(
                    url_for(".commentary", partnership_id=partnership_id, review_id=review.id)
                )
    return render_template(
        "reviews/commentary.html",
        partnership=partnership,
        review=review,
        label=service.period_label(review.kind, review.first_month, review.last_month),
        form=form,
    )


@bp.post("/<int:review_id>/refresh")
@auth_required()
def refresh(partnership_id: int, review_id: int):
    review = _get_review(partnership_id, review_id, Action.MANAGE)
    form = ButtonForm()
    if form.validate_on_submit():
        try:
            summary_before = review.executive_summary
            service.refresh_review(current_user, review.id, utc_today())
        except (ValidationFailed, Conflict) as error:
            flash(str(error), "warning")
        else:
            stale = service.summary_check(review)
            if stale.stale:
                flash(
                    "Figures computed again from today's data. The executive summary was "
                    f"written for other figures ({stale.text}): check it before issuing.",
                    "warning",
                )
            elif summary_before and review.executive_summary != summary_before:
                flash(
                    "Figures computed again from today's data; the executive summary, "
                    "written from the figures and not edited, was written again from the new "
                    "ones.",
                    "success",
                )
            else:
                flash("Figures computed again from today's data.", "success")
    else:
        flash("This page is out of date: reload it and try again.", "warning")
    return redirect(url_for(".show", partnership_id=partnership_id, review_id=review.id))


@bp.get("/<int:review_id>/preview")
@auth_required()
def preview(partnership_id: int, review_id: int):
    review = _get_review(partnership_id, review_id, Action.MANAGE)
    html = reports.render_scorecard_html(
        service.review_data(review),
        ScorecardMeta(None, None, None),
        {},
        preview=True,
        asset_url=assets.report_asset_url,
    )
    return Response(html, mimetype="text/html")


@bp.route("/<int:review_id>/issue", methods=["GET", "POST"])
@auth_required()
def issue(partnership_id: int, review_id: int):
    """Issuing archives a version for good: a page says so and asks first, carrying the
    review's version the lead looked at (``?version=``); the server refuses an issue that
    does not come from it."""
    review = _get_review(partnership_id, review_id, Action.MANAGE)
    partnership = get_partnership(partnership_id, Action.MANAGE)
    back = url_for(".show", partnership_id=partnership_id, review_id=review.id)
    form = IssueForm()
    if request.method == "GET":
        form.version.data = str(to_int(request.args.get("version")) or review.version)
    elif form.validate_on_submit():
        if to_int(form.version.data) != review.version:
            # Issue what the lead saw, not what someone saved since.
            flash(
                "Someone changed this review since you opened the page: look at it again, "
                "then issue.",
                "warning",
            )
            return redirect(back)
        try:
            job_id = scorecard_service.submit_issue(
                current_user,
                review.id,
                confirm_stale_summary=bool(form.confirm_stale_summary.data),
            )
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            return redirect(url_for(".job", partnership_id=partnership_id, job_id=job_id))
    else:
        form.form_errors.append("The scorecard was not issued.")
        form.version.data = form.version.data or str(review.version)
    data = service.review_data(review)
    proposed = sla_service.proposed_actuals(partnership.id, review.first_month, review.last_month)
    versions = service.scorecard_versions(review, current_user.id, current_user.email)
    return render_template(
        "reviews/issue.html",
        partnership=partnership,
        review=review,
        label=service.period_label(review.kind, review.first_month, review.last_month),
        form=form,
        next_version=(versions[0].version + 1) if versions else 1,
        computed_on=data.computed_on,
        provisional=bool(data.provisional),
        waiting=sum(count for _, count in proposed),
        summary_check=service.summary_check(review),
        cancel_url=back,
    )


# ----------------------------------------------------------------------------- sending


def _region_choices(partnership: Partnership) -> list[tuple[int, str]]:
    return [(region.id, region.name) for region in partnership.regions]


@bp.route("/scorecards/<int:scorecard_id>/send", methods=["GET", "POST"])
@auth_required()
def send(partnership_id: int, scorecard_id: int):
    scorecard = get_object(Scorecard, scorecard_id, partnership_id, Action.MANAGE)
    partnership = get_partnership(partnership_id, Action.MANAGE)
    review = scorecard.review
    form = SendForm()
    form.region_ids.choices = _region_choices(partnership)
    if not form.is_submitted():
        form.audience.data = "all"
    in_scope = {region_id for region_id, _ in form.region_ids.choices}
    chosen = [region_id for region_id in form.region_ids.data or [] if region_id in in_scope]
    region_ids = chosen if form.audience.data == "regions" else None
    if form.validate_on_submit() and "show" not in request.form:
        if form.audience.data == "regions" and not chosen:
            form.region_ids.errors = [*form.region_ids.errors, "Choose at least one region."]
        else:
            try:
                job_id = delivery_service.submit_send(
                    current_user, scorecard.id, region_ids=region_ids
                )
            except ValidationFailed as error:
                if error.field not in ("audience", "region_ids"):
                    error.field = "audience"
                attach_error(form, error)
            else:
                return redirect(url_for(".job", partnership_id=partnership.id, job_id=job_id))
    recipients = (
        delivery_service.recipients(partnership.id, region_ids)
        if form.audience.data != "regions" or chosen
        else []
    )
    return render_template(
        "reviews/send.html",
        partnership=partnership,
        review=review,
        label=service.period_label(review.kind, review.first_month, review.last_month),
        scorecard=scorecard,
        form=form,
        recipients=recipients,
    )


def _queue_from_button(partnership_id: int, back: str, submit: Callable[[], int]):
    """A button that queues a job: a stale page or a refused request goes back to ``back``
    with the reason; else the browser follows the job's progress."""
    if not ButtonForm().validate_on_submit():
        flash("This page is out of date: reload it and try again.", "warning")
        return redirect(back)
    try:
        job_id = submit()
    except ValidationFailed as error:
        flash(str(error), "warning")
        return redirect(back + "#archive")
    return redirect(url_for(".job", partnership_id=partnership_id, job_id=job_id))


@bp.post("/deliveries/<int:delivery_id>/resend")
@auth_required()
def resend(partnership_id: int, delivery_id: int):
    delivery = get_object(ScorecardDelivery, delivery_id, partnership_id, Action.MANAGE)
    back = url_for(".show", partnership_id=partnership_id, review_id=delivery.scorecard.review_id)
    return _queue_from_button(
        partnership_id, back, lambda: delivery_service.submit_resend(current_user, delivery.id)
    )


@bp.post("/scorecards/<int:scorecard_id>/resend-failed")
@auth_required()
def resend_failed(partnership_id: int, scorecard_id: int):
    scorecard = get_object(Scorecard, scorecard_id, partnership_id, Action.MANAGE)
    back = url_for(".show", partnership_id=partnership_id, review_id=scorecard.review_id)
    return _queue_from_button(
        partnership_id,
        back,
        lambda: delivery_service.submit_resend_failed(current_user, scorecard.id),
    )


# ----------------------------------------------------------------------------- jobs


@bp.get("/jobs/<int:job_id>")
@auth_required()
def job(partnership_id: int, job_id: int):
    partnership = get_partnership(partnership_id, Action.MANAGE)
    found = service.review_job(partnership.id, job_id)
    view, review, scorecard = found.job, found.review, found.scorecard
    result = view.result or {}
    return render_template(
        "reviews/job.html",
        partnership=partnership,
        job=view,
        review=review,
        label=service.period_label(review.kind, review.first_month, review.last_month)
        if review
        else None,
        scorecard=scorecard,
        result=result,
        button_form=ButtonForm(formdata=None),
    )


@bp.post("/jobs/<int:job_id>/retry")
@auth_required()
def retry_job(partnership_id: int, job_id: int):
    partnership = get_partnership(partnership_id, Action.MANAGE)
    view = service.scorecard_job(partnership.id, job_id)
    form = ButtonForm()
    if not form.validate_on_submit():
        flash("This page is out of date: reload it and try again.", "warning")
    else:
        try:
            jobs.retry(view.id)
        except jobs.JobFailed as error:
            flash(str(error), "warning")
    return redirect(url_for(".job", partnership_id=partnership.id, job_id=view.id))


# ----------------------------------------------------------------------------- download


@bp.get("/scorecards/<int:scorecard_id>.pdf")
@auth_required()
def download_scorecard(partnership_id: int, scorecard_id: int):
    partnership = get_partnership(partnership_id)
    # 404 for another partnership's scorecard or a missing one.
    scorecard = scorecard_service.scorecard_for_download(current_user, partnership.id, scorecard_id)
    reading.record_read(current_user, scorecard)  # a sponsor's first download: read
    return scorecard_pdf(partnership.name, scorecard)


# ----------------------------------------------------------------------------- compare


@bp.get("/<int:review_id>/compare")
@auth_required()
def compare(partnership_id: int, review_id: int):
    review = _get_review(partnership_id, review_id)
    partnership = get_partnership(partnership_id)
    may_manage = can(current_user, Action.MANAGE, partnership.id)

    def figures(of: Review) -> ScorecardData | None:
        issued = service.issued_data(of)
        if issued is not None and not (may_manage and of.id == review.id):
            return issued[0]
        # Leads compare their working draft; nobody else sees a draft's figures.
        return service.review_data(of) if may_manage else None

    previous = service.previous_review(review)
    current_data = figures(review)
    previous_data = figures(previous) if previous is not None else None
    comparison = (
        service.compare(current_data, previous_data)
        if current_data is not None and previous_data is not None
        else None
    )
    return render_template(
        "reviews/compare.html",
        partnership=partnership,
        review=review,
        label=service.period_label(review.kind, review.first_month, review.last_month),
        previous=previous if previous_data is not None else None,
        previous_label=service.period_label(
            previous.kind, previous.first_month, previous.last_month
        )
        if previous is not None
        else None,
        comparison=comparison,
        current=current_data,
        measure=reports.measure,
    )


# ----------------------------------------------------------------------------- sponsors


def _render_scorecard(
    partnership: Partnership, mine: reading.MyScorecard, form: AcknowledgeForm
) -> str:
    return render_template(
        "reviews/scorecard.html",
        partnership=partnership,
        mine=mine,
        summary=mine.summary,
        form=form,
    )


@bp.get("/scorecards/<int:scorecard_id>")
@auth_required()
def scorecard(partnership_id: int, scorecard_id: int):
    """An issued scorecard's cover figures and its PDF, for every member; a sponsor also
    acknowledges it here (opening it records when they read it)."""
    partnership = get_partnership(partnership_id)
    mine = reading.my_scorecard(current_user, partnership.id, scorecard_id)
    form = AcknowledgeForm(formdata=None)
    if mine.delivery is not None and mine.delivery.comment:
        form.comment.data = mine.delivery.comment
    return _render_scorecard(partnership, mine, form)


@bp.post("/scorecards/<int:scorecard_id>/acknowledge")
@auth_required()
def acknowledge(partnership_id: int, scorecard_id: int):
    # Refused before the form is read: 404 for non-members, 403 for roles that never
    # acknowledge (provider, viewer), 404 for a scorecard of another partnership.
    partnership = get_partnership(partnership_id, Action.ACKNOWLEDGE_SCORECARD)
    mine = reading.my_scorecard(current_user, partnership.id, scorecard_id)
    back = url_for(".scorecard", partnership_id=partnership.id, scorecard_id=scorecard_id)
    if not mine.is_sponsor:  # a lead or an administrator: the page never offers them the form
        flash(reading.NOT_A_SPONSOR + " Nothing was recorded.", "warning")
        return redirect(back)
    form = AcknowledgeForm()
    if form.validate_on_submit():
        try:
            delivery = reading.acknowledge(
                current_user, partnership.id, scorecard_id, form.comment.data
            )
        except ValidationFailed as error:
            attach_error(form, error)
        else:
            flash(
                "Thank you — the scorecard is marked as reviewed."
                + (" Your comment goes on the next meeting's agenda." if delivery.comment else ""),
                "success",
            )
            return redirect(back)
    return _render_scorecard(partnership, mine, form)


@bp.get("/scorecards/<int:scorecard_id>/distribution.csv")
@auth_required()
def distribution_export(partnership_id: int, scorecard_id: int):
    """Who the scorecard went to, and who read and acknowledged it, for a lead."""
    partnership = get_partnership(partnership_id, Action.MANAGE)
    filename, rows = reading.distribution(current_user, partnership.id, scorecard_id)
    return csv_response(filename, reading.DISTRIBUTION_COLUMNS, rows)
