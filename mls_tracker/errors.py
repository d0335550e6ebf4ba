"""Error pages: HTML or JSON, never a stack trace; a 500 rolls the session back. Domain errors
raised by services and ``access`` become HTTP answers here, once for every view."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, Response, current_app, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from mls_tracker.extensions import db
from mls_tracker.services.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    Unavailable,
    ValidationFailed,
)

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Please go back and try again."),
    401: ("Sign-in needed", "Please sign in to see this page."),
    403: ("Not allowed", "Your role in this partnership does not allow this."),
    404: ("Not found", "There is nothing here, or it is not shared with you."),
    405: ("Not allowed", "That action is not possible on this page."),
    409: ("Saved by someone else", "Someone else saved this first. Please reload and retry."),
    413: ("File too large", "The file is larger than this installation accepts."),
    422: ("Not accepted", "The request breaks a rule of this partnership."),
    429: ("Too many attempts", "Please wait a few minutes before trying again."),
    500: ("Something went wrong", "The error was logged. Please try again in a moment."),
    503: ("Temporarily unavailable", "The service is briefly unavailable. Please retry soon."),
}


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and (
        request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def error_response(status: int, detail: str | None = None) -> Response:
    title, message = MESSAGES.get(status, ("Error", "The request could not be completed."))
    message = detail or message
    if wants_json():
        response = jsonify(error={"status": status, "title": title, "message": message})
    else:
        response = make_response(
            render_template("errors/error.html", status=status, title=title, message=message)
        )
    response.status_code = status
    return response


def _http_error(error: HTTPException):
    status = error.code or 500
    if status >= 500:
        db.session.rollback()
    detail = None
    if isinstance(error, CSRFError):
        detail = "This form has expired or was not sent from this site. Please reload and retry."
    response = error_response(status, detail)
    # Keep what the exception adds: Allow on 405, Retry-After on 429 …
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def domain_status(error: DomainError) -> int:
    """The HTTP status of a domain error a view let through."""
    if isinstance(error, PermissionDenied):
        return 404 if error.hidden else 403
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Conflict):
        return 409
    if isinstance(error, ValidationFailed):
        return 422
    if isinstance(error, Unavailable):
        return 503
    return 400


def _domain_error(error: DomainError):
    db.session.rollback()
    status = domain_status(error)
    # A hidden denial or a missing object reads the same as any 404: nothing to learn from it.
    # A 403 keeps the service's own generic wording ("Only a lead … can …").
    detail = str(error) if status in (403, 409, 422, 503) else None
    return error_response(status, detail)


def _unexpected_error(error: Exception):
    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError:
        current_app.logger.warning("rollback failed after an error", exc_info=True)
    if isinstance(error, HTTPException):
        return _http_error(error)
    if isinstance(error, DomainError):
        return _domain_error(error)
    if isinstance(error, sa.exc.OperationalError):
        current_app.logger.error(
            "Database unavailable on %s %s: %s", request.method, request.path, error
        )
        return error_response(503)
    current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
    return error_response(InternalServerError.code)


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(Exception, _unexpected_error)
