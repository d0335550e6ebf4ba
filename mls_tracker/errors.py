"""Error pages: HTML or JSON, never a stack trace; a 500 rolls the session back. Domain errors
raised by services and ``access`` become HTTP answers here, once for every view.

Three kinds of failure that are not bugs get their own answer:

- the database cannot be reached (``OperationalError``): 503 "Temporarily unavailable";
- two transactions collided (a deadlock, a serialization failure, a lock not granted in time,
  SQLite busy): the database is up, so this is never the outage page. A read (GET/HEAD) is
  run again once; a write, or a read that collides twice, answers 409 and says nothing was
  saved;
- the server cannot write its files (read-only or full disk, no permission; SQLite's
  read-only or full database): 503 saying so and that nothing was saved, logged for the
  operator.

A 5xx page is drawn without the database (the user is not loaded for it, the navbar does not
ask for it), and if drawing it fails all the same, a plain page of our own answers instead:
never the server's bare "Internal Server Error".
"""

from __future__ import annotations

import errno
import html
import os
from typing import Any

import sqlalchemy as sa
from flask import (
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    make_response,
    render_template,
    request,
)
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, default_exceptions

from mls_tracker.extensions import db
from mls_tracker.services.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    Unavailable,
    ValidationFailed,
)
from mls_tracker.services.locking import is_contention

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Please go back and try again."),
    401: ("Sign-in needed", "Please sign in to see this page."),
    403: ("Not allowed", "Your role in this partnership does not allow this."),
    404: ("Not found", "There is nothing here, or it is not shared with you."),
    405: ("Not allowed", "That action is not possible on this page."),
    409: ("Saved by someone else", "Someone else saved this first. Please reload and retry."),
    412: ("Changed since you read it", "This changed since you read it: read it again (If-Match)."),
    413: ("File too large", "The file is larger than this installation accepts."),
    422: ("Not accepted", "The request breaks a rule of this partnership."),
    429: ("Too many attempts", "Please wait a few minutes before trying again."),
    500: ("Something went wrong", "The error was logged. Please try again in a moment."),
    503: ("Temporarily unavailable", "The service is briefly unavailable. Please retry soon."),
}

CONTENTION = (
    "Saved by someone else at the same moment",
    "Someone else was changing the same records at the same moment, so nothing was saved. "
    "Please reload the page and try again.",
)
STORAGE = (
    "Cannot save files",
    "The server cannot write its files just now (its disk is full or read-only), so nothing "
    "was saved. The problem was logged for the operator; please try again later.",
)

# PostgreSQL's SQLSTATEs of two transactions colliding: deadlock detected, serialization
# failure, lock not available (a lock_timeout ran out).
# The file system refused a write: read-only, full, over quota, not permitted.
STORAGE_ERRNOS = frozenset({errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EACCES})
_SQLITE_STORAGE = ("attempt to write a readonly database", "database or disk is full")
_SQLITE_CANT_OPEN = "unable to open database file"
_RETRIED = "_mls_contention_retried"


def _causes(error: BaseException):
    """The error and what it was raised from or while handling (a few levels)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(seen) < 8:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def storage_failure(error: BaseException) -> BaseException | None:
    """The OSError (or SQLite error) saying the server cannot write its files, if it is one."""
    for cause in _causes(error):
        if isinstance(cause, OSError) and cause.errno in STORAGE_ERRNOS:
            return cause
        if isinstance(cause, sa.exc.DBAPIError):
            cause = cause.orig
        if type(cause).__module__ == "sqlite3":
            text = str(cause).lower()
            if any(m in text for m in _SQLITE_STORAGE):
                return cause
            if _SQLITE_CANT_OPEN in text and _sqlite_folder_unwritable():
                return cause
    return None


def _sqlite_folder_unwritable() -> bool:
    """SQLite says only "unable to open database file" when its folder is read-only (it must
    create the write-ahead log beside the file) or full: ask the file system which."""
    try:
        database = db.engine.url.database
        if db.engine.dialect.name != "sqlite" or not database or database == ":memory:":
            return False
        stat = os.statvfs(os.path.dirname(os.path.abspath(database)))
    except Exception:
        return False
    return bool(stat.f_flag & os.ST_RDONLY) or stat.f_bavail == 0


API_PREFIX = "/api/v1"
PROBLEM_JSON = "application/problem+json"


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX + "/")


def problem_body(
    status: int, title: str, detail: str, errors: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return body


def validation_errors(error: BaseException) -> dict[str, Any] | None:
    """The field errors webargs attached to a 422 (location → field → messages)."""
    data = getattr(error, "data", None)
    if isinstance(data, dict):
        found = data.get("errors") or data.get("messages")
        if isinstance(found, dict):
            return found
    return None


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and (
        request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def error_response(
    status: int,
    detail: str | None = None,
    title: str | None = None,
    errors: dict | None = None,
) -> Response:
    default_title, message = MESSAGES.get(status, ("Error", "The request could not be completed."))
    title = title or default_title
    message = detail or message
    try:
        if is_api_request():
            # The JSON API answers every error as RFC 9457 problem details.
            response = jsonify(problem_body(status, title, message, errors))
            response.mimetype = PROBLEM_JSON
        elif wants_json():
            response = jsonify(error={"status": status, "title": title, "message": message})
        else:
            if status >= 500:
                _no_user_from_the_database()
            response = make_response(
                render_template("errors/error.html", status=status, title=title, message=message)
            )
    except Exception:
        # Drawing the page failed too (the database behind a lazy load, a template): our own
        # plain page all the same, never the server's bare one.
        current_app.logger.exception("The %s error page could not be drawn", status)
        response = plain_error_response(status, title, message)
    response.status_code = status
    return response


def _no_user_from_the_database() -> None:
    """Flask-Login's context processor loads the user for every template when nobody has yet:
    on a 5xx page (the database may be what failed) the page is drawn as anonymous instead.
    A user already loaded stays; the 5xx layout does not read it."""
    if "_login_user" not in g:
        g._login_user = current_app.login_manager.anonymous_user()


PLAIN_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · MLS Tracker</title></head>
<body>
<main>
<p>Error {status}</p>
<h1>{title}</h1>
<p>{message}</p>
<p><a href="/">Go to your partnerships</a></p>
</main>
</body>
</html>
"""


