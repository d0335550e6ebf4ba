"""``flask scorecards issue --out DIR`` on a full disk (issue 16, point 7).

The disk is a real one when the test may mount (root): a tmpfs just big enough for the first
PDF, so that the second one hits ENOSPC in the kernel. Elsewhere (no root, no mount) the same
budget is enforced on the writes into that folder: ``os.write`` answers ENOSPC once the folder's
files would pass it — the test says which one it used (``-rs`` / the assertion message).
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from mls_tracker.cli import scorecards_cli
from mls_tracker.extensions import db
from mls_tracker.models import Partnership, Review, Scorecard
from mls_tracker.periods import Month, utc_today
from mls_tracker.scorecards import chart_images
from mls_tracker.scorecards.delivery import scorecard_filename
from tests.demo_snapshot import demo_database

LAST_MONTH = Month.of(utc_today()).previous()
PAGE = 4096


@pytest.fixture(scope="module", autouse=True)
def _forget_the_charts() -> Iterator[None]:
    yield  # the server draws on for the next module (tests/conftest.py)
    chart_images.clear_cache()


@pytest.fixture
def demo(app: Flask) -> Flask:
    demo_database(today=utc_today(), issued_months=0)
    if "scorecards" not in app.cli.commands:
        app.cli.add_command(scorecards_cli)
    return app


def run(app: Flask, *args: str):
    return app.test_cli_runner().invoke(args=["scorecards", *args], catch_exceptions=False)


def counts() -> tuple[int, int]:
    reviews = db.session.scalar(sa.select(sa.func.count()).select_from(Review))
    scorecards = db.session.scalar(sa.select(sa.func.count()).select_from(Scorecard))
    return reviews or 0, scorecards or 0


def archived(partnership: Partnership, version: int) -> bytes:
    pdf = db.session.scalar(
        sa.select(Scorecard.pdf)
        .join(Review, Scorecard.review_id == Review.id)
        .where(
            Review.partnership_id == partnership.id,
            Review.first_month == LAST_MONTH,
            Scorecard.version == version,
        )
    )
    assert pdf is not None
    return pdf


def assert_whole_pdfs(folder: Path) -> None:
    """Every file in the folder is a whole PDF; no temporary file is left behind."""
    for path in folder.iterdir():
        assert path.suffix == ".pdf" and not path.name.startswith("."), f"left over: {path.name}"
        assert path.read_bytes().rstrip().endswith(b"%%EOF"), f"truncated: {path.name}"
        if shutil.which("qpdf"):
            check = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
            assert check.returncode == 0, f"{path.name}: {check.stdout}{check.stderr}"


class SmallDisk:
    """A folder with room for ``size`` bytes: a real tmpfs when mounting is allowed, else a
    budget enforced on ``os.write`` into that folder (``kind`` says which)."""

    def __init__(self, path: Path, size: int, monkeypatch: pytest.MonkeyPatch) -> None:
        self.path = path
        path.mkdir()
        self.kind = "tmpfs"
        refused = self._mount(size)
        if refused:
            self.kind = f"injected ENOSPC ({refused})"
            self.budget = size
            self._inject(monkeypatch)

    def _mount(self, size: int) -> str | None:
        """None when the tmpfs is mounted, else why not."""
        if os.environ.get("MLS_TEST_NO_MOUNT"):  # to exercise the fallback where root is
            return "MLS_TEST_NO_MOUNT is set"
        if shutil.which("mount") is None:
            return "no mount command"
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(self.path)],
            capture_output=True,
            text=True,
        )
        return None if mounted.returncode == 0 else (mounted.stderr.strip() or "mount refused")

    def _inject(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real_write = os.write
        folder = str(self.path) + os.sep

        def used() -> int:
            return sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())

        def write(fd: int, data) -> int:  # type: ignore[no-untyped-def]
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                return real_write(fd, data)
            if not target.startswith(folder):
                return real_write(fd, data)
            room = self.budget - used()
            if room <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_write(fd, bytes(data[:room]))

        monkeypatch.setattr(os, "write", write)

    def make_room(self, size: int) -> None:
        if self.kind == "tmpfs":
            subprocess.run(["mount", "-o", f"remount,size={size}", str(self.path)], check=True)
        else:
            self.budget = size

    def release(self) -> None:
        if self.kind == "tmpfs":
            subprocess.run(["umount", str(self.path)], check=False)


def test_a_full_disk_issues_reports_the_file_not_written_and_a_rerun_writes_it(
    demo, tmp_path, monkeypatch
):
    first, second = list(db.session.scalars(sa.select(Partnership).order_by(Partnership.id)))[:2]
    period = str(LAST_MONTH)
    # The first partnership's v1, issued into another folder: its size sizes the disk.
    probe = tmp_path / "probe"
    sized = run(
        demo, "issue", "--period", period, "--partnership", str(first.id), "--out", str(probe)
    )
    assert sized.exit_code == 0, sized.output
    earlier = probe / scorecard_filename(first.name, LAST_MONTH, LAST_MONTH, 1)
    pages = -(-earlier.stat().st_size // PAGE)
    # Room for that v1 (copied in: the folder is complete) and its v2, with 3 pages to spare.
    room = (2 * pages + 3) * PAGE

    disk = SmallDisk(tmp_path / "out", room, monkeypatch)
    try:
        out = disk.path
        shutil.copy(earlier, out / earlier.name)
        first_file = out / scorecard_filename(first.name, LAST_MONTH, LAST_MONTH, 2)
        second_file = out / scorecard_filename(second.name, LAST_MONTH, LAST_MONTH, 1)
        result = run(
            demo, "issue", "--period", period,
            "--partnership", str(first.id), "--partnership", str(second.id), "--out", str(out),
        )  # fmt: skip
        note = f"disk: {disk.kind}\n{result.output}"
        assert result.exit_code == 1, note
        assert f"issued  {first.name} (#{first.id}): v2 → {first_file}" in result.output, note
        assert (
            f"issued, file not written: No space left on device  {second.name} (#{second.id}): "
            f"v1 is in the archive"
        ) in result.output, note
        assert "FAILED" not in result.output, note
        assert "Issued 2, failed 0, files not written 1" in result.output, note
        assert "run the same command with --missing-only" in result.output, note
        # Both are in the archive: the first's file is whole, the second has none (no stub).
        assert counts()[1] == 3
        assert sorted(p.name for p in out.iterdir()) == sorted([earlier.name, first_file.name])
        assert len(archived(second, 1)) > 3 * PAGE  # the disk was too small for it indeed
        assert first_file.read_bytes() == archived(first, 2)
        assert_whole_pdfs(out)
        before = counts()

        disk.make_room(16 * 1024 * 1024)
        again = run(
            demo, "issue", "--period", period, "--missing-only",
            "--partnership", str(first.id), "--partnership", str(second.id), "--out", str(out),
        )  # fmt: skip
        note = f"disk: {disk.kind}\n{again.output}"
        assert again.exit_code == 0, note
        assert (
            f"file written from the archive  {second.name} (#{second.id}): v1 → {second_file}"
        ) in again.output, note
        assert first.name not in again.output.split("Skipping")[0], note  # its file was whole
        assert "Nothing to issue." in again.output, note
        assert counts() == before  # nothing issued, no review opened
        assert second_file.read_bytes() == archived(second, 1)
        assert first_file.read_bytes() == archived(first, 2)
        assert_whole_pdfs(out)

        # A file cut short (as the old command left them) is written again as well.
        first_file.write_bytes(archived(first, 2)[: pages * PAGE // 2])
        third = run(
            demo, "issue", "--period", period, "--missing-only",
            "--partnership", str(first.id), "--partnership", str(second.id), "--out", str(out),
        )  # fmt: skip
        assert third.exit_code == 0, third.output
        assert f"file written from the archive  {first.name} (#{first.id}): v2" in third.output
        assert second.name not in third.output, third.output
        assert counts() == before
        assert first_file.read_bytes() == archived(first, 2)
        assert_whole_pdfs(out)
    finally:
        disk.release()
