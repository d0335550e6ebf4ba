"""The page benchmark's harness (``benchmarks/pages_bench.py``, ``run_all.py``, issue 18): the
edit of the cold path is the one a user makes, the partnerships edited are on and off the
portfolio's first page, and query counts that differ between the small and the large
portfolio are recorded as a missed bar. No timing here: the benchmark itself is `make bench`."""

from __future__ import annotations

import sys
import urllib.parse
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import common, pages_bench, run_all  # noqa: E402

FORM = """
<form method="post" action="/partnerships/7/slas/actuals/2026-11" id="actuals-form">
  <input type="hidden" name="csrf_token" value="tok">
  <input type="hidden" name="version-3" value="4">
  <input name="value-3" value="">
  <input type="hidden" name="version-5" value="2">
  <input name="value-5" value="82.60">
  <input type="checkbox" name="na-5" value="1">
  <input name="value-9" value="12">
  <textarea name="note-5">kept</textarea>
</form>
"""


@pytest.fixture
def bars(tmp_path, monkeypatch):
    path = tmp_path / "bars.jsonl"
    monkeypatch.setattr(common, "BARS_FILE", path)
    monkeypatch.setattr(run_all, "BARS_FILE", path)
    return path


def test_the_edit_changes_one_sla_value_and_posts_everything_else_as_read():
    sent = []

    def send(method, path, body):
        sent.append((method, path, body))
        if method == "GET":
            return 200, None, FORM.encode()
        return 302, "/partnerships/7/slas/?to=2026-11", b""

    url = "/partnerships/7/slas/actuals/2026-11"
    assert pages_bench.edit_one_figure(send, url) == "value-5 82.60 → 81.60"
    method, path, body = sent[-1]
    assert (method, path) == ("POST", url)
    assert urllib.parse.parse_qsl(body, keep_blank_values=True) == [
        ("csrf_token", "tok"),
        ("version-3", "4"),
        ("value-3", ""),
        ("version-5", "2"),
        ("value-5", "81.60"),
        ("value-9", "12"),
        ("note-5", "kept"),
    ]


def test_a_refused_edit_is_a_benchmark_failure_not_a_figure():
    def send(method, path, body):
        if method == "GET":
            return 200, None, FORM.encode()
        return 200, None, b'<div class="invalid-feedback">Someone else saved first</div>'

    with pytest.raises(RuntimeError, match="Someone else saved first"):
        pages_bench.edit_one_figure(send, "/partnerships/7/slas/actuals/2026-11")


def test_the_cold_path_edits_partnerships_on_and_off_the_portfolios_first_page():
    urls = {
        pid: pages_bench.ColdUrls("/portfolio", f"/partnerships/{pid}", f"/e/{pid}", pid)
        for pid in range(1, 201)
    }
    page = "".join(f'<a href="/partnerships/{pid}">P</a>' for pid in (150, 7, 150, 42, 99))
    assert pages_bench.mark_shown(page, urls) == [150, 7, 42, 99]
    chosen = pages_bench.choose_cold(urls, [150, 7, 42, 99], 10)
    # ten partnerships: the four shown (half was asked, there are only four), six others
    assert len({u.partnership_id for u in chosen}) == 10
    assert sorted(u.partnership_id for u in chosen if u.shown) == [7, 42, 99, 150]
    assert sum(1 for u in chosen if not u.shown) == 6
    # a portfolio on one page: every edit is of a partnership shown
    small = {pid: urls[pid] for pid in (1, 2, 3)}
    shown = pages_bench.mark_shown("".join(f'href="/partnerships/{p}"' for p in (3, 1, 2)), small)
    assert all(u.shown for u in pages_bench.choose_cold(small, shown, 3))


def test_query_counts_that_differ_between_small_and_large_are_a_missed_bar(bars, capsys):
    table = {
        "demo": {"a.page": 5, "b.page": 9, "dashboard.portfolio (cold)": 30},
        "small": {"a.page": 6, "b.page": 9, "c.page": 4, "dashboard.portfolio (cold)": 40},
        "large": {"a.page": 6, "b.page": 11, "dashboard.portfolio (cold)": 40},
    }
    growing = pages_bench.print_counts(table, "SQLite")
    assert growing == ["b.page"]  # the demo differs (another shape); c.page is not compared
    recorded = {b["bar"]: b for b in common.read_bars()}
    warm = recorded["queries per page constant in the data size — warm"]
    assert (warm["met"], warm["figure"], warm["where"]) == (
        False,
        "1 of 2 pages constant",
        "small vs large, SQLite",
    )
    assert "grow: b.page" in warm["note"] and "not compared: c.page" in warm["note"]
    cold = recorded["queries per page constant in the data size — cold path"]
    assert (cold["met"], cold["figure"]) == (True, "dashboard.portfolio 40/40")
    assert "b.page" in capsys.readouterr().out


def test_the_table_of_bars_shows_met_missed_and_not_measured(bars, capsys):
    common.record_bar("page x: p95 < 100 ms", "p95 87 ms", True, where="large, SQLite")
    common.record_bar("page y: p95 < 100 ms", "p95 187 ms", False, where="large, SQLite")
    run_all.run_child("import", "no_such_bench.py", {}, quick=False)
    assert run_all.print_bars("load average 1.00 / 1.00 / 1.00 on 2 cores") == 1
    out = capsys.readouterr().out
    assert "1 met, 1 missed, 1 not measured" in out
    assert "benchmarks/no_such_bench.py does not exist" in out
    lines = [line for line in out.splitlines() if line.startswith("page y")]
    assert len(lines) == 1 and "MISSED" in lines[0]


def test_the_cold_bar_is_decided_by_the_worse_kind_of_edit_not_by_the_mix(bars, capsys):
    cold = pages_bench.ColdReport(
        portfolio_ms=[320.0, 330.0, 340.0, 180.0, 185.0, 190.0, 195.0],
        portfolio_shown=[True, True, True, False, False, False, False],
        overview_ms=[200.0, 240.0, 260.0],
    )
    pages_bench.print_cold(cold, "large (200 partnerships), SQLite", "")
    recorded = {b["bar"]: b for b in common.read_bars()}
    portfolio = recorded["first view after an edit ≤ 250 ms: portfolio"]
    # the median of all seven is 195 ms, but an edit of a partnership on the page costs 330 ms
    assert portfolio["met"] is False
    assert portfolio["figure"] == (
        "p50 195 ms (on the page 330, off the page 188), max 340 ms (n=7)"
    )
    overview = recorded["first view after an edit ≤ 250 ms: overview"]
    assert (overview["met"], overview["figure"]) == (True, "p50 240 ms, max 260 ms (n=3)")
    assert "MISSED (330 ms)" in capsys.readouterr().out
