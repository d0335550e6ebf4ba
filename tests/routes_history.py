"""Permission-matrix rows of the audit log (merged into tests/test_permissions.py): the page
and its CSV are for administrators and leads (of any partnership: the outsider leads another
one and sees that one's entries); everyone else gets 404, as for the administration."""

READERS = {
    "anonymous": 302,
    "admin": 200,
    "lead": 200,
    "provider": 404,
    "sponsor": 404,
    "viewer": 404,
    "outsider": 200,
}

GLOBAL = {
    ("GET", "history.index"): READERS,
    ("GET", "history.export"): READERS,
}

SCOPED: dict = {}
