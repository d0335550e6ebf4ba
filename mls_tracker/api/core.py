"""The JSON API's core (issue 17): the flask-smorest ``Api``, bearer-token authentication,
problem+json errors, pagination over SQL queries and ETag / If-Match from ``version``.

Every resource blueprint is a ``flask_smorest.Blueprint`` listed in ``mls_tracker.api``;
this module makes them an API: no cookie or session authenticates them (only
``Authorization: Bearer <token>``), no CSRF token is asked of them, each live token (and
each address, for every other request) is rate limited, and every answer, errors included,
is JSON (errors ``application/problem+json``). Views act through the same services as the
pages, as the token's user (``current_user``)."""

from __future__ import annotations

import functools
import http
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask import Flask, abort, current_app, g, request
from flask_smorest import Api as _SmorestApi
from flask_smorest import Page
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException

from mls_tracker.errors import API_PREFIX as PREFIX
from mls_tracker.errors import PROBLEM_JSON, is_api_request
from mls_tracker.extensions import db
from mls_tracker.models import ApiToken, TokenScope
from mls_tracker.services import api_tokens
from mls_tracker.services.errors import PermissionDenied

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_KEY = "mls_api_token"  # noqa: S105 (the name of a g attribute)
WRITE_SCOPE_MESSAGE = "This API token is read-only; this needs a token with the write scope."
QUERY_MESSAGE = (
    "API tokens are accepted only in the Authorization header (Authorization: Bearer <token>), "
    "never in the address or a form."
)
# Query or form fields a token might be sent in by mistake: refused, never looked up.
_TOKEN_FIELDS = ("access_token", "token", "api_token", "auth_token", "bearer")


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, as every API error is answered."""

    type = ma.fields.String(metadata={"description": "A URI naming the kind of problem"})
    title = ma.fields.String(metadata={"description": "Short summary of the kind of problem"})
    status = ma.fields.Integer(metadata={"description": "The HTTP status code"})
    detail = ma.fields.String(metadata={"description": "What went wrong this time"})
    errors = ma.fields.Dict(metadata={"description": "Field errors: location → field → messages"})


class Api(_SmorestApi):
    """flask-smorest's Api, answering errors through ``mls_tracker.errors`` (one mapping for
    pages and API alike) instead of registering its own app-wide handler, and documenting
    them as problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        """Errors are answered by ``mls_tracker.errors`` (which answers /api/ with
        :func:`problem`)."""

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


# Created unbound, bound to an app in ``create_app`` (as the extensions in extensions.py).
api = Api()


# -- authentication ----------------------------------------------------------------------


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


class Unauthorised(HTTPException):
    code = 401
    description = "Send an API token: Authorization: Bearer <token>."

    def get_headers(self, environ: Any = None, scope: Any = None) -> list[tuple[str, str]]:
        return [("WWW-Authenticate", 'Bearer realm="mls-tracker"')]


def _token_in_query_or_form() -> bool:
    if any(name in request.args for name in _TOKEN_FIELDS):
        return True
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return any(name in request.form for name in _TOKEN_FIELDS)
    return False


_CHECKED = "mls.api_token_checked"  # a key of the request's WSGI environment


def _checked_token() -> ApiToken | api_tokens.InvalidToken:
    """The request's bearer token looked up once, whoever asks first (the rate limit's key
    is computed before ``authenticate_request`` runs): the live token, or why there is none.
    Kept on the request itself, not on ``g``, which may outlive one request."""
    if _CHECKED not in request.environ:
        try:
            found: ApiToken | api_tokens.InvalidToken = api_tokens.authenticate(_bearer())
        except api_tokens.InvalidToken as error:
            found = error
        request.environ[_CHECKED] = found
    return request.environ[_CHECKED]


