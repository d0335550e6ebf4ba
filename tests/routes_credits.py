"""Permission-matrix rows of the service credits pages (merged into tests/test_permissions.py)."""

READ = {
    "anonymous": 302,
    "admin": 200,
    "lead": 200,
    "provider": 200,
    "sponsor": 200,
    "viewer": 200,
    "outsider": 404,
}

SCOPED = {
    ("GET", "credits.index"): READ,
    ("GET", "credits.export"): READ,
}
