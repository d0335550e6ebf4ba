"""The suite's day: a module that reads today's date when it is imported gets the day each
of its tests runs on (tests/conftest.py, ``_the_day_each_test_runs``)."""

from __future__ import annotations

import datetime as dt

from mls_tracker.periods import Month, utc_today

# As if this module had been imported on a day long gone (a run that crossed midnight).
TODAY = dt.date(2000, 1, 1)
TODAY_FROM_THE_CLOCK = True
REVIEWED = Month.of(TODAY).previous()


def test_a_module_read_day_is_the_day_the_test_runs():
    assert utc_today() == TODAY
    assert Month.of(utc_today()).previous() == REVIEWED
