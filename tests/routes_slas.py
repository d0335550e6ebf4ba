"""Permission matrix rows for the SLA pages (merged into tests/test_permissions.py)."""

ANON, ADMIN, LEAD, PROVIDER, SPONSOR, VIEWER, OUTSIDER = (
    "anonymous",
    "admin",
    "lead",
    "provider",
    "sponsor",
    "viewer",
    "outsider",
)


def _row(allowed: int, *, provider: int, reader: int) -> dict[str, int]:
    return {
        ANON: 302,
        ADMIN: allowed,
        LEAD: allowed,
        PROVIDER: provider,
        SPONSOR: reader,
        VIEWER: reader,
        OUTSIDER: 404,
    }


READ = _row(200, provider=200, reader=200)
MANAGE = _row(200, provider=403, reader=403)
PROPOSE = _row(200, provider=200, reader=403)

SCOPED = {
    ("GET", "slas.index"): READ,
    ("GET", "slas.export"): READ,
    ("GET", "slas.show"): READ,
    ("GET", "slas.new"): MANAGE,
    ("POST", "slas.new"): MANAGE,
    ("GET", "slas.edit"): MANAGE,
    ("POST", "slas.edit"): MANAGE,
    ("GET", "slas.target"): MANAGE,
    ("POST", "slas.target"): MANAGE,
    ("GET", "slas.pick_month"): _row(302, provider=302, reader=403),
    ("GET", "slas.actuals"): PROPOSE,
    ("POST", "slas.actuals"): PROPOSE,
    ("GET", "slas.upload"): PROPOSE,
    ("POST", "slas.upload"): PROPOSE,
    ("POST", "slas.upload_confirm"): PROPOSE,
}

SAMPLE_ARGS = {"month": "2025-06"}
