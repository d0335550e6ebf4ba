"""The main navigation, remembered per user and kind of page (mls_tracker/navigation.py): what
it shows follows the user's name, rights and counts at once, and its sign-out form carries the
token of the session that asked."""

from __future__ import annotations

import re

from mls_tracker.extensions import db
from mls_tracker.models import User
from tests.conftest import page_text, sign_in

NAV = re.compile(r'<nav class="navbar.*?</nav>', re.S)
LOGOUT_TOKEN = re.compile(
    r'action="/logout">\s*<input name="csrf_token" type="hidden" value="([^"]+)"'
)


def _nav(client, url: str = "/partnerships/") -> str:
    return NAV.search(client.get(url).get_data(as_text=True)).group(0)


def test_the_navigation_follows_the_name_and_the_rights_at_once(app, client, world):
    sign_in(client, world.lead.email)
    before, name = _nav(client), world.lead.display_name
    assert name in page_text(before)
    assert "Administration" not in page_text(before)
    assert _nav(client) == before  # the same page again: the same navigation

    user = db.session.get(User, world.lead.id)
    user.display_name = "Dana Whitfield"
    user.is_admin = True
    db.session.commit()
    after = page_text(_nav(client))
    assert "Dana Whitfield" in after and name not in after
    assert "Administration" in after
    # The current page is marked on each kind of page.
    assert 'aria-current="page">My actions' in _nav(client, "/my-actions")
    assert 'aria-current="page">My actions' not in _nav(client)


def test_each_session_signs_out_with_its_own_token(app, world):
    first, second = app.test_client(), app.test_client()
    for client in (first, second):
        sign_in(client, world.lead.email)
    tokens = [LOGOUT_TOKEN.search(_nav(client)).group(1) for client in (first, second)]
    assert tokens[0] != tokens[1]
    response = second.post("/logout", data={"csrf_token": tokens[1]})
    assert response.status_code == 302
    assert second.get("/partnerships/").status_code == 302  # signed out: sent to sign in
    assert first.get("/partnerships/").status_code == 200
