"""Permission-matrix rows of single sign-on (merged into tests/test_permissions.py): the walk's
app has no OIDC_ISSUER, so both routes are absent for everyone (tests/test_single_sign_on.py
drives them with a real provider)."""

from tests import test_permissions

SCOPED: dict = {}

GLOBAL = {
    ("POST", "auth.sso_start"): test_permissions._everyone(404),
    ("GET", "auth.sso_callback"): test_permissions._everyone(404),
}
