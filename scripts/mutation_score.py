"""The scope of `make mutate` and its score: killed ÷ mutants, and the list of survivors.

`make mutate` asks this script for the mutant name patterns (``--patterns``), runs mutmut on
them, then runs it again without arguments to read mutmut's results (``mutants/**/*.meta``)
and print the score. The scope is the functions that compute a figure a user sees or decide
access; write use cases in the same modules (saving weights, adding a sponsor …) have their
own tests elsewhere and are left out, so that every mutant in scope has tests to face.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"

# mutmut names a mutant <module>.x_<function>__mutmut_<n>, or <module>.xǁ<Class>ǁ<method>…
SCOPE = [
    "mls_tracker.access.*",
    "mls_tracker.services.health.x_rag__*",
    "mls_tracker.services.health.x_satisfaction_component__*",
    "mls_tracker.services.health.x_health_score__*",
    "mls_tracker.services.health.x_partnership_weights__*",
    "mls_tracker.services.health.xǁHealthScoreǁ*",
    "mls_tracker.services.sla_figures.*",
    "mls_tracker.services.action_figures.*",
    "mls_tracker.services.satisfaction.x_wilson_interval__*",
    "mls_tracker.services.satisfaction.x_nps_variance__*",
    "mls_tracker.services.satisfaction.x_nps_margin__*",
    "mls_tracker.services.satisfaction.x_reported_nps_margin__*",
    "mls_tracker.services.satisfaction.xǁCountsǁ*",
    "mls_tracker.services.satisfaction.x__pct__*",
    "mls_tracker.services.satisfaction.x__low__*",
    "mls_tracker.services.satisfaction.x_figure_from_counts__*",
    "mls_tracker.services.satisfaction.x_figure_from_reported__*",
    "mls_tracker.services.satisfaction.x_monthly_counts_many__*",
    "mls_tracker.services.sponsors.x_coverage__*",
    "mls_tracker.services.sponsors.x_coverage_history__*",
    "mls_tracker.services.sponsors.x__active__*",
    "mls_tracker.services.dashboard.xǁMonthFiguresǁ*",
    "mls_tracker.services.dashboard.x_compute_month_figures__*",
    "mls_tracker.services.dashboard.x__reported_totals__*",
    "mls_tracker.services.dashboard.x__regions_in_scope__*",
    "mls_tracker.services.dashboard.x__regions__*",
]

# mutmut's exit codes (mutmut/stats.py): what the tests did with each mutant.
STATUS = {
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    33: "no tests",
    34: "skipped",
    36: "timeout",
    -24: "timeout",
    24: "timeout",
    152: "timeout",
    255: "timeout",
    37: "caught by type check",
    -11: "segfault",
    -9: "segfault",
    None: "not checked",
}
# A timeout or a crash is the tests noticing the bug, as mutmut counts it.
DETECTED = {"killed", "timeout", "segfault", "caught by type check"}


def in_scope(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in SCOPE)


def results() -> dict[str, str]:
    found: dict[str, str] = {}
    for meta in sorted(MUTANTS.rglob("*.meta")):
        data = json.loads(meta.read_text("utf-8"))
        for name, code in data.get("exit_code_by_key", {}).items():
            if in_scope(name):
                found[name] = STATUS.get(code, "suspicious")
    return found


def change_of(name: str) -> str:
    """The changed lines of a mutant, as ``mutmut show`` prints them."""
    shown = subprocess.run(  # noqa: S603 (this interpreter, a mutant name mutmut gave)
        [sys.executable, "-m", "mutmut", "show", name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    lines = [
        line
        for line in shown.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    return " | ".join(line.strip() for line in lines[:4])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patterns", action="store_true", help="print the scope and stop")
    parser.add_argument("--no-diffs", action="store_true", help="list survivors by name only")
    args = parser.parse_args()
    if args.patterns:
        print(" ".join(SCOPE))
        return 0
    found = results()
    if not found:
        print("no mutation results: run `make mutate`", file=sys.stderr)
        return 1
    counts = Counter(found.values())
    detected = sum(counts[status] for status in DETECTED)
    total = len(found)
    survivors = sorted(name for name, status in found.items() if status == "survived")
    print()
    print("Mutants in scope by result: " + ", ".join(f"{s} {n}" for s, n in counts.most_common()))
    if survivors:
        print(f"\nSurvivors ({len(survivors)}): `mutmut show NAME` shows each change")
        for name in survivors:
            change = "" if args.no_diffs else f"    {change_of(name)}"
            print(f"  {name}{change}")
    others = sorted(name for name, s in found.items() if s not in DETECTED and s != "survived")
    if others:
        print(f"\nNeither killed nor survived ({len(others)}):")
        for name in others:
            print(f"  [{found[name]}] {name}")
    print(f"\nMutation score: {detected} killed / {total} mutants = {100 * detected / total:.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
