"""Permission matrix rows for the delivery pages (merged into tests/test_permissions.py)."""

from mls_tracker.extensions import db
from mls_tracker.models import DeliveryMonth, MeasurementState
from mls_tracker.periods import Month
from tests.routes_slas import PROPOSE, READ, _row  # the same rows as the SLA pages'

SCOPED = {
    ("GET", "delivery.index"): READ,
    ("GET", "delivery.export"): READ,
    ("GET", "delivery.pick_month"): _row(302, provider=302, reader=403),
    ("GET", "delivery.month"): PROPOSE,
    ("POST", "delivery.month"): PROPOSE,  # an empty form: the page with its messages
    ("POST", "delivery.confirm"): _row(302, provider=403, reader=403),
    ("POST", "delivery.confirm_all"): _row(302, provider=403, reader=403),
    ("GET", "delivery.upload"): PROPOSE,
    ("POST", "delivery.upload"): PROPOSE,
    ("POST", "delivery.upload_confirm"): PROPOSE,
}


def prepare(world) -> dict[str, int]:
    """A proposed month (June 2025, the sample month) for the confirm and API routes."""
    db.session.add(
        DeliveryMonth(
            partnership_id=world.partnership.id,
            month=Month(2025, 6),
            learners_trained=10,
            completions=8,
            training_hours=20,
            sessions_delivered=2,
            invoiced_amount=1000,
            state=MeasurementState.PROPOSED,
        )
    )
    db.session.commit()
    return {}
