"""API permission-matrix rows of delivery volumes and spend (merged into
tests/test_api_permissions.py)."""

from __future__ import annotations

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


def prepare(world) -> dict[str, int]:
    """A proposed month (June 2025, the sample month) of the partnership."""
    from mls_tracker.extensions import db
    from mls_tracker.models import DeliveryMonth, MeasurementState
    from mls_tracker.periods import Month

    db.session.add(
        DeliveryMonth(
            partnership_id=world.partnership.id,
            month=Month(2025, 6),
            learners_trained=10,
            completions=8,
            training_hours=20,
            sessions_delivered=2,
            state=MeasurementState.PROPOSED,
        )
    )
    db.session.flush()
    return {}