def authenticate_request() -> None:
    """Before every API resource request: the bearer token's user becomes ``current_user``
    for this request (whatever cookie came along); otherwise 401. A read-only token may only
    read (403)."""
    if not is_api_request() or not _is_resource(request.blueprint):
        return
    if _token_in_query_or_form():
        raise Unauthorised(QUERY_MESSAGE)
    token = _checked_token()
    if isinstance(token, api_tokens.InvalidToken):
        raise Unauthorised(str(token))
    setattr(g, TOKEN_KEY, token)
    # Flask-Login keeps the request's user here: the token's user, never the cookie's.
    g._login_user = token.user
    if request.method not in READ_METHODS and token.scope != TokenScope.WRITE:
        raise PermissionDenied(WRITE_SCOPE_MESSAGE)


def current_token() -> ApiToken:
    return getattr(g, TOKEN_KEY)


# -- rate limits -------------------------------------------------------------------------


def rate_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


def rate_limit_key() -> str:
    """Per live token; per client address for everything else — no token, or one that is
    unknown, expired, revoked or sent in the address — so that sending a new made-up token
    with each request does not buy a new budget."""
    if not _token_in_query_or_form():
        token = _checked_token()
        if isinstance(token, ApiToken):
            return f"api-token:{token.id}"
    return "api-address:" + (request.remote_addr or "unknown")


# -- ETag / If-Match ---------------------------------------------------------------------


def etag_of(version: int) -> str:
    return f'"{version}"'


def set_etag(record: Any) -> None:
    """The answer carries the record's version as its ETag."""
    g.mls_api_etag = etag_of(record.version)


def if_match_version(record: Any) -> int:
    """The version a write is based on: the ``If-Match`` header's when sent (412 when it is
    not the stored one), else the stored one. Services check it again as they save (409)."""
    header = request.headers.get("If-Match")
    if header is None:
        return record.version
    sent = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    if "*" in sent or etag_of(record.version) in sent:
        return record.version
    abort(412)


def _add_etag(response: Any) -> Any:
    tag = g.pop("mls_api_etag", None)
    if tag and response.status_code < 300:
        response.headers["ETag"] = tag
    return response


# -- pagination --------------------------------------------------------------------------


class SelectPage(Page):
    """flask-smorest's page pagination over a SQLAlchemy select: counted and cut in SQL. A
    page past the end is empty (without asking the database for an impossible offset)."""

    @functools.cached_property
    def item_count(self) -> int:  # type: ignore[override]
        query = self.collection
        return int(db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())))

    @property
    def items(self) -> list[Any]:
        first = self.page_params.first_item
        if first >= self.item_count:
            return []
        query = self.collection.limit(self.page_params.page_size).offset(first)
        return list(db.session.scalars(query))


# -- registration ------------------------------------------------------------------------

_RESOURCE_BLUEPRINTS: set[str] = set()


def _is_resource(name: str | None) -> bool:
    return name in _RESOURCE_BLUEPRINTS


def init_app(app: Flask, blueprints: list[Any]) -> None:
    from mls_tracker.extensions import csrf

    app.config.setdefault("API_TITLE", "MLS Tracker API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {})
    app.config["API_SPEC_OPTIONS"].setdefault(
        "components",
        {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    )
    app.config["API_SPEC_OPTIONS"].setdefault("security", [{"bearer": []}])
    api.init_app(app)
    for blp in blueprints:
        _RESOURCE_BLUEPRINTS.add(blp.name)
        csrf.exempt(blp)
        api.register_blueprint(blp, url_prefix=PREFIX + blp.url_prefix)
    app.before_request(authenticate_request)
    app.after_request(_add_etag)
    app.add_url_rule(f"{PREFIX}/docs", "api_docs", _docs)


def _docs() -> str:
    """The API's reference, drawn on the server from the OpenAPI document: no script, no CDN
    (the app's Content-Security-Policy stands). Public, as the document itself."""
    from flask import render_template

    return render_template("api/docs.html", spec=api.spec.to_dict(), prefix=PREFIX)