def plain_page(status: int, title: str | None = None, message: str | None = None) -> str:
    """A page needing nothing but this string: no template, no database, no request."""
    default_title, default_message = MESSAGES.get(status, MESSAGES[500])
    return PLAIN_PAGE.format(
        status=status,
        title=html.escape(title or default_title),
        message=html.escape(message or default_message),
    )


def plain_error_response(status: int, title: str | None = None, message: str | None = None):
    return Response(plain_page(status, title, message), status=status, mimetype="text/html")


def _rollback() -> None:
    """Roll the session back; with the database gone that may fail too, and is only logged."""
    try:
        db.session.rollback()
    except Exception:
        current_app.logger.warning("rollback failed after an error", exc_info=True)


def _http_error(error: HTTPException):
    status = error.code or 500
    if status >= 500:
        _rollback()
    detail = None
    if isinstance(error, CSRFError):
        detail = "This form has expired or was not sent from this site. Please reload and retry."
    elif is_api_request():
        # What the API said in particular (401's reason, flask_smorest.abort's message …);
        # werkzeug's stock wording ("The precondition on the request for the URL failed
        # positive evaluation.") gives way to ours in MESSAGES (412: read it again).
        data = getattr(error, "data", None)
        detail = data.get("message") if isinstance(data, dict) else None
        stock = default_exceptions.get(status)
        if detail is None and (stock is None or error.description != stock.description):
            detail = error.description
    response = error_response(status, detail, errors=validation_errors(error))
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
    _rollback()
    status = domain_status(error)
    # A hidden denial or a missing object reads the same as any 404: nothing to learn from it.
    # A 403 keeps the service's own generic wording ("Only a lead … can …").
    detail = str(error) if status in (403, 409, 422, 503) else None
    errors = None
    if is_api_request() and isinstance(error, ValidationFailed) and error.field:
        errors = {"json": {error.field: [str(error)]}}
    return error_response(status, detail, errors=errors)


def _contention(error: Exception):
    """Two transactions collided. A read is run once more (the other one is done by now);
    a write, or a read colliding again, answers 409: nothing was saved."""
    current_app.logger.warning(
        "Transactions collided on %s %s: %s", request.method, request.path, error.__class__
    )
    if request.method in ("GET", "HEAD") and not g.get(_RETRIED):
        setattr(g, _RETRIED, True)
        try:
            rv = current_app.preprocess_request()
            if rv is None:
                rv = current_app.dispatch_request()
            return current_app.make_response(rv)
        except Exception as again:  # the retry's own failure, answered as any other
            return _unexpected_error(again)
    title, message = CONTENTION
    return error_response(409, message, title=title)


def _storage_error(error: Exception, cause: BaseException):
    current_app.logger.error(
        "Storage full or read-only on %s %s: %s (%s)",
        request.method,
        request.path,
        cause,
        getattr(cause, "filename", None) or type(cause).__name__,
    )
    title, message = STORAGE
    return error_response(503, message, title=title)


def _unexpected_error(error: Exception):
    _rollback()
    if isinstance(error, HTTPException):
        return _http_error(error)
    if isinstance(error, DomainError):
        return _domain_error(error)
    if is_contention(error):
        return _contention(error)
    cause = storage_failure(error)
    if cause is not None:
        return _storage_error(error, cause)
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
