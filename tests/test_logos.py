"""The client's logo (issue 19): uploaded by a lead or an administrator, checked and re-encoded
with Pillow (PNG, metadata gone, at most 600 × 200), refused when it is not an image or too
large, shown on the overview and on the scorecard's cover — from the snapshot alone."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import io
import struct
import subprocess
import zlib

import pytest
import sqlalchemy as sa
from PIL import Image, PngImagePlugin

from mls_tracker.extensions import db
from mls_tracker.models import Logo, Partnership, ReviewKind
from mls_tracker.periods import Month
from mls_tracker.scorecards import chart_images
from mls_tracker.scorecards import issuing as scorecards
from mls_tracker.scorecards.build import build_scorecard_data
from mls_tracker.scorecards.snapshot import LogoFacts, dump, load
from mls_tracker.services import logos
from mls_tracker.services.errors import PermissionDenied, ValidationFailed
from tests.conftest import csrf_token, page_text, sign_in
from tests.scorecard_samples import ISSUED_META, sample_data


@pytest.fixture(scope="module", autouse=True)
def _forget_the_charts():
    yield  # the server draws on for the next module (tests/conftest.py)
    chart_images.clear_cache()


def png_bytes(size=(1200, 400), **info: str) -> bytes:
    image = Image.new("RGBA", size, (0, 114, 178, 255))
    meta = PngImagePlugin.PngInfo()
    for key, value in info.items():
        meta.add_text(key, value)
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=meta)
    return out.getvalue()


def jpeg_bytes(size=(800, 800)) -> bytes:
    image = Image.new("RGB", size, (213, 94, 0))
    exif = Image.Exif()
    exif[0x013B] = "Secret Photographer"  # Artist
    exif[0x010F] = "SpyCam"  # Make
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, comment=b"internal comment")
    return out.getvalue()


def header_only_png(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` × ``height`` and whose pixels are not there: what a
    decompression bomb looks like before it is decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def stored(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


# --- Checking and re-encoding ----------------------------------------------------------------


def test_a_png_is_shrunk_to_600_by_200_and_loses_its_text_chunks():
    clean = logos.clean_logo(png_bytes((1200, 400), Author="Someone", Comment="secret"))
    image = stored(clean.png)
    assert image.format == "PNG" and image.size == (600, 200) == (clean.width, clean.height)
    assert b"tEXt" not in clean.png and b"secret" not in clean.png
    assert image.info.get("Author") is None and image.mode == "RGBA"


def test_a_jpeg_becomes_a_png_without_its_exif_and_within_the_box():
    clean = logos.clean_logo(jpeg_bytes((800, 800)))
    image = stored(clean.png)
    assert clean.png.startswith(b"\x89PNG") and image.format == "PNG"
    assert image.size == (200, 200)  # 800 × 800 fitted into 600 × 200
    assert b"Secret Photographer" not in clean.png and b"SpyCam" not in clean.png
    assert b"eXIf" not in clean.png and b"internal comment" not in clean.png
    assert not image.getexif()


def test_a_small_logo_is_not_enlarged_and_the_same_image_gives_the_same_bytes():
    first = logos.clean_logo(png_bytes((120, 40)))
    assert (first.width, first.height) == (120, 40)
    assert logos.clean_logo(png_bytes((120, 40))) == first


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"just some text, renamed logo.png\n", "not an image we can read"),
        (b"", "The file is empty"),
        (png_bytes((4001, 10)), "4001 × 10 pixels: a logo may be up to 4000 × 4000"),
        (header_only_png(100_000, 100_000), "far too large: a logo may be up to 4000 × 4000"),
        (header_only_png(5000, 5000), "5000 × 5000 pixels: a logo may be up to 4000 × 4000"),
        (png_bytes((40, 40))[:60], "not an image we can read"),  # truncated
        (b"\0" * (2 * 1024 * 1024 + 1), "up to 2 MB"),
    ],
)
def test_what_is_not_a_small_readable_image_is_refused_on_the_file_field(data, words):
    with pytest.raises(ValidationFailed, match=words) as refused:
        logos.clean_logo(data)
    assert refused.value.field == "file"


def test_a_format_outside_the_four_is_refused():
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, format="BMP")
    with pytest.raises(ValidationFailed, match="BMP image cannot be a logo"):
        logos.clean_logo(out.getvalue())


# --- The pages -------------------------------------------------------------------------------


def _upload(client, partnership: Partnership, data: bytes, name: str = "logo.png", **extra):
    url = f"/partnerships/{partnership.id}/logo"
    form = {
        "file": (io.BytesIO(data), name),
        "version": str(partnership.version),
        "csrf_token": csrf_token(client, url),
        **extra,
    }
    return client.post(url, data=form, content_type="multipart/form-data")


def _logo_rows() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Logo))


def test_a_lead_uploads_a_logo_seen_on_the_overview_and_served_to_members(app, world):
    client = app.test_client()
    sign_in(client, world.lead.email)
    response = _upload(client, world.partnership, jpeg_bytes())
    assert response.status_code == 302
    db.session.expire_all()
    partnership = db.session.get(Partnership, world.partnership.id)
    assert partnership.logo is not None and (partnership.logo.width, partnership.logo.height) == (
        200,
        200,
    )
    overview = client.get(f"/partnerships/{partnership.id}").get_data(as_text=True)
    assert 'alt="Client Co logo"' in overview and 'id="partnership-logo"' in overview
    viewer = app.test_client()
    sign_in(viewer, world.viewer.email)
    image = viewer.get(f"/partnerships/{partnership.id}/logo.png")
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.data == partnership.logo.png
    outsider = app.test_client()
    sign_in(outsider, world.outsider.email)
    assert outsider.get(f"/partnerships/{partnership.id}/logo.png").status_code == 404


def test_replacing_and_removing_leave_no_orphan_rows(app, world):
    client = app.test_client()
    sign_in(client, world.admin.email)
    assert _upload(client, world.partnership, png_bytes()).status_code == 302
    db.session.expire_all()
    assert _upload(client, world.partnership, png_bytes((300, 100))).status_code == 302
    db.session.expire_all()
    assert _logo_rows() == 1
    partnership = db.session.get(Partnership, world.partnership.id)
    url = f"/partnerships/{partnership.id}/logo/remove"
    token = csrf_token(client, f"/partnerships/{partnership.id}/logo")
    response = client.post(url, data={"csrf_token": token, "version": str(partnership.version)})
    assert response.status_code == 302
    db.session.expire_all()
    assert _logo_rows() == 0
    assert db.session.get(Partnership, world.partnership.id).logo_id is None
    assert client.get(f"/partnerships/{partnership.id}/logo.png").status_code == 404


def test_a_text_file_named_png_is_refused_with_the_message_next_to_the_field(app, world):
    client = app.test_client()
    sign_in(client, world.lead.email)
    response = _upload(client, world.partnership, b"hello, I am text\n", "logo.png")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="file-error"' in html
    error = html[html.index('id="file-error"') :]
    assert "not an image we can read" in page_text(error[:400])
    assert _logo_rows() == 0


def test_a_huge_image_is_refused_with_the_message_next_to_the_field(app, world):
    client = app.test_client()
    sign_in(client, world.lead.email)
    response = _upload(client, world.partnership, header_only_png(50_000, 50_000))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="file-error"' in html
    assert "far too large: a logo may be up to 4000 × 4000 pixels" in page_text(html)
    assert _logo_rows() == 0


@pytest.mark.parametrize(("who", "status"), [("provider", 403), ("viewer", 403), ("outsider", 404)])
def test_only_leads_and_admins_upload(app, world, who, status):
    client = app.test_client()
    sign_in(client, world.user(who).email)
    url = f"/partnerships/{world.partnership.id}/logo"
    token = csrf_token(client, "/change")
    response = client.post(
        url,
        data={"file": (io.BytesIO(png_bytes()), "l.png"), "csrf_token": token, "version": "1"},
        content_type="multipart/form-data",
    )
    assert response.status_code == status
    assert _logo_rows() == 0
    with pytest.raises(PermissionDenied):
        logos.set_logo(world.user(who), world.partnership, png_bytes(), world.partnership.version)


def test_an_upload_without_the_csrf_token_is_refused(app, world):
    client = app.test_client()
    sign_in(client, world.lead.email)
    response = client.post(
        f"/partnerships/{world.partnership.id}/logo",
        data={"file": (io.BytesIO(png_bytes()), "l.png"), "version": "1"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert _logo_rows() == 0


# --- The scorecard ---------------------------------------------------------------------------


def test_the_logo_is_in_the_snapshot_and_on_the_cover_of_the_pdf(app, world, tmp_path):
    logos.set_logo(world.lead, world.partnership, png_bytes((900, 300)), world.partnership.version)
    data = build_scorecard_data(
        world.partnership.id, ReviewKind.MONTHLY, Month(2026, 10), Month(2026, 10),
        dt.date(2026, 11, 15),
    )  # fmt: skip
    assert data.logo is not None and (data.logo.width, data.logo.height) == (600, 200)
    assert base64.b64decode(data.logo.png_base64) == world.partnership.logo.png
    # Rendered again from the snapshot alone: the database no longer has it.
    logos.remove_logo(world.lead, world.partnership, world.partnership.version)
    again = load(dump(data))
    html = scorecards.final_html(again, ISSUED_META)
    assert 'alt="Client Co logo"' in html and "data:image/png;base64," in html
    document = scorecards.render_pdf(again, ISSUED_META)
    path = tmp_path / "card.pdf"
    path.write_bytes(document)
    listing = subprocess.run(
        ["pdfimages", "-f", "1", "-l", "1", "-list", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    sizes = {tuple(line.split()[3:5]) for line in listing.splitlines()[2:]}
    assert ("600", "200") in sizes, listing
    subprocess.run(["qpdf", "--check", str(path)], check=True, capture_output=True)


def test_a_snapshot_without_a_logo_prints_its_cover_without_one():
    stored_before = dump(sample_data())
    del stored_before["logo"]  # a snapshot stored before issue 19
    data = load(stored_before)
    assert data.logo is None
    html = scorecards.final_html(data, ISSUED_META)
    assert "cover-logo" not in html
    with_logo = dataclasses.replace(
        data, logo=LogoFacts(base64.b64encode(png_bytes((60, 20))).decode(), 60, 20)
    )
    html = scorecards.final_html(with_logo, ISSUED_META)
    assert 'class="cover-logo"' in html and 'alt="Northwind Traders logo"' in html
