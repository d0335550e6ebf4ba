"""Permission-matrix rows of the sponsors pages (merged into tests/test_permissions.py)."""

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
    ("GET", "sponsors.index"): READ,
    ("GET", "sponsors.new"): WRITE,
    ("POST", "sponsors.new"): WRITE,
    ("GET", "sponsors.edit"): WRITE,
    ("POST", "sponsors.edit"): WRITE,
    ("GET", "sponsors.end"): WRITE,
    ("POST", "sponsors.end"): WRITE,
}
