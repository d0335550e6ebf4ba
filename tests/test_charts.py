"""Charts: the figures' data (x, y, band, symbols, n), not pixels; and the shared theme."""

from __future__ import annotations

import json

import plotly.graph_objects as go

from mls_tracker import charts
from mls_tracker.periods import Month
from mls_tracker.services import satisfaction as service
from mls_tracker.services.satisfaction import Counts


def _figure(month: Month, satisfied: int, n: int, promoters: int = 0, detractors: int = 0):
    counts = Counts(n, satisfied * 5 + (n - satisfied) * 2, satisfied, n, promoters, detractors)
    return service.figure_from_counts(counts, month=month)


def _reported(month: Month, n: int, csat: float, nps: float):
    return service.figure_from_reported(
        service.ReportedView(1, month, None, None, None, n, None, csat, nps, False, None, None)
    )


FIGURES = [
    _figure(Month(2026, 1), 8, 10, 5, 3),
    _figure(Month(2026, 2), 3, 4, 2, 1),  # low sample
    _reported(Month(2026, 3), 50, 70, 20),
]


def _trace(figure: go.Figure, name: str):
    return next(trace for trace in figure.data if trace.name == name)


def test_satisfaction_trend_has_csat_band_symbols_and_n():
    figure = charts.satisfaction_trend(FIGURES)
    line = _trace(figure, "CSAT %")
    assert list(line.x) == ["2026-01-01", "2026-02-01", "2026-03-01"]
    assert list(line.y) == [80.0, 75.0, 70.0]
    assert list(line.marker.symbol) == [
        charts.SYMBOL_NORMAL,
        charts.SYMBOL_LOW_SAMPLE,
        charts.SYMBOL_REPORTED,
    ]
    upper = _trace(figure, "95% interval (upper)")
    band = _trace(figure, "95% interval")
    # 8 of 10 → Wilson [49.0, 94.3]
    assert upper.y[0] == 94.3 and band.y[0] == 49.0
    assert band.fill == "tonexty"
    assert list(_trace(figure, "n (responses)").y) == [10, 4, 50]
    assert "n 10" in line.hovertext[0] and "low sample" in line.hovertext[1]
    assert "reported" in line.hovertext[2]
    assert figure.layout.yaxis.range == (0, 100)


def test_nps_trend_band_is_nps_plus_and_minus_its_margin():
    figure = charts.nps_trend(FIGURES)
    line = _trace(figure, "NPS")
    assert list(line.y) == [20.0, 25.0, 20.0]
    low = _trace(figure, "95% margin of error")
    high = _trace(figure, "95% margin of error (upper)")
    # Jan: NPS +20, MoE 54.0 → [−34.0, 74.0]
    assert (low.y[0], high.y[0]) == (-34.0, 74.0)
    assert list(_trace(figure, "n (responses)").y) == [10, 4, 50]
    assert all(-100 <= value <= 100 for value in list(low.y) + list(high.y))


def test_months_without_a_measure_are_gaps():
    no_nps = service.figure_from_counts(Counts(12, 50, 9, 0, 0, 0), month=Month(2026, 4))
    figure = charts.nps_trend([*FIGURES, no_nps])
    assert _trace(figure, "NPS").y[-1] is None


def test_one_theme_for_every_chart():
    for figure in (charts.satisfaction_trend(FIGURES), charts.nps_trend(FIGURES)):
        assert figure.layout.template.layout.font.family == charts.FONT_FAMILY
        assert list(figure.layout.template.layout.colorway) == charts.COLORWAY
    assert charts.COLORWAY[0] == "#0072B2"  # Okabe–Ito blue
    assert {entry["symbol"] for entry in charts.RAG.values()} == {"circle", "diamond", "x"}


def test_chart_json_cannot_close_its_script_element():
    figure = charts.satisfaction_trend(FIGURES)
    figure.update_layout(title={"text": "</script><script>alert(1)</script> & more"})
    text = charts.chart_json(figure)
    assert "</script" not in text and "<" not in text and "&" not in text
    assert json.loads(text)["layout"]["title"]["text"].startswith("</script>")
