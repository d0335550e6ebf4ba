"""Permission-matrix rows of the client's logo pages (merged into tests/test_permissions.py)."""

import io

import sqlalchemy as sa
from PIL import Image

from mls_tracker.extensions import db
from mls_tracker.models import Logo, Partnership
from tests.routes_satisfaction import MANAGE, READ

# The same rows as the satisfaction pages': members read; leads and administrators upload
# and remove. A POST with only the CSRF token shows the page again with its messages (no
# file, no version), so the walk changes nothing.
SCOPED = {
    ("GET", "partnerships.logo"): MANAGE,
    ("POST", "partnerships.logo"): MANAGE,
    ("POST", "partnerships.remove_logo"): MANAGE,
    ("GET", "partnerships.logo_image"): READ,
}


def prepare(world) -> dict[str, int]:
    """A logo for the members' partnership (and, called for the foreign world, the other's),
    so that its image is there to be read."""
    out = io.BytesIO()
    Image.new("RGB", (4, 2), (0, 114, 178)).save(out, format="PNG")
    for partnership in db.session.scalars(
        sa.select(Partnership).where(Partnership.logo_id.is_(None))
    ):
        partnership.logo = Logo(png=out.getvalue(), width=4, height=2, sha256="0" * 64)
    db.session.flush()
    return {}
