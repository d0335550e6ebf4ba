"""Issue 16, point 8: when the server cannot write its files — a full disk, a read-only one —
a save answers a page that says so and that nothing was saved (503), logged for the operator;
not a generic error. Against real failures: the app's SQLite database on a tiny tmpfs that is
filled up, then remounted read-only (we run as root in CI; elsewhere the test is skipped)."""

from __future__ import annotations

import datetime as dt
import errno
import logging
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from mls_tracker.extensions import db
from mls_tracker.models import Win
from tests import factories
from tests.conftest import csrf_token, sign_in

pytestmark = pytest.mark.once  # the app's own SQLite database on a tmpfs: the same in both suites


@pytest.fixture
def tmpfs() -> Iterator[Path]:
    """A 4 MB tmpfs of the test's own."""
    folder = Path(tempfile.mkdtemp(prefix="mls-tmpfs-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        folder.rmdir()
        message = f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}"
        if os.environ.get("CI") and os.geteuid() == 0:
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
        folder.rmdir()


@pytest.fixture
def app_on_tmpfs(
    tmpfs: Path, app_factory: Callable[..., Flask]
) -> Iterator[tuple[Flask, factories.World]]:
    app = app_factory(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmpfs / 'tracker.db'}",
        TESTING=False,
        PROPAGATE_EXCEPTIONS=False,
    )
    with app.app_context():
        db.create_all()
        world = factories.build_world()
        db.session.commit()
        try:
            yield app, world
        finally:
            db.session.remove()
            db.engine.dispose()


def fill(folder: Path) -> Path:
    """Write until the file system says it is full."""
    filler = folder / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC
    return filler


def wins() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Win))


def log_a_win(client, pid: int, token: str):
    return client.post(
        f"/partnerships/{pid}/wins/new",
        data={
            "csrf_token": token,
            "title": "Time to competency down 20%",
            "won_on": (dt.date.today() - dt.timedelta(days=3)).isoformat(),
            "measurable_impact": "20% faster",
            "story": "New hires ramp up faster.",
        },
    )


def assert_storage_page(response, caplog) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code == 503, body[:500]
    assert "Cannot save files" in body
    assert "cannot write its files" in body and "disk is full or read-only" in body
    assert "nothing was saved" in body
    assert "Traceback" not in body and "Something went wrong" not in body
    assert any("Storage full or read-only" in r.getMessage() for r in caplog.records)


def test_a_save_on_a_full_disk_says_the_server_cannot_write_and_nothing_was_saved(
    app_on_tmpfs, tmpfs, caplog
):
    app, world = app_on_tmpfs
    client = app.test_client()
    sign_in(client, world.lead.email)
    pid = world.partnership.id
    token = csrf_token(client, f"/partnerships/{pid}/wins/new")
    before = wins()
    # Empty the write-ahead log, so that the save must grow a file on the full disk.
    db.session.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
    db.session.commit()
    filler = fill(tmpfs)
    caplog.set_level(logging.ERROR)
    try:
        response = log_a_win(client, pid, token)
    finally:
        filler.unlink()
    assert_storage_page(response, caplog)
    assert wins() == before
    # Room again: the same save goes through.
    assert log_a_win(client, pid, token).status_code == 302
    assert wins() == before + 1


def test_a_save_on_a_read_only_disk_says_so_too(app_on_tmpfs, tmpfs, caplog):
    """SQLite cannot even open its database there ("unable to open database file"): the
    page says the disk is read-only, not that the service is briefly unavailable."""
    app, world = app_on_tmpfs
    client = app.test_client()
    sign_in(client, world.lead.email)
    pid = world.partnership.id
    token = csrf_token(client, f"/partnerships/{pid}/wins/new")
    before = wins()
    # The instance folder goes read-only (a remount needs no file open for writing).
    db.session.remove()
    db.engine.dispose()
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    caplog.set_level(logging.ERROR)
    try:
        response = log_a_win(client, pid, token)
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(tmpfs)], check=True)
    assert_storage_page(response, caplog)
    assert wins() == before


def test_a_file_write_refused_by_the_file_system_says_so(tmpfs, make_app, caplog):
    """An OSError from a real read-only file system (EROFS) reaching the edge: the same page,
    where it was a generic 500."""
    app = make_app(TESTING=False, PROPAGATE_EXCEPTIONS=False)

    @app.get("/write-a-file")
    def write_a_file():
        (tmpfs / "staged.csv").write_text("a,b\n")
        return "written"

    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    caplog.set_level(logging.ERROR)
    try:
        response = app.test_client().get("/write-a-file")
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(tmpfs)], check=True)
    assert_storage_page(response, caplog)
    assert "staged.csv" in caplog.text  # the operator learns which file
