"""``flask scorecards issue`` and ``flask scorecards verify`` on the demo data."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from mls_tracker.cli import scorecards_cli
from mls_tracker.extensions import db
from mls_tracker.models import Partnership, Review, Scorecard, ScorecardDelivery
from mls_tracker.periods import Month, utc_today
from mls_tracker.scorecards import chart_images
from mls_tracker.scorecards.delivery import scorecard_filename
from tests.demo_snapshot import demo_database

LAST_MONTH = Month.of(utc_today()).previous()


@pytest.fixture(scope="module", autouse=True)
def _forget_the_charts() -> Iterator[None]:
    yield  # the server draws on for the next module (tests/conftest.py)
    chart_images.clear_cache()


@pytest.fixture
def demo(app: Flask) -> Flask:
    # No scorecards issued by the demo: these tests count the ones the command issues.
    demo_database(today=utc_today(), issued_months=0)
    if "scorecards" not in app.cli.commands:  # until the app registers the group itself
        app.cli.add_command(scorecards_cli)
    return app


def run(app: Flask, *args: str):
    return app.test_cli_runner().invoke(args=["scorecards", *args], catch_exceptions=False)


def partnerships() -> list[Partnership]:
    return list(db.session.scalars(sa.select(Partnership).order_by(Partnership.id)))


def test_one_partnership_is_issued_into_a_folder_and_reissued_as_v2(demo, tmp_path):
    partnership = partnerships()[0]
    result = run(
        demo, "issue", "--period", str(LAST_MONTH), "--partnership", str(partnership.id),
        "--out", str(tmp_path),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Issued 1, failed 0" in result.output and "scorecards/min" in result.output
    month_reviews = sa.select(Review).where(
        Review.partnership_id == partnership.id,
        Review.first_month == LAST_MONTH,
        Review.last_month == LAST_MONTH,
    )
    review = db.session.scalar(month_reviews)
    assert review is not None
    scorecard = db.session.scalar(sa.select(Scorecard).where(Scorecard.review_id == review.id))
    written = tmp_path / scorecard_filename(partnership.name, LAST_MONTH, LAST_MONTH, 1)
    assert written.read_bytes() == scorecard.pdf
    assert scorecard.issued_by_id is None  # the command line, not a person

    again = run(demo, "issue", "--period", str(LAST_MONTH), "--partnership", str(partnership.id))
    assert again.exit_code == 0, again.output
    versions = db.session.scalars(
        sa.select(Scorecard.version).where(Scorecard.review_id == review.id)
    ).all()
    assert sorted(versions) == [1, 2]
    assert len(db.session.scalars(month_reviews).all()) == 1  # the same review


def test_all_partnerships_in_two_worker_processes_then_verified(demo, tmp_path):
    result = run(
        demo, "issue", "--period", str(LAST_MONTH), "--all", "--workers", "2",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    active = [p for p in partnerships() if p.status != "ended"]
    assert f"Issued {len(active)}, failed 0" in result.output
    assert "2 workers" in result.output
    files = sorted(path.name for path in tmp_path.iterdir())
    assert files == sorted(scorecard_filename(p.name, LAST_MONTH, LAST_MONTH, 1) for p in active)
    for path in tmp_path.iterdir():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert db.session.scalar(sa.select(Scorecard.id).where(Scorecard.sha256 == digest))

    verified = run(demo, "verify")
    assert verified.exit_code == 0, verified.output
    assert f"Checked {len(active)} scorecards: {len(active)} ok, 0 bad." in verified.output


def test_verify_names_a_changed_file_and_exits_1(demo):
    partnership = partnerships()[0]
    run(demo, "issue", "--period", str(LAST_MONTH), "--partnership", str(partnership.id))
    scorecard = db.session.scalar(sa.select(Scorecard))
    db.session.execute(sa.update(Scorecard).values(pdf=scorecard.pdf[:-10]))
    db.session.commit()
    result = run(demo, "verify")
    assert result.exit_code == 1
    assert f"MISMATCH scorecard #{scorecard.id} ({partnership.name}" in result.output
    assert "0 ok, 1 bad" in result.output


def test_send_mails_the_sponsors_with_links_to_the_given_site(demo, mailbox):
    partnership = partnerships()[0]
    result = run(
        demo, "issue", "--period", str(LAST_MONTH), "--partnership", str(partnership.id),
        "--send", "--base-url", "https://mls.example.com",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    deliveries = db.session.scalars(sa.select(ScorecardDelivery)).all()
    assert deliveries and len(mailbox) == len(deliveries)
    assert f"{len(deliveries)} sent, 0 failed" in result.output
    body = next(part for part in mailbox[0].walk() if part.get_content_type() == "text/plain")
    assert "https://mls.example.com/acknowledge/" in body.get_payload(decode=True).decode()


def test_missing_only_issues_each_month_once(demo):
    first = partnerships()[0]
    run(demo, "issue", "--period", str(LAST_MONTH), "--partnership", str(first.id))
    result = run(demo, "issue", "--period", "last", "--all", "--missing-only")
    assert result.exit_code == 0, result.output
    assert "Skipping 1 partnership(s) already issued" in result.output
    again = run(demo, "issue", "--period", str(LAST_MONTH), "--all", "--missing-only")
    assert "Nothing to issue." in again.output
    versions = db.session.scalars(sa.select(Scorecard.version)).all()
    assert versions and set(versions) == {1}  # nobody got a second version


def test_bad_arguments_are_refused_before_anything_is_done(demo):
    this_month = str(Month.of(utc_today()))
    refused = run(demo, "issue", "--period", this_month, "--all")
    assert refused.exit_code == 2 and "is not over yet" in refused.output
    assert run(demo, "issue", "--period", "2026/10", "--all").exit_code == 2
    neither = run(demo, "issue", "--period", str(LAST_MONTH))
    assert neither.exit_code == 2 and "--partnership ID" in neither.output
    missing = run(demo, "issue", "--period", str(LAST_MONTH), "--partnership", "999999")
    assert missing.exit_code == 1 and "no such partnership" in missing.output
    assert db.session.scalar(sa.select(sa.func.count(Scorecard.id))) == 0
