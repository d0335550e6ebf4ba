"""A pytest plugin for `make mutate` only: migrate the SQLite test database once per run.

mutmut starts a new pytest session for every mutant, and the test set-up builds the schema
through every migration each session (seconds, more than most mutants' tests). Here the
first session migrates as usual and keeps a copy of the migrated file; every later session
copies it into place instead. Nothing else changes; ``make test`` never loads this plugin.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import flask_migrate
import pytest
from sqlalchemy.engine import make_url

# In mutmut's working copy (mutants/), deleted with it.
TEMPLATE = Path(__file__).resolve().parent.parent / ".migrated-test.db"

_real_upgrade = flask_migrate.upgrade
_real_downgrade = flask_migrate.downgrade


def _database_file() -> Path | None:
    from mls_tracker.extensions import db

    url = make_url(db.engine.url)
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    return Path(url.database)


def _downgrade(*args, **kwargs):
    if TEMPLATE.exists() and _database_file() is not None:
        return None  # the copy below replaces the whole file
    return _real_downgrade(*args, **kwargs)


def _upgrade(*args, **kwargs):
    from mls_tracker.extensions import db

    target = _database_file()
    if target is None:
        return _real_upgrade(*args, **kwargs)
    db.engine.dispose()
    if TEMPLATE.exists():
        shutil.copyfile(TEMPLATE, target)
        return None
    result = _real_upgrade(*args, **kwargs)
    db.engine.dispose()
    shutil.copyfile(target, TEMPLATE)
    return result


@pytest.hookimpl
def pytest_configure(config: pytest.Config) -> None:
    flask_migrate.upgrade = _upgrade
    flask_migrate.downgrade = _downgrade
