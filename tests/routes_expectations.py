"""Permission-matrix rows of the expectations pages (merged into tests/test_permissions.py)."""

READ = {
    "anonymous": 302,
    "admin": 200,
    "lead": 200,
    "provider": 200,
    "sponsor": 200,
    "viewer": 200,
    "outsider": 404,
}
# Writes: leads and admins get the form (a POST with no data shows it again with errors).
WRITE = {
    "anonymous": 302,
    "admin": 200,
    "lead": 200,
    "provider": 403,
    "sponsor": 403,
    "viewer": 403,
    "outsider": 404,
}

SCOPED = {
    ("GET", "expectations.index"): READ,
    ("GET", "expectations.export"): READ,
    ("GET", "expectations.show"): READ,
    ("GET", "expectations.new"): WRITE,
    ("POST", "expectations.new"): WRITE,
    ("GET", "expectations.edit"): WRITE,
    ("POST", "expectations.edit"): WRITE,
    ("GET", "expectations.revisit"): WRITE,
    ("POST", "expectations.revisit"): WRITE,
}
