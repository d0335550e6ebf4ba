"""Uploads waiting for their preview, check or import, kept in the database (``StagedFile``)
so that a job reading one runs on any worker, on any machine (issue 16, point 6).

Readers that need a file on disk (openpyxl, the CSV sniffer) get a local copy: written
once per instance folder into ``instance/staged_cache/<token>`` from the database, and
removed with the upload. The copy is only a cache; the row is the upload."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from flask import current_app

from mls_tracker.extensions import db
from mls_tracker.models import StagedFile, StagedFileChunk, utcnow
from mls_tracker.services.survey_files import FileRejected

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
CACHE_TTL = dt.timedelta(hours=25)
CHUNK = 1024 * 1024


def new_token() -> str:
    return secrets.token_urlsafe(24)


def cache_root() -> Path:
    root = Path(current_app.instance_path) / "staged_cache"
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return root


def cache_path(token: str, suffix: str = "") -> Path:
    if not TOKEN_RE.match(token):
        raise ValueError("not a staged upload token")
    return cache_root() / f"{token}{suffix}"


def receive(
    stream: IO[bytes],
    *,
    kind: str,
    partnership_id: int,
    user_id: int | None,
    file_name: str,
    limit: int,
    too_large: str,
    ttl: dt.timedelta,
    check: Callable[[Path], object],
) -> StagedFile:
    """Takes an upload: copies ``stream`` into the local cache (refused with ``too_large``
    past ``limit`` bytes, or when empty), lets ``check`` refuse a file it cannot read
    (FileRejected), then keeps it in the database. Nothing is kept of a refused file."""
    token = new_token()
    path = cache_path(token)
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise FileRejected(too_large)
                digest.update(chunk)
                out.write(chunk)
        if not size:
            raise FileRejected("The file is empty.")
        check(path)
        return store(
            path,
            token=token,
            kind=kind,
            partnership_id=partnership_id,
            user_id=user_id,
            file_name=file_name,
            size=size,
            sha256=digest.hexdigest(),
            ttl=ttl,
        )
    except BaseException:
        drop_local(token)
        raise


def store(
    path: Path,
    *,
    token: str,
    kind: str,
    partnership_id: int,
    user_id: int | None,
    file_name: str,
    size: int,
    sha256: str,
    ttl: dt.timedelta,
) -> StagedFile:
    """Keeps the upload at ``path`` in the database, a chunk at a time (committed): any
    worker can read it now."""
    now = utcnow()
    row = StagedFile(
        token=token,
        kind=kind,
        partnership_id=partnership_id,
        user_id=user_id,
        file_name=file_name,
        size=size,
        sha256=sha256,
        extra={},
        created_at=now,
        expires_at=now + ttl,
    )
    db.session.add(row)
    db.session.flush()
    try:
        with path.open("rb") as source:
            seq = 0
            while chunk := source.read(CHUNK):
                db.session.execute(
                    sa.insert(StagedFileChunk).values(staged_file_id=row.id, seq=seq, data=chunk)
                )
                seq += 1
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return row


def find(kind: str, partnership_id: int, token: str) -> StagedFile | None:
    """The unexpired staged upload ``token`` of this kind and partnership, or None."""
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        return None
    return db.session.scalar(
        sa.select(StagedFile).where(
            StagedFile.token == token,
            StagedFile.kind == kind,
            StagedFile.partnership_id == partnership_id,
            StagedFile.expires_at > utcnow(),
        )
    )


def exists(token: str) -> bool:
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(StagedFile)
            .where(StagedFile.token == token, StagedFile.expires_at > utcnow())
        )
        > 0
    )


def _write_atomically(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def local_copy(token: str) -> Path | None:
    """A file on this machine holding the upload's bytes (fetched from the database, a
    chunk at a time, when this instance folder has none yet); None when the upload is gone."""
    path = cache_path(token)
    found = db.session.execute(
        sa.select(StagedFile.id, StagedFile.size).where(StagedFile.token == token)
    ).first()
    if found is None:
        return None
    if path.is_file() and path.stat().st_size == found.size:
        return path
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    try:
        with os.fdopen(handle, "wb") as out:
            seqs = db.session.scalars(
                sa.select(StagedFileChunk.seq)
                .where(StagedFileChunk.staged_file_id == found.id)
                .order_by(StagedFileChunk.seq)
            ).all()
            for seq in seqs:
                out.write(
                    db.session.scalar(
                        sa.select(StagedFileChunk.data).where(
                            StagedFileChunk.staged_file_id == found.id, StagedFileChunk.seq == seq
                        )
                    )
                )
        if Path(temporary).stat().st_size != found.size:
            return None  # removed while it was read
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return path


def notes(token: str) -> dict[str, Any]:
    value = db.session.scalar(sa.select(StagedFile.extra).where(StagedFile.token == token))
    return dict(value or {})


def update(token: str, *, problems_csv: bytes | None = None, **values: Any) -> None:
    """Sets keys of the upload's ``extra`` (None removes one) and, given, its problems CSV;
    committed."""
    kept = {**notes(token), **values}
    changes: dict[str, Any] = {"extra": {k: v for k, v in kept.items() if v is not None}}
    if problems_csv is not None:
        changes["problems_csv"] = problems_csv
        cache_path(token, ".problems.csv").unlink(missing_ok=True)
    db.session.execute(sa.update(StagedFile).where(StagedFile.token == token).values(**changes))
    db.session.commit()


def problems_copy(token: str) -> Path | None:
    """A local file holding the CSV of the last check's problems, or None."""
    data = db.session.scalar(sa.select(StagedFile.problems_csv).where(StagedFile.token == token))
    if data is None:
        return None
    path = cache_path(token, ".problems.csv")
    if not path.is_file() or path.stat().st_size != len(data):
        _write_atomically(path, data)
    return path


def drop_local(token: str) -> None:
    for suffix in ("", ".problems.csv"):
        cache_path(token, suffix).unlink(missing_ok=True)


def _delete(where: Any) -> int:
    ids = sa.select(StagedFile.id).where(where).scalar_subquery()
    db.session.execute(sa.delete(StagedFileChunk).where(StagedFileChunk.staged_file_id.in_(ids)))
    return db.session.execute(sa.delete(StagedFile).where(where)).rowcount or 0


def discard(token: str) -> None:
    """Removes an upload (after its import, or when given up); committed."""
    _delete(StagedFile.token == token)
    db.session.commit()
    drop_local(token)


def sweep(now: dt.datetime | None = None) -> int:
    """Removes expired uploads, and local copies not used for a day; returns how many
    uploads were removed."""
    now = now or utcnow()
    removed = _delete(StagedFile.expires_at <= now)
    db.session.commit()
    root = Path(current_app.instance_path) / "staged_cache"
    if root.is_dir():
        limit = time.time() - CACHE_TTL.total_seconds()
        for path in root.iterdir():
            try:
                if path.stat().st_mtime < limit:
                    if path.is_dir():
                        shutil.rmtree(path, ignore_errors=True)
                    else:
                        path.unlink(missing_ok=True)
            except OSError:
                continue
    return removed
