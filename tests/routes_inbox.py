"""Permission-matrix rows of the queues and the inbox (merged into tests/test_permissions.py).

Both are a user's own, across their partnerships: every signed-in user may open them and
sees only what is theirs (tests/test_queues.py, tests/test_inbox.py check the contents). The
queues' index sends a lead or a provider on to their first queue; others get a page saying
they have none. ``notification_id`` 999999 is nobody's: 404 for everyone."""

_SIGNED_IN = ("admin", "lead", "provider", "sponsor", "viewer", "outsider")
PAGE = {"anonymous": 302, **dict.fromkeys(_SIGNED_IN, 200)}
BUTTON = {"anonymous": 302, **dict.fromkeys(_SIGNED_IN, 302)}

SCOPED: dict = {}

GLOBAL = {
    # lead, provider and outsider (a lead elsewhere) are sent on to their first queue
    ("GET", "queues.index"): {**PAGE, "lead": 302, "provider": 302, "outsider": 302},
    ("GET", "queues.show"): PAGE,
    ("GET", "queues.export"): PAGE,
    ("GET", "inbox.index"): PAGE,
    ("POST", "inbox.open_"): {"anonymous": 302, **dict.fromkeys(_SIGNED_IN, 404)},
    ("POST", "inbox.read_all"): BUTTON,
    # an empty POST shows the form again with its message
    ("GET", "accounts.notifications"): PAGE,
    ("POST", "accounts.notifications"): PAGE,
}

SAMPLE_ARGS = {"name": "verification", "notification_id": 999999}
