"""A pytest plugin for `make mutate` only (``make test`` never loads it), to fit 2 cores.

- mutmut starts a new pytest session for every mutant, and the test set-up builds the
  schema through every migration each session (seconds, more than most mutants' tests):
  the first session migrates as usual and keeps a copy of the migrated file, every later
  session copies it into place instead.
- A mutant's tests run fastest first, so that a killed mutant stops early (``-x``).
- The permission tests judge the mutants of ``access.py`` (the figure tests only pass through
  it), and only those: the matrix (every page × every role, the slowest test by far)
  asserts status codes, not figures.
"""

from __future__ import annotations

import os
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


# Fastest first: figure unit tests, then the database-backed figure tests, then pages.
_ORDER = (
    "test_health.py",
    "test_sla_figures.py",
    "test_satisfaction_figures.py",
    "test_action_figures.py",
    "test_pinned_figures.py",
    "test_sponsors.py",
    "test_dashboard.py",
    "test_permissions.py",
)


def _rank(item: pytest.Item) -> tuple[int, bool]:
    name = item.path.name
    return (_ORDER.index(name) if name in _ORDER else len(_ORDER), "test_matrix" in item.name)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    if "__mutmut_" in mutant:
        if mutant.startswith("mls_tracker.access."):
            # access.py is judged by the permission tests: the figure tests only pass through it.
            keep = [item for item in items if item.path.name == "test_permissions.py"]
        else:
            keep = [item for item in items if item.originalname != "test_matrix"]
        if len(keep) < len(items):
            config.hook.pytest_deselected(items=[item for item in items if item not in keep])
            items[:] = keep
    items.sort(key=_rank)
