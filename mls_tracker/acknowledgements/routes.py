"""A sponsor's acknowledgement page, opened from the e-mailed link without signing in."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, url_for

from mls_tracker.acknowledgements.forms import AcknowledgeForm
from mls_tracker.exports import attachment
from mls_tracker.scorecards import delivery as service
from mls_tracker.services.errors import ValidationFailed

bp = Blueprint("acknowledgements", __name__, url_prefix="/acknowledge")


def _refused(error: service.InvalidAcknowledgement) -> tuple[str, int]:
    return (
        render_template(
            "acknowledgements/invalid.html",
            message=str(error),
            expired=error.expired,
            ended=error.ended,
        ),
        410 if error.gone else 404,
    )


def _no_store(response: Response) -> Response:
    # The page and the PDF are reached through a personal link: keep them out of caches.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<token>", methods=["GET", "POST"], endpoint="show")
def show(token: str):
    try:
        delivery = service.delivery_for_token(token)
    except service.InvalidAcknowledgement as error:
        return _refused(error)
    form = AcknowledgeForm()
    service.mark_read(delivery)
    if not form.is_submitted() and delivery.comment:
        form.comment.data = delivery.comment
    if form.validate_on_submit():
        try:
            service.acknowledge(token, form.comment.data)
        except ValidationFailed as error:
            form.comment.errors = [*form.comment.errors, str(error)]
        except service.InvalidAcknowledgement as error:
            return _refused(error)
        else:
            flash("Thank you — the scorecard is marked as reviewed.", "success")
            return redirect(url_for(".show", token=token))
    summary = service.summarise(delivery.scorecard)
    response = render_template(
        "acknowledgements/show.html",
        summary=summary,
        acknowledged_at=delivery.acknowledged_at,
        comment=delivery.comment,
        form=form,
        download_url=url_for(".download", token=token),
        token=token,
    )
    return _no_store(Response(response, mimetype="text/html"))


@bp.get("/<token>/scorecard.pdf", endpoint="download")
def download(token: str):
    try:
        delivery = service.delivery_for_token(token)
    except service.InvalidAcknowledgement as error:
        return _refused(error)
    service.mark_read(delivery)
    scorecard = delivery.scorecard
    summary = service.summarise(scorecard)
    return attachment(scorecard.pdf, "application/pdf", summary.filename)  # no-store too
