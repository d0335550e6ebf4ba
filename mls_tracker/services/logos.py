"""The client's logo of a partnership: checked, re-encoded and stored, replaced and removed.

An uploaded image is never stored or served as it came: Pillow must recognise and verify it as
PNG, JPEG, GIF or WebP within ``MAX_BYTES`` and ``MAX_SIDE`` pixels a side (checked from the
header, before any pixel is decoded: a decompression bomb is refused unopened); its first
frame is then decoded, turned upright (EXIF orientation), shrunk to fit ``FIT`` and written
as a new PNG carrying no metadata (no EXIF, text chunks or colour profile).
"""

from __future__ import annotations

import base64
import hashlib
import io
import warnings
from dataclasses import dataclass

import sqlalchemy as sa
from PIL import Image, ImageOps, UnidentifiedImageError

from mls_tracker import access
from mls_tracker.access import Action
from mls_tracker.extensions import db
from mls_tracker.models import Logo, Partnership, User
from mls_tracker.scorecards.snapshot import LogoFacts
from mls_tracker.services.errors import NotFound, ValidationFailed
from mls_tracker.services.locking import check_version, guarded_save

MAX_BYTES = 2 * 1024 * 1024
MAX_SIDE = 4000  # px, either side of the image as uploaded
FIT = (600, 200)  # px: the stored logo fits in this box
FORMATS = {"PNG", "JPEG", "GIF", "WEBP"}
FIELD = "file"
CHANGED_MESSAGE = (
    "Someone changed this partnership's logo or settings while you were here: the page now "
    "shows the current logo. Upload again if yours should replace it."
)


@dataclass(frozen=True, slots=True)
class CleanLogo:
    png: bytes
    width: int
    height: int
    sha256: str


def clean_logo(data: bytes) -> CleanLogo:
    """The uploaded bytes as a checked, metadata-free PNG of at most ``FIT``;
    ``ValidationFailed`` (on the file field) saying what is wrong otherwise."""
    if not data:
        raise ValidationFailed("The file is empty: choose a PNG, JPEG, GIF or WebP image.", FIELD)
    if len(data) > MAX_BYTES:
        raise ValidationFailed(
            f"The file is {len(data) / 1024 / 1024:.1f} MB: a logo may be up to 2 MB.", FIELD
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format
                width, height = probe.size
                if kind not in FORMATS:
                    raise ValidationFailed(
                        f"A {kind} image cannot be a logo: use PNG, JPEG, GIF or WebP.", FIELD
                    )
                if width > MAX_SIDE or height > MAX_SIDE:
                    raise ValidationFailed(
                        f"The image is {width} × {height} pixels: a logo may be up to "
                        f"{MAX_SIDE} × {MAX_SIDE}.",
                        FIELD,
                    )
                probe.verify()  # the file's structure and checksums, without decoding
            with Image.open(io.BytesIO(data)) as image:
                image.seek(0)  # an animation's first frame
                image.load()
                image = ImageOps.exif_transpose(image) or image
                has_alpha = image.mode in ("RGBA", "LA", "PA") or (
                    image.mode == "P" and "transparency" in image.info
                )
                clean = image.convert("RGBA" if has_alpha else "RGB")
    except ValidationFailed:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Refused by Pillow at the header already: far more pixels than a logo has.
        raise ValidationFailed(
            f"The image is far too large: a logo may be up to {MAX_SIDE} × {MAX_SIDE} pixels.",
            FIELD,
        ) from error
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
    ) as error:
        raise ValidationFailed(
            "This file is not an image we can read: choose a PNG, JPEG, GIF or WebP file.", FIELD
        ) from error
    clean.thumbnail(FIT, Image.Resampling.LANCZOS)
    clean.info.clear()  # nothing of the upload's metadata is written again
    out = io.BytesIO()
    clean.save(out, format="PNG", optimize=True)
    png = out.getvalue()
    return CleanLogo(png, clean.width, clean.height, hashlib.sha256(png).hexdigest())


def set_logo(actor: User, partnership: Partnership, data: bytes, version: int | None) -> Logo:
    """The partnership's logo from an uploaded file, replacing any earlier one. Leads of the
    partnership and administrators."""
    access.require(actor, Action.MANAGE, partnership, "Only a lead may change the logo.")
    clean = clean_logo(data)
    check_version(partnership, version, CHANGED_MESSAGE)
    with guarded_save(CHANGED_MESSAGE):
        old = partnership.logo
        logo = Logo(png=clean.png, width=clean.width, height=clean.height, sha256=clean.sha256)
        logo.owner_partnership_id = partnership.id
        db.session.add(logo)
        partnership.logo = logo
        if old is not None:
            old.owner_partnership_id = partnership.id
            db.session.delete(old)
    return logo


def remove_logo(actor: User, partnership: Partnership, version: int | None) -> None:
    access.require(actor, Action.MANAGE, partnership, "Only a lead may change the logo.")
    check_version(partnership, version, CHANGED_MESSAGE)
    with guarded_save(CHANGED_MESSAGE):
        old = partnership.logo
        partnership.logo = None
        if old is not None:
            old.owner_partnership_id = partnership.id
            db.session.delete(old)


def logo_png(actor: User, partnership_id: int) -> tuple[bytes, str]:
    """The PNG of a partnership's logo and its SHA-256, for its members; NotFound without one."""
    access.require(actor, Action.VIEW, partnership_id)
    row = db.session.execute(
        sa.select(Logo.png, Logo.sha256)
        .join(Partnership, Partnership.logo_id == Logo.id)
        .where(Partnership.id == partnership_id)
    ).first()
    if row is None:
        raise NotFound()
    return row.png, row.sha256


def logo_facts(logo: Logo | None) -> LogoFacts | None:
    """What the scorecard's snapshot keeps of a logo: the PNG as base64 and its size."""
    if logo is None:
        return None
    return LogoFacts(base64.b64encode(logo.png).decode("ascii"), logo.width, logo.height)


def current_logo_facts(partnership_id: int) -> LogoFacts | None:
    """The partnership's logo as it is now, for a scorecard issued from a review whose
    figures were computed earlier (the logo, like the summary, is the lead's latest)."""
    row = db.session.execute(
        sa.select(Logo.png, Logo.width, Logo.height)
        .join(Partnership, Partnership.logo_id == Logo.id)
        .where(Partnership.id == partnership_id)
    ).first()
    if row is None:
        return None
    return LogoFacts(base64.b64encode(row.png).decode("ascii"), row.width, row.height)
