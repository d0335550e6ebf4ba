"""Writes the realistic partnership workbook the import tests and the browser test upload:
tests/data/contract_import/realistic.xlsx — 16 SLAs (one with a second target), 10
sponsors, 6 expectations, 20 open action items and 24 months of actuals (2024-01…2025-12).
Regions are given by the codes of the demo-like regions: NA, EMEA, APAC, LATAM, INDIA.

    .venv/bin/python scripts/make_contract_workbook.py [OUTPUT]
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path

import openpyxl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mls_tracker.services.contract_workbook import SHEETS  # noqa: E402

OUTPUT = Path(__file__).resolve().parent.parent / "tests/data/contract_import/realistic.xlsx"

SLAS = [
    ("DEL-01", "On-time course delivery", "%", "higher is better", 95, 90, 2, "Delivery"),
    (
        "DEL-02",
        "Sessions cancelled by the provider",
        "count",
        "lower is better",
        2,
        4,
        1,
        "Delivery",
    ),
    (
        "DEL-03",
        "Time to schedule a requested session",
        "days",
        "lower is better",
        10,
        15,
        1,
        "Delivery",
    ),
    ("DEL-04", "Instructor availability", "%", "higher is better", 98, 95, 1, "Delivery"),
    ("QUA-01", "Learner satisfaction", "score", "higher is better", 4.3, 4, 2, "Quality"),
    (
        "QUA-02",
        "Content defects found after release",
        "count",
        "lower is better",
        3,
        6,
        1,
        "Quality",
    ),
    ("QUA-03", "Assessment pass rate", "%", "higher is better", 85, 80, 1, "Quality"),
    ("QUA-04", "Course completion rate", "%", "higher is better", 80, 72, 1.5, "Quality"),
    ("OPS-01", "Help desk first response", "hours", "lower is better", 4, 8, 1, "Operations"),
    ("OPS-02", "Help desk resolution", "hours", "lower is better", 24, 48, 1, "Operations"),
    ("OPS-03", "LMS availability", "%", "higher is better", 99.5, 99, 1.5, "Operations"),
    ("OPS-04", "Enrolment errors", "count", "lower is better", 5, 10, 0.5, "Operations"),
    ("OPS-05", "Reports delivered on time", "%", "higher is better", 100, 95, 0.5, "Operations"),
    ("FIN-01", "Invoices without dispute", "%", "higher is better", 98, 95, 0.5, "Finance"),
    ("FIN-02", "Cost per learner hour", "currency", "lower is better", 45, 50, 1, "Finance"),
    ("CON-01", "New course build time", "days", "lower is better", 30, 40, 1, "Content"),
]
SPONSORS = [
    ("Dana Whitfield", "dana.whitfield@client.example", "NA", "client", "2023-01-01", ""),
    ("Marc Olsen", "marc.olsen@provider.example", "NA", "provider", "2023-01-01", ""),
    ("Ingrid Bauer", "ingrid.bauer@client.example", "EMEA", "client", "2023-01-01", ""),
    ("Tom Reyes", "tom.reyes@provider.example", "EMEA", "provider", "2023-01-01", "2024-06-30"),
    ("Aisha Khan", "aisha.khan@provider.example", "EMEA", "provider", "2024-07-01", ""),
    ("Kenji Sato", "kenji.sato@client.example", "APAC", "client", "2023-03-01", ""),
    ("Mei Lin", "mei.lin@provider.example", "APAC", "provider", "2023-03-01", ""),
    ("Lucía Gómez", "lucia.gomez@client.example", "LATAM", "client", "2023-06-01", ""),
    ("Priya Nair", "priya.nair@client.example", "INDIA", "client", "2023-06-01", ""),
    ("Ravi Menon", "ravi.menon@provider.example", "INDIA", "provider", "2023-06-01", ""),
]
EXPECTATIONS = [
    (
        "Quarterly business reviews",
        "communication",
        "Both sides meet each quarter to review figures and plans.",
        "2026-12-31",
    ),
    (
        "Courses start on time",
        "performance",
        "Scheduled courses start on the date agreed with the business.",
        "2026-12-31",
    ),
    (
        "Satisfaction is measured",
        "measurement",
        "Every course ends with the standard satisfaction survey.",
        "2026-06-30",
    ),
    (
        "Learners are satisfied",
        "client satisfaction",
        "Average satisfaction stays at 4.3 out of 5 or above.",
        "2026-12-31",
    ),
    (
        "Help desk responds quickly",
        "service level",
        "Learner questions get a first answer within four hours.",
        "2026-12-31",
    ),
    (
        "Issues are escalated early",
        "other",
        "Risks to delivery are raised at the next weekly call at the latest.",
        "2026-09-30",
    ),
]


def build(output: Path = OUTPUT) -> Path:
    rng = random.Random(13)
    book = openpyxl.Workbook()
    book.remove(book.active)
    pages = {sheet.name: book.create_sheet(sheet.name) for sheet in SHEETS}
    for sheet in SHEETS:
        pages[sheet.name].append([column.heading for column in sheet.columns])
    for code, name, unit, direction, target, at_risk, weight, category in SLAS:
        pages["SLAs"].append(
            [code, name, unit, direction, target, at_risk, weight, "2024-01", category]
        )
    pages["SLAs"].append(
        [
            "DEL-01",
            "On-time course delivery",
            "%",
            "higher is better",
            96,
            92,
            2,
            "2025-01",
            "Delivery",
        ]
    )
    for name, email, region, side, start, end in SPONSORS:
        pages["Sponsors"].append([name, email, region, side, start, end])
    for row in EXPECTATIONS:
        pages["Expectations"].append(list(row))
    for number in range(1, 21):
        pages["Actions"].append(
            [
                f"Follow-up {number:02d}: "
                + rng.choice(
                    [
                        "review the course calendar",
                        "fix enrolment data",
                        "update the report",
                        "agree the content plan",
                        "train new instructors",
                    ]
                ),
                "provider" if number % 3 else "client",
                "" if number % 5 else "marc.olsen@provider.example",
                (dt.date(2026, 1, 15) + dt.timedelta(days=14 * number)).isoformat(),
                ["open", "in progress", "blocked"][number % 3],
                "Carried over from the previous tracker.",
            ]
        )
    months = [f"{year}-{month:02d}" for year in (2024, 2025) for month in range(1, 13)]
    for code, _name, unit, direction, target, at_risk, _weight, _category in SLAS:
        spread = abs(target - at_risk) or 1
        for month in months:
            if code == "CON-01" and month.endswith("-08"):
                value: object = "n/a"
            else:
                better = 1 if direction == "higher is better" else -1
                value = round(target + better * rng.uniform(-1.6, 0.8) * spread, 2)
                if unit == "%":
                    value = max(0, min(100, value))
                value = max(0, value)
            pages["Actuals"].append([code, month, value])
    output.parent.mkdir(parents=True, exist_ok=True)
    book.save(output)
    return output


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT))
