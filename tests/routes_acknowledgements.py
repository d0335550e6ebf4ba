"""Permission-matrix rows of the acknowledgement pages (merged into tests/test_permissions.py).

The pages are public: the personal link is the credential. The walk's sample token is not a
real one, so everyone — signed in or not, of any partnership — gets the same "not valid" 404.
"""

SCOPED: dict = {}

_NOT_VALID = dict.fromkeys(
    ("anonymous", "admin", "lead", "provider", "sponsor", "viewer", "outsider"), 404
)

GLOBAL = {
    ("GET", "acknowledgements.show"): _NOT_VALID,
    ("POST", "acknowledgements.show"): _NOT_VALID,
    ("GET", "acknowledgements.download"): _NOT_VALID,
}
