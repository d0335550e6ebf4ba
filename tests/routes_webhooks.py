"""Permission-matrix rows of the webhook pages (merged into tests/test_permissions.py):
leads and admins only; provider, sponsor and viewer are refused (403), the outsider sees
nothing (404). A POST without its CSRF token changes nothing (the form again, or back)."""

from mls_tracker.extensions import db
from mls_tracker.models import WebhookDelivery, WebhookEndpoint

MANAGE = {
    "anonymous": 302,
    "admin": 200,
    "lead": 200,
    "provider": 403,
    "sponsor": 403,
    "viewer": 403,
    "outsider": 404,
}
BUTTON = {**MANAGE, "admin": 302, "lead": 302}

SCOPED = {
    ("GET", "webhooks.index"): MANAGE,
    ("GET", "webhooks.new"): MANAGE,
    ("POST", "webhooks.new"): MANAGE,
    ("GET", "webhooks.show"): MANAGE,
    ("GET", "webhooks.edit"): MANAGE,
    ("POST", "webhooks.edit"): MANAGE,
    ("GET", "webhooks.delete"): MANAGE,
    ("POST", "webhooks.delete"): MANAGE,
    ("POST", "webhooks.send_test"): BUTTON,
    ("POST", "webhooks.rotate"): MANAGE,  # the new secret is shown at once
    ("POST", "webhooks.enable"): BUTTON,
    ("POST", "webhooks.disable"): BUTTON,
    ("POST", "webhooks.redeliver"): BUTTON,
}


def prepare(world) -> dict[str, int]:
    endpoint = WebhookEndpoint(
        partnership_id=world.partnership.id,
        url="https://192.0.2.1/mls",  # never reached: not a global address
        events=["actual.proposed"],
        secret_encrypted="not-a-real-secret",
    )
    db.session.add(endpoint)
    db.session.flush()
    delivery = WebhookDelivery(
        endpoint_id=endpoint.id, event_type="actual.proposed", payload={}, state="failed"
    )
    db.session.add(delivery)
    db.session.flush()
    return {"endpoint_id": endpoint.id, "delivery_id": delivery.id}
