"""The JSON API at /api/v1 (issue 17): one flask-smorest blueprint per resource, listed in
``BLUEPRINTS``; ``core`` makes them an API (bearer tokens, problem+json, rate limits, ETags).
OpenAPI 3.1 at /api/v1/openapi.json."""

from __future__ import annotations

from flask import Flask

from mls_tracker.api import core
from mls_tracker.api.actions import blp as actions_blp
from mls_tracker.api.audit_log import blp as audit_log_blp
from mls_tracker.api.credits import blp as credits_blp
from mls_tracker.api.delivery import blp as delivery_blp
from mls_tracker.api.expectations import blp as expectations_blp
from mls_tracker.api.meetings import blp as meetings_blp
from mls_tracker.api.partnerships import blp as partnerships_blp
from mls_tracker.api.reviews import blp as reviews_blp
from mls_tracker.api.slas import blp as slas_blp
from mls_tracker.api.sponsors import blp as sponsors_blp
from mls_tracker.api.survey_responses import blp as survey_responses_blp
from mls_tracker.extensions import limiter

# One line per resource blueprint (in the order the documentation lists them).
BLUEPRINTS = [
    partnerships_blp,
    slas_blp,
    credits_blp,
    delivery_blp,
    actions_blp,
    survey_responses_blp,
    meetings_blp,
    sponsors_blp,
    expectations_blp,
    reviews_blp,
    audit_log_blp,
]

# Every token (or address without one) shares one budget over the whole API; module-level,
# so that every app registers the same limits (Flask-Limiter keeps them across apps).
for _blp in BLUEPRINTS:
    limiter.shared_limit(core.rate_limit, scope="api", key_func=core.rate_limit_key)(_blp)


def init_app(app: Flask) -> None:
    core.init_app(app, BLUEPRINTS)
