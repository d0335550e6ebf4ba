"""Permission-matrix rows of creating, editing, archiving and reopening partnerships (merged
into tests/test_permissions.py)."""

ADMIN_ONLY = {
    "anonymous": 302,
    "admin": 200,
    "lead": 404,
    "provider": 404,
    "sponsor": 404,
    "viewer": 404,
    "outsider": 404,
}
# Settings: administrators and the partnership's leads (a POST with no data shows the form
# again with its errors, so the walk changes nothing).
SETTINGS = {**ADMIN_ONLY, "lead": 200, "provider": 403, "sponsor": 403, "viewer": 403}

# A POST without the hidden version is refused with a message (200): the walk archives nothing.
GLOBAL = {
    ("GET", "contracts.new"): ADMIN_ONLY,
    ("POST", "contracts.new"): ADMIN_ONLY,
}

SCOPED = {
    ("GET", "contracts.edit"): SETTINGS,
    ("POST", "contracts.edit"): SETTINGS,
    ("GET", "contracts.archive"): ADMIN_ONLY,
    ("POST", "contracts.archive"): ADMIN_ONLY,
    ("GET", "contracts.reopen"): ADMIN_ONLY,
    ("POST", "contracts.reopen"): ADMIN_ONLY,
}
