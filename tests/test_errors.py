"""Error pages answer in HTML or JSON and never show a stack trace."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import sign_in


def test_404_html_and_json(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert "text/html" in page.content_type
    assert "Not found" in page.get_data(as_text=True)
    api = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert api.status_code == 404
    assert api.get_json()["error"]["status"] == 404


@pytest.fixture
def failing_app(make_app):
    app = make_app(TESTING=False, PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals: /etc/passwd")

    @app.get("/db-down")
    def db_down():
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

    return app


def test_500_never_shows_a_stack_trace(failing_app, caplog):
    response = failing_app.test_client().get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong" in body
    assert "Traceback" not in body and "secret internals" not in body
    json = failing_app.test_client().get("/boom", headers={"Accept": "application/json"})
    assert json.status_code == 500 and "secret" not in json.get_data(as_text=True)


def test_database_unavailable_is_a_clear_503(failing_app, caplog):
    response = failing_app.test_client().get("/db-down")
    assert response.status_code == 503
    assert "unavailable" in response.get_data(as_text=True).lower()


def test_non_numeric_id_is_404(client, world):
    sign_in(client, world.lead.email)
    assert client.get("/partnerships/abc").status_code == 404
