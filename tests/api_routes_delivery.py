"""API permission-matrix rows of delivery volumes and spend (merged into
tests/test_api_permissions.py)."""

from __future__ import annotations

from tests import routes_delivery

ROLES = ("admin", "lead", "provider", "sponsor", "viewer", "outsider")


def statuses(admin, lead, provider, sponsor, viewer, outsider=404) -> dict[str, int]:
    return dict(zip(ROLES, (admin, lead, provider, sponsor, viewer, outsider), strict=True))


READ = statuses(200, 200, 200, 200, 200)
MONTH = {
    "learners_trained": 40,
    "completions": 35,
    "training_hours": "80.5",
    "sessions_delivered": 4,
    "invoiced_amount": "5000",
}

SCOPED = {
    ("GET", "api_delivery.DeliveryMonths"): (READ, None),
    ("GET", "api_delivery.DeliveryMonthItem"): (READ, None),
    ("PUT", "api_delivery.DeliveryMonthItem"): (statuses(200, 200, 200, 403, 403), MONTH),
    ("POST", "api_delivery.ConfirmDeliveryMonth"): (statuses(200, 200, 403, 403, 403), {}),
}


# A proposed month (June 2025, the sample month), as for the pages.
prepare = routes_delivery.prepare
