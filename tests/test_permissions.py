"""The permission matrix: every route × every role × {own partnership, another one}.

A new route fails ``test_every_route_is_in_the_matrix`` until it is given its expectations here.
"""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import tests
from mls_tracker.access import (
    ROLE_ACTIONS,
    Action,
    can,
    member_of,
    partnership_id_of,
    require,
    visible_partnerships,
)
from mls_tracker.extensions import db
from mls_tracker.models import Role, Sponsor
from mls_tracker.services.errors import PermissionDenied
from tests import factories
from tests.conftest import sign_in

ANON, ADMIN, LEAD, PROVIDER, SPONSOR, VIEWER, OUTSIDER = (
    "anonymous",
    "admin",
    "lead",
    "provider",
    "sponsor",
    "viewer",
    "outsider",
)
MEMBERS = (LEAD, PROVIDER, SPONSOR, VIEWER)
EVERYONE = (ANON, ADMIN, *MEMBERS, OUTSIDER)


def _everyone(status: int, anonymous: int | None = None) -> dict[str, int]:
    table = dict.fromkeys(EVERYONE, status)
    if anonymous is not None:
        table[ANON] = anonymous
    return table


# Routes that belong to a partnership: (method, endpoint) → status by role, for a URL in the
# partnership the members belong to. The outsider (a lead elsewhere) must get 404 there, and
# every member gets 404 for the same URL in a partnership they are not part of.
SCOPED: dict[tuple[str, str], dict[str, int]] = {
    ("GET", "partnerships.show"): {
        ANON: 302,
        ADMIN: 200,
        LEAD: 200,
        PROVIDER: 200,
        SPONSOR: 200,
        VIEWER: 200,
        OUTSIDER: 404,
    },
    ("GET", "partnerships.people"): {
        ANON: 302,
        ADMIN: 200,
        LEAD: 200,
        PROVIDER: 200,
        SPONSOR: 200,
        VIEWER: 200,
        OUTSIDER: 404,
    },
    ("GET", "partnerships.chart_data"): {
        ANON: 302,
        ADMIN: 200,
        LEAD: 200,
        PROVIDER: 200,
        SPONSOR: 200,
        VIEWER: 200,
        OUTSIDER: 404,
    },
    ("GET", "partnerships.weights"): {
        ANON: 302,
        ADMIN: 200,
        LEAD: 200,
        PROVIDER: 403,
        SPONSOR: 403,
        VIEWER: 403,
        OUTSIDER: 404,
    },
    # An empty form: the page again with its messages next to the fields.
    ("POST", "partnerships.weights"): {
        ANON: 302,
        ADMIN: 200,
        LEAD: 200,
        PROVIDER: 403,
        SPONSOR: 403,
        VIEWER: 403,
        OUTSIDER: 404,
    },
    ("GET", "partnerships.invite"): {
        ANON: 302,
        ADMIN: 200,
        LEAD: 200,
        PROVIDER: 403,
        SPONSOR: 403,
        VIEWER: 403,
        OUTSIDER: 404,
    },
    ("POST", "partnerships.invite"): {
        ANON: 302,
        ADMIN: 200,
        LEAD: 200,
        PROVIDER: 403,
        SPONSOR: 403,
        VIEWER: 403,
        OUTSIDER: 404,
    },
}

# Each domain keeps its rows in tests/routes_<domain>.py (a SCOPED dict like the one above,
# and optionally SAMPLE_ARGS), so that the table grows with the code without one long file.
for _module in pkgutil.iter_modules(tests.__path__):
    if _module.name.startswith("routes_"):
        SCOPED.update(importlib.import_module(f"tests.{_module.name}").SCOPED)

