"""Permission-matrix rows of the first-run set-up page (merged into tests/test_permissions.py):
the database of the walk has users, so any set-up link is a 404 for everyone."""

GLOBAL = {
    ("GET", "setup.first_admin"): dict.fromkeys(
        ("anonymous", "admin", "lead", "provider", "sponsor", "viewer", "outsider"), 404
    ),
    ("POST", "setup.first_admin"): dict.fromkeys(
        ("anonymous", "admin", "lead", "provider", "sponsor", "viewer", "outsider"), 404
    ),
}

SCOPED: dict = {}
