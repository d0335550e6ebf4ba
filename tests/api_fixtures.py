"""Fixtures for the JSON API's tests: ``api_token(user, scope="write") -> str`` makes a real
token through the service (as the user would on their settings page), ``api_client`` is a
test client sending ``Authorization: Bearer <token>`` with every request::

    def test_x(world, api_token, api_client):
        client = api_client(api_token(world.lead))
        assert client.get("/api/v1/partnerships").status_code == 200
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from mls_tracker.extensions import db
from mls_tracker.models import User
from mls_tracker.services import api_tokens

API = "/api/v1"


def make_token(user: User, scope: str = "write", *, days: int | None = 30) -> str:
    """A new token of ``user`` (made by the user themself; by an administrator for a service
    account); its raw value."""
    actor = user
    if user.is_service_account:
        actor = db.session.scalars(sa.select(User).filter_by(is_admin=True, active=True)).first()
    return api_tokens.create_token(
        actor, user, name=f"test {scope}", scope=scope, expires_in_days=days
    ).raw


@pytest.fixture
def api_token(app: Flask) -> Callable[..., str]:
    return make_token


class ApiClient(FlaskClient):
    """A test client that sends its bearer token with every request."""

    token: str | None = None

    def open(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        if self.token is not None:
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("Authorization", f"Bearer {self.token}")
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)


@pytest.fixture
def api_client(app: Flask) -> Callable[[str | None], ApiClient]:
    def make(token: str | None) -> ApiClient:
        client = ApiClient(app, app.response_class, use_cookies=True)
        client.token = token
        return client

    return make
