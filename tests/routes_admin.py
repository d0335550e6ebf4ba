"""Permission-matrix rows of the administration pages (merged into tests/test_permissions.py):
administrators only; anyone else signed in gets 404, as if there were nothing there."""

from mls_tracker.extensions import db
from mls_tracker.models import Role, User
from mls_tracker.services import api_tokens
from tests import test_permissions

ADMIN_ONLY = {
    "anonymous": 302,
    "admin": 200,
    "lead": 404,
    "provider": 404,
    "sponsor": 404,
    "viewer": 404,
    "outsider": 404,
}
# A POST that changes something and goes back to a page.
ADMIN_REDIRECT = {**ADMIN_ONLY, "admin": 302}

GLOBAL = {
    ("GET", "admin.index"): ADMIN_ONLY,
    ("GET", "admin.organisations_index"): ADMIN_ONLY,
    ("GET", "admin.organisations_export"): ADMIN_ONLY,
    # An empty form: the page again with its messages.
    ("GET", "admin.organisation_new"): ADMIN_ONLY,
    ("POST", "admin.organisation_new"): ADMIN_ONLY,
    ("GET", "admin.organisation_edit"): ADMIN_ONLY,
    ("POST", "admin.organisation_edit"): ADMIN_ONLY,
    ("POST", "admin.organisation_retire"): ADMIN_REDIRECT,
    ("POST", "admin.organisation_restore"): ADMIN_REDIRECT,
    # The walk's organisation is a partnership's client: the page says why it stays (200).
    ("GET", "admin.organisation_delete"): ADMIN_ONLY,
    ("POST", "admin.organisation_delete"): ADMIN_ONLY,
    ("GET", "admin.regions_index"): ADMIN_ONLY,
    ("GET", "admin.regions_export"): ADMIN_ONLY,
    ("GET", "admin.region_new"): ADMIN_ONLY,
    ("POST", "admin.region_new"): ADMIN_ONLY,
    ("GET", "admin.region_edit"): ADMIN_ONLY,
    ("POST", "admin.region_edit"): ADMIN_ONLY,
    ("POST", "admin.region_move"): ADMIN_REDIRECT,
    ("POST", "admin.region_retire"): ADMIN_REDIRECT,
    ("POST", "admin.region_restore"): ADMIN_REDIRECT,
    # The walk's region is in scope of a partnership: the page says why it stays (200).
    ("GET", "admin.region_delete"): ADMIN_ONLY,
    ("POST", "admin.region_delete"): ADMIN_ONLY,
    # Service accounts: the walk's account has a membership and a live token (prepare).
    ("GET", "admin.service_accounts"): ADMIN_ONLY,
    ("GET", "admin.service_accounts_export"): ADMIN_ONLY,
    ("GET", "admin.service_account_new"): ADMIN_ONLY,
    ("POST", "admin.service_account_new"): ADMIN_ONLY,  # empty: the form with its messages
    ("GET", "admin.service_account"): ADMIN_ONLY,
    ("POST", "admin.service_account_token_new"): ADMIN_ONLY,  # empty: the page with messages
    ("GET", "admin.service_account_token_revoke"): ADMIN_ONLY,
    ("POST", "admin.service_account_token_revoke"): ADMIN_REDIRECT,
    ("POST", "admin.service_account_membership_new"): ADMIN_ONLY,  # empty: the page again
    ("GET", "admin.service_account_membership_remove"): ADMIN_ONLY,
    ("POST", "admin.service_account_membership_remove"): ADMIN_REDIRECT,
    ("GET", "admin.service_account_deactivate"): ADMIN_ONLY,
    ("POST", "admin.service_account_deactivate"): ADMIN_REDIRECT,
    ("POST", "admin.service_account_reactivate"): ADMIN_REDIRECT,
}

SCOPED: dict = {}


def prepare(world) -> dict[str, int]:
    # Routes outside a partnership take their URL arguments from EXTRA_ARGS: the walk's
    # organisation and region are ones partnerships refer to, so that no POST deletes them.
    test_permissions.EXTRA_ARGS["organisation_id"] = world.partnership.client_id
    test_permissions.EXTRA_ARGS["region_id"] = world.partnership.regions[0].id
    admin = db.session.get(User, world.admin.id)
    account = api_tokens.create_service_account(
        admin, "Matrix bot", [(world.partnership.id, Role.VIEWER)]
    )
    token = api_tokens.create_token(admin, account, name="Matrix token").token
    test_permissions.EXTRA_ARGS["account_id"] = account.id
    test_permissions.EXTRA_ARGS["membership_id"] = account.memberships[0].id
    test_permissions.EXTRA_ARGS["service_token_id"] = token.id
    return {}
