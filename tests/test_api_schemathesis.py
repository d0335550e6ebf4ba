"""Property-based tests of the JSON API against its own OpenAPI document (schemathesis):
every operation, with a lead's write token on a seeded world, answers without a server error
and as documented (status, content type, response schema — problem+json for errors).
Bounded: 20 derandomized examples per operation."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mls_tracker.extensions import db
from tests.api_routes_core import prepare
from tests.api_routes_reviews import prepare as prepare_reviews
from tests.api_routes_surveys import prepare as prepare_surveys

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def seeded(app, world, api_token):
    world.ids.update(prepare(world))
    world.ids.update(prepare_surveys(world))
    world.ids.update(prepare_reviews(world))
    db.session.commit()
    return world, api_token(world.lead, "write")


def _operations() -> list[tuple[str, str]]:
    """Every operation of the document (read from an app without a database: the document
    needs none), for one test per operation."""
    from mls_tracker import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True})
    paths = app.test_client().get("/api/v1/openapi.json").json["paths"]
    return [
        (method.upper(), path)
        for path, item in paths.items()
        for method in item
        if method in ("get", "put", "post", "patch", "delete")
    ]


@pytest.mark.parametrize(("method", "path"), _operations())
def test_api_answers_as_documented(app, seeded, method, path):
    world, token = seeded
    operation = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)[path][method]
    # Real objects in the path (random ids would only ever meet 404s).
    real = {"partnership_id": world.partnership.id, "month": "2025-06", **world.ids}

    @given(case=operation.as_strategy())
    @settings(
        max_examples=20,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        for name in case.path_parameters or {}:
            if name in real:
                case.path_parameters[name] = real[name]
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    check()