# Routes outside any partnership.
GLOBAL: dict[tuple[str, str], dict[str, int]] = {
    ("GET", "home"): _everyone(302),
    ("GET", "healthz"): _everyone(200),
    ("GET", "static"): _everyone(200),
    ("GET", "bootstrap.static"): _everyone(200),
    ("GET", "security.static"): _everyone(404),
    ("GET", "partnerships.index"): _everyone(200, anonymous=302),
    ("GET", "actions.mine"): _everyone(200, anonymous=302),
    ("GET", "actions.mine_export"): _everyone(200, anonymous=302),
    ("GET", "dashboard.portfolio"): _everyone(200, anonymous=302),
    ("GET", "dashboard.export"): _everyone(200, anonymous=302),
    # An unknown job (jobs of a partnership are walked in tests/test_jobs.py).
    ("GET", "jobs.status"): _everyone(404, anonymous=302),
    ("GET", "security.login"): _everyone(302, anonymous=200),
    ("POST", "security.login"): _everyone(302, anonymous=200),
    ("POST", "security.logout"): _everyone(302),
    ("GET", "security.verify"): _everyone(200, anonymous=302),
    ("POST", "security.verify"): _everyone(200, anonymous=302),
    ("GET", "security.change_password"): _everyone(200, anonymous=302),
    ("POST", "security.change_password"): _everyone(200, anonymous=302),
    ("GET", "security.forgot_password"): _everyone(200),
    ("POST", "security.forgot_password"): _everyone(200),
    ("GET", "security.reset_password"): _everyone(302, anonymous=302),
    ("POST", "security.reset_password"): _everyone(302, anonymous=302),
    ("GET", "security.two_factor_setup"): _everyone(200, anonymous=302),
    ("POST", "security.two_factor_setup"): _everyone(200, anonymous=302),
    ("POST", "security.two_factor_setup_validate"): _everyone(302, anonymous=302),
    ("GET", "security.two_factor_token_validation"): _everyone(302, anonymous=302),
    ("POST", "security.two_factor_token_validation"): _everyone(302, anonymous=302),
    ("GET", "security.two_factor_rescue"): _everyone(302, anonymous=302),
    ("POST", "security.two_factor_rescue"): _everyone(302, anonymous=302),
    ("GET", "security.tf_select"): _everyone(302, anonymous=302),
    ("POST", "security.tf_select"): _everyone(302, anonymous=302),
    # An unknown invitation token: the same clear page for everyone.
    ("GET", "auth.accept_invitation"): _everyone(404),
    ("POST", "auth.accept_invitation"): _everyone(404),
}

# A routes_<domain>.py may also add routes outside any partnership (a GLOBAL dict).
for _module in pkgutil.iter_modules(tests.__path__):
    if _module.name.startswith("routes_"):
        GLOBAL.update(getattr(importlib.import_module(f"tests.{_module.name}"), "GLOBAL", {}))

# Flask-Security ends a signed-in session that opens the two-factor code pages without a
# pending two-factor sign-in; the walk signs in again before each of these.
ENDS_SESSION = {
    ("GET", "security.two_factor_token_validation"),
    ("POST", "security.two_factor_token_validation"),
    ("GET", "security.two_factor_rescue"),
    ("POST", "security.two_factor_rescue"),
    ("POST", "security.logout"),
}

SAMPLE_ARGS = {
    "filename": {
        "static": "css/app.css",
        "bootstrap.static": "css/bootstrap.min.css",
        "security.static": "nothing-here.js",
    },
    "token": "not-a-real-token",
    "chart": "health",
    "job_id": 999999,
}


EXTRA_ARGS: dict[str, str] = {}
# A routes_<domain>.py may define prepare(world) -> {"meeting_id": …}: objects of the members'
# partnership it creates for the walk, by URL argument name.
PREPARERS = []
for _module in pkgutil.iter_modules(tests.__path__):
    if _module.name.startswith("routes_"):
        _routes_module = importlib.import_module(f"tests.{_module.name}")
        EXTRA_ARGS.update(getattr(_routes_module, "SAMPLE_ARGS", {}))
        if hasattr(_routes_module, "prepare"):
            PREPARERS.append(_routes_module.prepare)


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            continue  # the JSON API has its own matrix (bearer tokens): test_api_permissions
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule


def test_every_route_is_in_the_matrix(app):
    missing = [
        f"{method} {rule.endpoint} ({rule.rule})"
        for method, rule in _routes(app)
        if (method, rule.endpoint) not in SCOPED and (method, rule.endpoint) not in GLOBAL
    ]
    assert missing == [], "routes with no entry in the permission matrix"
    scoped = {
        (method, rule.endpoint)
        for method, rule in _routes(app)
        if "partnership_id" in rule.arguments
    }
    assert scoped == set(SCOPED), "every partnership route must be in SCOPED, and only those"


_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def _client_for(app, world, who):
    client = app.test_client()
    if who != ANON:
        response = sign_in(client, world.user(who).email)
        assert response.status_code == 302, f"{who} could not sign in"
    return client


def _csrf(client) -> str:
    # Flask-WTF's token is per session, so any page's token serves every form.
    page = client.get("/login") if not client.get_cookie("mls_session") else None
    html = (page or client.get("/change")).get_data(as_text=True)
    match = _CSRF.search(html) or _CSRF.search(client.get("/login").get_data(as_text=True))
    assert match
    return match.group(1)


