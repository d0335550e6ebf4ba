"""Permission-matrix rows of the people pages (merged into tests/test_permissions.py).

The walk gives URLs outside a partnership fixed arguments: ``user_id`` 1 is the world's
administrator (the first user created on an emptied database, SQLite and PostgreSQL alike).
A POST with nothing but the CSRF token changes nothing and goes back to the person's page."""

_OTHERS = dict.fromkeys(("lead", "provider", "sponsor", "viewer", "outsider"), 404)
# Administration: the admin sees it, everyone else is answered as if it did not exist.
ADMIN_PAGE = {"anonymous": 302, "admin": 200, **_OTHERS}
ADMIN_POST = {"anonymous": 302, "admin": 302, **_OTHERS}
SIGNED_IN = dict.fromkeys(("admin", "lead", "provider", "sponsor", "viewer", "outsider"), 200)

SCOPED: dict = {}

GLOBAL = {
    ("GET", "accounts.users"): ADMIN_PAGE,
    ("GET", "accounts.export"): ADMIN_PAGE,
    ("GET", "accounts.invite"): ADMIN_PAGE,
    # An empty invitation: the form again with its messages.
    ("POST", "accounts.invite"): ADMIN_PAGE,
    ("GET", "accounts.user"): ADMIN_PAGE,
    ("POST", "accounts.set_organisation"): ADMIN_POST,
    ("POST", "accounts.set_admin"): ADMIN_POST,
    ("POST", "accounts.set_active"): ADMIN_POST,
    ("POST", "accounts.reset_two_factor"): ADMIN_POST,
    ("POST", "accounts.add_membership"): ADMIN_POST,
    ("POST", "accounts.membership"): ADMIN_POST,
    # Anyone's own account; an empty POST shows the form again with its messages.
    ("GET", "accounts.account"): {"anonymous": 302, **SIGNED_IN},
    ("POST", "accounts.account"): {"anonymous": 302, **SIGNED_IN},
    # Anyone's own API tokens; someone else's (here: none) is not there for them.
    ("GET", "accounts.tokens"): {"anonymous": 302, **SIGNED_IN},
    ("POST", "accounts.tokens"): {"anonymous": 302, **SIGNED_IN},
    ("GET", "accounts.revoke_token"): {"anonymous": 302, **dict.fromkeys(SIGNED_IN, 404)},
    ("POST", "accounts.revoke_token"): {"anonymous": 302, **dict.fromkeys(SIGNED_IN, 404)},
}

SAMPLE_ARGS = {"user_id": 1, "token_id": 999999}
