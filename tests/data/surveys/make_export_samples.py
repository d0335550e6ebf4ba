"""Writes the workbook fixtures of tests/test_survey_exports.py (our own data, shaped like
the exports issue 15 describes). Run: .venv/bin/python tests/data/surveys/make_export_samples.py"""

from __future__ import annotations

from pathlib import Path

import openpyxl

HERE = Path(__file__).parent


def excel_serial_dates() -> None:
    """Submitted-at cells holding Excel serial numbers with the General format, as a sheet
    does when a date column lost its date format."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Responses"
    sheet.append(["response_id", "submitted_at", "program", "rating", "recommend"])
    for row in (
        ["XS-01", 45597.145833, "Negotiation Essentials", 5, 9],
        ["XS-02", 45598.5, "Negotiation Essentials", 4, 7],
        ["XS-03", 45600, "Negotiation Essentials", 2, 3],
    ):
        sheet.append(row)
    for cell in sheet["B"][1:]:
        cell.number_format = "General"
    workbook.save(HERE / "excel_serial_dates.xlsx")


if __name__ == "__main__":
    excel_serial_dates()