def _url(app, rule, partnership_id: int, ids: dict[str, int] | None = None) -> str:
    values = {}
    for argument in rule.arguments:
        if argument == "partnership_id":
            values[argument] = partnership_id
        elif ids and argument in ids:
            values[argument] = ids[argument]
        elif argument in EXTRA_ARGS:
            values[argument] = EXTRA_ARGS[argument]
        elif argument == "filename":
            values[argument] = SAMPLE_ARGS["filename"][rule.endpoint]
        else:
            values[argument] = SAMPLE_ARGS[argument]
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def _status(client, method: str, url: str) -> int:
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data={"csrf_token": _csrf(client)})
    response.close()  # static files are streamed from open files
    return response.status_code


def _object_arguments(rule, ids: dict[str, int]) -> set[str]:
    """The URL arguments of a route that name an object of the partnership."""
    return {argument for argument in rule.arguments if argument in ids}


def _cross_requests(app, rule, world, foreign, who) -> list[tuple[str, int]]:
    """URLs asking, through a partnership the user IS a member of, for objects of another
    partnership — only the object's own check stands in the way, not membership. Each with
    the status it must get: 404 (the object is not of that partnership), or the 403 the role
    gets for this route anyway (refused before any object is looked at)."""
    if not _object_arguments(rule, world.ids) or who == ANON:
        return []
    urls = []
    if who in MEMBERS or who == ADMIN:  # members of world.partnership; the admin of every one
        urls.append(_url(app, rule, world.partnership.id, foreign.ids))
    if who in (OUTSIDER, ADMIN):  # the outsider leads world.other
        urls.append(_url(app, rule, world.other.id, world.ids))
    return urls


@pytest.mark.parametrize("who", EVERYONE)
def test_matrix(app, world, who):
    for prepare in PREPARERS:
        world.ids.update(prepare(world))
    # The same kinds of objects in the other partnership, for the cross requests.
    foreign = factories.foreign_world(world)
    for prepare in PREPARERS:
        foreign.ids.update(prepare(foreign))
    db.session.commit()
    client = _client_for(app, world, who)
    failures = []
    # Routes that end the session go last, so the rest are walked signed in.
    for method, rule in sorted(_routes(app), key=lambda r: (r[0], r[1].endpoint) in ENDS_SESSION):
        key = (method, rule.endpoint)
        if key in SCOPED:
            # Objects of the members' partnership: the same ids under another partnership's
            # URL must be a 404 too (the object does not belong there).
            own = _url(app, rule, world.partnership.id, world.ids)
            expected = SCOPED[key][who]
            status = _status(client, method, own)
            if status != expected:
                failures.append(f"{method} {own}: {status}, expected {expected}")
            if who in MEMBERS:
                elsewhere = _url(app, rule, world.other.id, world.ids)
                status = _status(client, method, elsewhere)
                if status != 404:
                    failures.append(
                        f"{method} {elsewhere} (another partnership): {status}, not 404"
                    )
            # Another partnership's object under a partnership the user may act on.
            crossed = 403 if expected == 403 else 404
            for url in _cross_requests(app, rule, world, foreign, who):
                status = _status(client, method, url)
                if status != crossed:
                    failures.append(
                        f"{method} {url} (an object of another partnership): {status}, "
                        f"expected {crossed}"
                    )
        elif key in GLOBAL:
            if key in ENDS_SESSION and who != ANON:
                client = _client_for(app, world, who)
            url = _url(app, rule, world.partnership.id)
            status = _status(client, method, url)
            expected = GLOBAL[key][who]
            if status != expected:
                failures.append(f"{method} {url}: {status}, expected {expected}")
    assert not failures, "\n".join(failures)


def test_unknown_partnership_is_404_even_for_admin(client, world):
    sign_in(client, world.admin.email)
    assert client.get("/partnerships/999999").status_code == 404


@pytest.mark.parametrize("role", list(Role))
def test_role_rights_follow_the_product_definition(role):
    rights = ROLE_ACTIONS[role]
    assert Action.VIEW in rights
    if role is Role.LEAD:
        assert rights == frozenset(Action)
    else:
        assert Action.MANAGE not in rights and Action.INVITE not in rights
    assert (Action.PROPOSE_ACTUALS in rights) is (role in {Role.LEAD, Role.PROVIDER})
    assert (Action.UPDATE_PROVIDER_ACTIONS in rights) is (role in {Role.LEAD, Role.PROVIDER})
    assert (Action.ACKNOWLEDGE_SCORECARD in rights) is (role in {Role.LEAD, Role.SPONSOR})


