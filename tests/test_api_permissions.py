"""The JSON API's permission matrix: every API route × every role (a token of each) ×
{own partnership, another one, another partnership's object}. A new API route fails
``test_every_api_route_is_in_the_matrix`` until tests/api_routes_<domain>.py gives its row."""

from __future__ import annotations

import importlib
import json
import pkgutil

import pytest
from flask import url_for

import tests
from mls_tracker.extensions import db
from tests import factories

SCOPED: dict = {}
GLOBAL: dict = {}
SAMPLE_ARGS: dict = {}
PUBLIC: set = set()
PREPARERS = []
for _module in pkgutil.iter_modules(tests.__path__):
    if _module.name.startswith("api_routes_"):
        _loaded = importlib.import_module(f"tests.{_module.name}")
        SCOPED.update(_loaded.SCOPED)
        GLOBAL.update(getattr(_loaded, "GLOBAL", {}))
        SAMPLE_ARGS.update(getattr(_loaded, "SAMPLE_ARGS", {}))
        PUBLIC.update(getattr(_loaded, "PUBLIC", set()))
        if hasattr(_loaded, "prepare"):
            PREPARERS.append(_loaded.prepare)

ROLES = ("admin", "lead", "provider", "sponsor", "viewer", "outsider")
MEMBERS = ("lead", "provider", "sponsor", "viewer")


def _api_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api_"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, rule


def test_every_api_route_is_in_the_matrix(app):
    routes = {(method, rule.endpoint): rule for method, rule in _api_routes(app)}
    assert routes, "no API routes"
    missing = sorted(f"{m} {e}" for m, e in routes if (m, e) not in SCOPED | GLOBAL)
    assert missing == [], "API routes with no row in the matrix"
    scoped = {key for key, rule in routes.items() if "partnership_id" in rule.arguments}
    assert scoped == set(SCOPED)


def _url(app, rule, partnership_id: int, ids: dict[str, int]) -> str:
    values = {}
    for argument in rule.arguments:
        if argument == "partnership_id":
            values[argument] = partnership_id
        elif argument in ids:
            values[argument] = ids[argument]
        else:
            values[argument] = SAMPLE_ARGS[argument]
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def _body(template, ids: dict[str, int]):
    if template is None:
        return None
    text = json.dumps(template)
    for name, value in ids.items():
        text = text.replace(f'"{{{name}}}"', str(value))
    return json.loads(text)


def _status(client, method: str, url: str, body) -> int:
    response = client.open(url, method=method, json=body)
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json", (method, url)
    return response.status_code


@pytest.mark.parametrize("who", ROLES)
def test_api_matrix(app, world, who, api_token, api_client):
    for prepare in PREPARERS:
        world.ids.update(prepare(world))
    foreign = factories.foreign_world(world)
    for prepare in PREPARERS:
        foreign.ids.update(prepare(foreign))
    db.session.commit()
    client = api_client(api_token(world.user(who), "write"))
    failures = []
    for method, rule in _api_routes(app):
        key = (method, rule.endpoint)
        if key in GLOBAL:
            url = _url(app, rule, world.partnership.id, world.ids)
            status = _status(client, method, url, None)
            if status != GLOBAL[key][who]:
                failures.append(f"{method} {url}: {status}, expected {GLOBAL[key][who]}")
            continue
        expected_by_role, template = SCOPED[key]
        expected = expected_by_role[who]
        url = _url(app, rule, world.partnership.id, world.ids)
        status = _status(client, method, url, _body(template, world.ids))
        if status != expected:
            failures.append(f"{method} {url}: {status}, expected {expected}")
        if who in MEMBERS:
            url = _url(app, rule, world.other.id, world.ids)
            status = _status(client, method, url, _body(template, world.ids))
            if status != 404:
                failures.append(f"{method} {url} (another partnership): {status}, not 404")
        # Another partnership's object asked for under a partnership the user may act on.
        objects = [a for a in rule.arguments if a in world.ids]
        if objects and who != "outsider":
            crossed = 403 if expected == 403 else 404
            url = _url(app, rule, world.partnership.id, foreign.ids)
            status = _status(client, method, url, _body(template, foreign.ids))
            if status != crossed:
                failures.append(f"{method} {url} (another's object): {status}, not {crossed}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("method", ["GET", "PUT", "POST"])
def test_without_a_token_every_api_route_is_401(app, world, client, method):
    """Anonymous requests, and signed-in browser sessions (cookies) too, are refused."""
    from tests.conftest import sign_in

    sign_in(client, world.lead.email)
    for route_method, rule in _api_routes(app):
        if route_method != method or (method, rule.endpoint) in PUBLIC:
            continue
        url = _url(app, rule, world.partnership.id, {"sla_id": 1, "action_id": 1})
        response = client.open(url, method=method, json={})
        assert response.status_code == 401, url
        assert response.mimetype == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
