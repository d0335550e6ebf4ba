"""CSV exports neutralise cells a spreadsheet would run as formulas."""

import csv
import io

from mls_tracker.exports import csv_response, csv_text, safe_cell


def test_formula_starts_are_neutralised():
    for dangerous in ("=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\x00x"):
        assert safe_cell(dangerous) == "'" + dangerous
    assert safe_cell("plain text") == "plain text"
    assert safe_cell(-5) == -5  # numbers stay numbers
    assert safe_cell(None) == ""


def test_csv_round_trip_keeps_commas_quotes_and_newlines(app):
    text = csv_text(["a", "b"], [["x, y", 'say "hi"'], ["line1\nline2", "=HYPERLINK()"]])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["a", "b"], ["x, y", 'say "hi"'], ["line1\nline2", "'=HYPERLINK()"]]
    with app.test_request_context():
        response = csv_response("grid.csv", ["a"], [["1"]])
    assert response.headers["Content-Disposition"] == 'attachment; filename="grid.csv"'
    assert response.mimetype == "text/csv"
    assert response.get_data(as_text=True).startswith("\ufeffa\r\n")
