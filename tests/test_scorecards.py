"""Issuing scorecards: versions, the archive's hash and snapshot, the job, downloads and the
verification of every stored file."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from mls_tracker import jobs
from mls_tracker.extensions import db
from mls_tracker.models import Review, ReviewKind, Scorecard
from mls_tracker.periods import Month
from mls_tracker.scorecards import chart_images
from mls_tracker.scorecards import issuing as scorecards
from mls_tracker.scorecards.snapshot import dump, load
from mls_tracker.services.errors import NotFound, PermissionDenied
from tests.scorecard_samples import ISSUED_META, OPEN_ACTIONS, sample_data

MONTH = Month(2026, 10)


@pytest.fixture(scope="module", autouse=True)
def _forget_the_charts():
    yield  # the server draws on for the next module (tests/conftest.py)
    chart_images.clear_cache()


def pdf_text(data: bytes, tmp_path: Path, name: str = "scorecard.pdf") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def pdf_pages(data: bytes, tmp_path: Path) -> int:
    path = tmp_path / "pages.pdf"
    path.write_bytes(data)
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True)
    return int(next(line for line in info.stdout.splitlines() if line.startswith("Pages:"))[6:])


def words(text: str) -> str:
    return " ".join(text.split())


def make_review(world, *, summary: str = "Steady month; two SLAs to watch.", **changes) -> Review:
    """A review of ``world.partnership`` holding a realistic snapshot (the snapshot helper's
    figures for a busy partnership), as a lead would have opened it."""
    facts = dataclasses.replace(
        sample_data().partnership, id=world.partnership.id, name=world.partnership.name
    )
    data = sample_data(partnership=facts, executive_summary=summary, **changes)
    review = Review(
        partnership_id=world.partnership.id,
        kind=ReviewKind.MONTHLY,
        first_month=MONTH,
        last_month=MONTH,
        executive_summary=summary,
        snapshot=dump(data),
        created_by_id=world.lead.id,
    )
    db.session.add(review)
    db.session.commit()
    return review


def test_a_lead_issues_version_1_with_its_hash_snapshot_and_progress(world, tmp_path):
    review = make_review(world)
    steps: list[tuple[int, int, str]] = []
    scorecard = scorecards.issue_scorecard(
        world.lead, review, progress=lambda *step: steps.append(step)
    )
    assert scorecard.version == 1
    assert scorecard.issued_by_id == world.lead.id
    assert scorecard.issued_at.tzinfo is not None
    assert abs(scorecard.issued_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=2)
    assert scorecard.pdf.startswith(b"%PDF-")
    assert scorecard.sha256 == hashlib.sha256(scorecard.pdf).hexdigest()
    assert load(scorecard.snapshot).partnership.name == "Global Learning"
    text = words(pdf_text(scorecard.pdf, tmp_path))
    assert "Global Learning" in text
    assert "Steady month; two SLAs to watch." in text
    assert "Overdue at month end" in text  # a chart's legend: the charts are in the PDF
    messages = [message for _, _, message in steps]
    for expected in ("Computing figures", "Drawing charts", "Laying out pages"):
        assert expected in messages
    assert "Storing version 1" in messages
    assert [done for done, _, _ in steps] == sorted(done for done, _, _ in steps)
    path = tmp_path / "issued.pdf"
    path.write_bytes(scorecard.pdf)
    fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True)
    rows = fonts.stdout.splitlines()[2:]
    assert rows and all(row.split()[-5] == "yes" for row in rows), fonts.stdout  # embedded
    subprocess.run(["qpdf", "--check", str(path)], check=True, capture_output=True)


def test_reissuing_makes_version_2_and_leaves_version_1_alone(world):
    review = make_review(world)
    first = scorecards.issue_scorecard(world.lead, review)
    first_id, first_bytes, first_hash = first.id, first.pdf, first.sha256
    review.executive_summary = "Corrected summary."
    db.session.commit()
    second = scorecards.issue_scorecard(world.admin, review)
    assert second.version == 2 and second.id != first_id
    again = db.session.get(Scorecard, first_id)
    assert again.pdf == first_bytes and again.sha256 == first_hash and again.version == 1


def test_issuing_stores_the_page_count_and_size_of_the_pdf(world, tmp_path):
    scorecard = scorecards.issue_scorecard(world.lead, make_review(world))
    db.session.expire_all()
    stored = db.session.get(Scorecard, scorecard.id)
    assert stored.page_count == pdf_pages(stored.pdf, tmp_path) > 1
    assert stored.size_bytes == len(stored.pdf)


def test_an_issued_scorecard_renders_again_from_its_snapshot_alone(world, tmp_path):
    review = make_review(world)
    scorecard = scorecards.issue_scorecard(world.lead, review)
    stored, meta = scorecard.pdf, scorecards.scorecard_meta(scorecard)
    assert meta.version == 1 and meta.issued_by == world.lead.display_name
    world.lead.display_name = "Renamed Later"  # what was printed does not follow the user
    db.session.commit()
    chart_images.clear_cache()  # the charts are drawn again, as years later
    again = scorecards.render_pdf(load(scorecard.snapshot), scorecards.scorecard_meta(scorecard))
    assert pdf_text(again, tmp_path, "again.pdf") == pdf_text(stored, tmp_path)
    assert again == stored  # reproducible PDF and stable chart ids: the very same bytes


def test_only_leads_and_admins_issue(world):
    review = make_review(world)
    for who in ("provider", "viewer", "sponsor", "outsider"):
        with pytest.raises(PermissionDenied):
            scorecards.issue_scorecard(world.user(who), review)
        with pytest.raises(PermissionDenied):
            scorecards.submit_issue(world.user(who), review.id)
    assert db.session.scalar(sa.select(sa.func.count(Scorecard.id))) == 0


def test_two_issues_at_once_get_distinct_versions(world, monkeypatch):
    """Both computed "previous + 1" = 1; the unique constraint refuses the second insert and
    it is drawn again as version 2."""
    review = make_review(world)
    scorecards.issue_scorecard(world.lead, review)
    answers = iter([1])  # the first guess is the version the other issue just took
    real = scorecards._next_version
    monkeypatch.setattr(scorecards, "_next_version", lambda rid: next(answers, None) or real(rid))
    steps: list[str] = []
    second = scorecards.issue_scorecard(
        world.lead, review, progress=lambda _d, _t, message: steps.append(message)
    )
    assert second.version == 2
    assert "Storing version 1" in steps and "Storing version 2" in steps
    versions = db.session.scalars(
        sa.select(Scorecard.version).where(Scorecard.review_id == review.id)
    ).all()
    assert sorted(versions) == [1, 2]
    assert second.snapshot["meta"]["version"] == 2


def test_user_text_is_shown_as_text_and_fetches_nothing(world, tmp_path):
    title = '<img src="file:///etc/passwd"> <link rel=stylesheet href="http://127.0.0.1:9/x">'
    row = dataclasses.replace(OPEN_ACTIONS[0], title=title)
    actions = dataclasses.replace(
        sample_data().actions, open_items=(row, *OPEN_ACTIONS[1:]), due_next=()
    )
    data = sample_data(actions=actions, executive_summary='<script>alert("x")</script>')
    text = words(pdf_text(scorecards.render_pdf(data, ISSUED_META), tmp_path))
    assert '<img src="file:///etc/passwd">' in text
    assert '<script>alert("x")</script>' in text
    assert "root:" not in text


def test_the_issue_job_reports_version_pages_and_hash(world, tmp_path):
    review = make_review(world)
    job_id = scorecards.submit_issue(world.lead, review.id)
    view = jobs.get(job_id)
    assert view is not None and view.state == "succeeded", view
    scorecard = db.session.get(Scorecard, view.result["scorecard_id"])
    assert view.result == {
        "scorecard_id": scorecard.id,
        "version": 1,
        "pages": pdf_pages(scorecard.pdf, tmp_path),
        "sha256": scorecard.sha256,
    }
    assert view.result["pages"] >= 3
    assert view.partnership_id == world.partnership.id


def test_without_chromium_the_job_fails_saying_how_to_install_it(world, monkeypatch):
    review = make_review(world)
    chart_images.clear_cache()
    monkeypatch.setattr(chart_images, "CHROMIUM_PATH", Path("/nowhere/chromium"))
    view = jobs.get(scorecards.submit_issue(world.lead, review.id))
    assert view is not None and view.state == "failed"
    assert "apt-get install chromium" in view.error
    assert db.session.scalar(sa.select(sa.func.count(Scorecard.id))) == 0


def test_members_download_their_partnerships_scorecards_and_nobody_else(world):
    review = make_review(world)
    scorecard_id = scorecards.issue_scorecard(world.lead, review).id
    pid = world.partnership.id
    for who in ("lead", "provider", "viewer", "sponsor", "admin"):
        found = scorecards.scorecard_for_download(world.user(who), pid, scorecard_id)
        assert found.id == scorecard_id
    with pytest.raises(NotFound):
        scorecards.scorecard_for_download(world.outsider, pid, scorecard_id)
    with pytest.raises(NotFound):  # asked for through a partnership it does not belong to
        scorecards.scorecard_for_download(world.outsider, world.other.id, scorecard_id)
    with pytest.raises(NotFound):
        scorecards.scorecard_for_download(world.admin, world.other.id, scorecard_id)
    with pytest.raises(NotFound):
        scorecards.scorecard_for_download(world.lead, pid, scorecard_id + 1000)


def test_verify_finds_a_file_changed_behind_the_archives_back(world):
    review = make_review(world)
    first = scorecards.issue_scorecard(world.lead, review)
    second = scorecards.issue_scorecard(world.lead, review)
    results = scorecards.verify_scorecards()
    assert [(r.scorecard_id, r.version, r.ok) for r in results] == [
        (first.id, 1, True),
        (second.id, 2, True),
    ]
    assert results[0].partnership_id == world.partnership.id
    db.session.execute(
        sa.update(Scorecard).where(Scorecard.id == first.id).values(pdf=first.pdf + b"\n%tamper")
    )
    db.session.commit()
    results = scorecards.verify_scorecards()
    assert [r.ok for r in results] == [False, True]
    assert results[0].stored_sha256 == first.sha256 != results[0].actual_sha256


def test_the_print_stylesheet_parsed_once_lays_out_the_same_bytes_as_a_linked_one(world):
    """Scorecards issued before the stylesheet was handed to WeasyPrint parsed (once per
    process) linked it from their HTML: rendered again today, they must give their stored
    bytes, so both ways must lay out the very same PDF."""
    from mls_tracker.scorecards import pdf
    from mls_tracker.scorecards.html import print_stylesheets

    data = sample_data(layout=1)  # the layout of scorecards issued then
    html = scorecards.final_html(data, ISSUED_META)
    sheets = print_stylesheets(1)
    assert "scorecard.css" not in html and sheets == ("scorecard.css",)
    linked = html.replace(
        "</title>", '</title>\n<link rel="stylesheet" href="mls-report:scorecard.css">', 1
    )
    as_before = pdf.html_to_pdf(linked, created_at=ISSUED_META.issued_at)
    now = scorecards.render_pdf(data, ISSUED_META)
    assert now == pdf.html_to_pdf(html, created_at=ISSUED_META.issued_at, stylesheets=sheets)
    assert now == as_before
    assert pdf.stylesheet("scorecard.css") is pdf.stylesheet("scorecard.css")


def test_a_scorecards_metadata_is_read_without_its_pdf_which_is_read_when_downloaded(world):
    """The API's scorecard metadata (and every download's permission check) reads the row
    without its PDF and snapshot; the download then reads the stored bytes, unchanged."""
    scorecard = scorecards.issue_scorecard(world.lead, make_review(world))
    scorecard_id, stored, digest = scorecard.id, scorecard.pdf, scorecard.sha256
    db.session.expunge(scorecard)  # read afresh, as by another request
    statements: list[str] = []

    def remember(_conn, _cursor, statement, *_rest) -> None:
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", remember)
    try:
        found = scorecards.scorecard_for_download(world.lead, world.partnership.id, scorecard_id)
        assert {"pdf", "snapshot"} <= sa.inspect(found).unloaded
        assert found.review.partnership_id == world.partnership.id and found.version == 1
        assert not any("scorecards.pdf" in s for s in statements)
        assert found.pdf == stored and hashlib.sha256(found.pdf).hexdigest() == digest
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", remember)


def test_charts_made_lighter_for_weasyprint_lay_out_the_very_same_pdf(monkeypatch):
    """``chart_images.lighten`` (styles as attributes, no empty groups, no undrawn attributes)
    is only there to save layout time: a scorecard whose charts were drawn before it existed
    renders again byte for byte."""
    from mls_tracker.scorecards import pdf
    from mls_tracker.scorecards.html import print_stylesheets

    data = sample_data(layout=1)  # charts drawn from their SVG
    sheets = print_stylesheets(1)
    chart_images.clear_cache()
    with monkeypatch.context() as patch:
        patch.setattr(chart_images, "lighten", lambda svg: svg)
        heavy = scorecards.final_html(data, ISSUED_META)
    chart_images.clear_cache()
    light = scorecards.final_html(data, ISSUED_META)
    assert _svgs(light).count('style="') * 10 < _svgs(heavy).count('style="')
    assert len(light) < 0.85 * len(heavy)
    as_before = pdf.html_to_pdf(heavy, created_at=ISSUED_META.issued_at, stylesheets=sheets)
    assert scorecards.render_pdf(data, ISSUED_META) == as_before


def _svgs(html: str) -> str:
    """The charts' SVG documents embedded in a print HTML, decoded."""
    import base64
    import re

    found = re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", html)
    assert len(found) >= 3
    return "".join(base64.b64decode(item).decode() for item in found)