def test_can_answers_per_partnership(app, world):
    with app.test_request_context():
        assert can(world.lead, Action.MANAGE, world.partnership.id)
        assert not can(world.lead, Action.VIEW, world.other.id)
        assert can(world.outsider, Action.MANAGE, world.other.id)
        assert not can(world.outsider, Action.VIEW, world.partnership.id)
        assert can(world.admin, Action.MANAGE, world.other.id)
        assert not can(world.viewer, Action.INVITE, world.partnership.id)


def test_a_deactivated_member_may_do_nothing(app, world):
    world.lead.active = False
    with app.test_request_context():
        assert not can(world.lead, Action.VIEW, world.partnership.id)


# Bugs `make mutate` planted in access.py that the matrix let through.


def test_a_refusal_carries_the_services_message_or_the_default(app, world):
    """A member whose role lacks the action gets the service's own message (shown on the 403
    page), or the default one; a non-member's refusal is hidden (404) and says nothing."""
    with app.test_request_context():
        with pytest.raises(PermissionDenied) as refused:
            require(world.viewer, Action.MANAGE, world.partnership.id, "Only leads may do this.")
        assert (str(refused.value), refused.value.hidden) == ("Only leads may do this.", False)
        with pytest.raises(PermissionDenied) as refused:
            require(world.viewer, Action.MANAGE, world.partnership.id)
        assert str(refused.value) == "Your role in this partnership does not allow this."
        with pytest.raises(PermissionDenied) as refused:
            require(world.outsider, Action.VIEW, world.partnership.id, "Only leads may do this.")
        assert refused.value.hidden is True


def test_a_refusal_is_logged_with_its_status_user_action_partnership_and_request(
    app, world, caplog
):
    """The denial log says 403 or 404, who, what, where — and the request when there is one."""
    pid = world.partnership.id
    with caplog.at_level("WARNING", logger="mls_tracker.access"):
        with app.test_request_context(f"/partnerships/{pid}/slas/new", method="POST"):
            with pytest.raises(PermissionDenied):
                require(world.viewer, Action.MANAGE, pid)
            with pytest.raises(PermissionDenied):
                require(world.outsider, Action.VIEW, pid)
        with app.app_context(), pytest.raises(PermissionDenied):
            require(world.viewer, Action.INVITE, pid)
    assert [r.getMessage() for r in caplog.records if r.name == "mls_tracker.access"] == [
        f"denied 403: user={world.viewer.id} action='manage' partnership={pid} "
        f"POST /partnerships/{pid}/slas/new",
        f"denied 404: user={world.outsider.id} action='view' partnership={pid} "
        f"POST /partnerships/{pid}/slas/new",
        f"denied 403: user={world.viewer.id} action='invite' partnership={pid}",
    ]


def test_member_of_a_role(app, world):
    """``member_of(user, role)``: only the partnerships where the user holds that role."""
    pid = world.partnership.id

    def ids(user, role=None):
        return set(db.session.scalars(member_of(user, role)))

    assert ids(world.lead, Role.LEAD) == {pid}
    assert ids(world.provider) == {pid}
    assert ids(world.provider, Role.LEAD) == set()
    assert ids(world.outsider, Role.LEAD) == {world.other.id}


def test_require_takes_a_partnership_or_any_object_of_one(app, world):
    """``require``'s target: a partnership, its id, or an object with its partnership's id
    (``audit_partnership_id``); anything else is a programming error."""
    sponsor = db.session.get(Sponsor, world.ids["sponsor_id"])
    assert partnership_id_of(world.partnership) == world.partnership.id
    assert partnership_id_of(sponsor) == world.partnership.id
    with pytest.raises(TypeError, match="does not belong to a partnership"):
        partnership_id_of(object())
    with app.test_request_context():
        require(world.lead, Action.MANAGE, sponsor)
        with pytest.raises(PermissionDenied) as refused:
            require(world.outsider, Action.VIEW, sponsor)
        assert refused.value.hidden is True


def test_visible_partnerships(app, world):
    """An admin sees every partnership, a member only theirs."""

    def names(user):
        return sorted(p.name for p in db.session.scalars(visible_partnerships(user)))

    assert names(world.admin) == ["Global Learning", "Other Programme"]
    assert names(world.viewer) == ["Global Learning"]
    assert names(world.outsider) == ["Other Programme"]
