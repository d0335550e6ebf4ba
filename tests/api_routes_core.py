"""API permission-matrix rows of partnerships, SLAs, actuals and action items (merged into
tests/test_api_permissions.py, like tests/routes_<domain>.py for the pages).

Each row: (method, endpoint) → (status by role, the JSON body to send or None). A token of
each role asks for the members' partnership; members' requests for another partnership must
be 404, and so must an object of another partnership asked for under their own."""

from __future__ import annotations

import datetime as dt

ROLES = ("admin", "lead", "provider", "sponsor", "viewer", "outsider")


def statuses(admin, lead, provider, sponsor, viewer, outsider=404) -> dict[str, int]:
    return dict(zip(ROLES, (admin, lead, provider, sponsor, viewer, outsider), strict=True))


READ = statuses(200, 200, 200, 200, 200)
LEAD_ONLY = statuses(200, 200, 403, 403, 403)
ACTUALS = statuses(200, 200, 200, 403, 403)

SCOPED = {
    ("GET", "api_partnerships.PartnershipItem"): (READ, None),
    ("GET", "api_slas.Slas"): (READ, None),
    ("GET", "api_slas.SlaItem"): (READ, None),
    ("GET", "api_slas.MonthActuals"): (READ, None),
    (
        "PUT",
        "api_slas.MonthActuals",
    ): (ACTUALS, {"actuals": [{"sla_id": "{sla_id}", "value": "97", "version": 1}]}),
    ("POST", "api_slas.ConfirmActuals"): (LEAD_ONLY, {"sla_ids": ["{sla_id}"]}),
    ("GET", "api_actions.Actions"): (READ, None),
    (
        "POST",
        "api_actions.Actions",
    ): (
        {**LEAD_ONLY, "admin": 201, "lead": 201},
        {"title": "Chase the report", "owner_side": "provider", "due_on": "2026-02-01"},
    ),
    ("GET", "api_actions.ActionResource"): (READ, None),
    (
        "POST",
        "api_actions.ActionUpdates",
    ): (statuses(201, 201, 201, 403, 403), {"note": "Draft sent"}),
    ("PUT", "api_actions.ActionStatusResource"): (ACTUALS, {"status": "in progress"}),
}

# Routes outside any partnership: status by role (anyone with a token).
GLOBAL = {
    ("GET", "api_partnerships.Partnerships"): statuses(200, 200, 200, 200, 200, 200),
    ("GET", "api_docs"): statuses(200, 200, 200, 200, 200, 200),
}

# Routes anyone may read without a token (the reference page, as the OpenAPI document).
PUBLIC = {("GET", "api_docs")}

# URL arguments that are not objects of the world (the month of the actuals routes).
SAMPLE_ARGS = {"month": "2025-06"}


def prepare(world) -> dict[str, int]:
    """A provider-side action item of the partnership."""
    from mls_tracker.extensions import db
    from mls_tracker.models import ActionItem, Side

    item = ActionItem(
        partnership_id=world.partnership.id,
        title="Send the completion report",
        owner_side=Side.PROVIDER,
        due_on=dt.date(2026, 1, 31),
    )
    db.session.add(item)
    db.session.flush()
    return {"action_id": item.id}
