"""Charts: the figures' data (x, y, band, symbols, n), not pixels; and the shared theme."""

from __future__ import annotations

import json

import plotly.graph_objects as go

from mls_tracker import charts
from mls_tracker.charts import AttainmentPoint, CoverageRow, FlowPoint
from mls_tracker.periods import Month
from mls_tracker.services import satisfaction as service
from mls_tracker.services.satisfaction import Counts
from mls_tracker.services.sla_figures import Status


def _point(figure: service.SatisfactionFigure) -> charts.SatisfactionPoint:
    return charts.SatisfactionPoint(
        figure.month,
        figure.n_rating,
        figure.csat,
        figure.csat_low,
        figure.csat_high,
        figure.n_recommend,
        figure.nps,
        figure.nps_moe,
        figure.low_sample,
        figure.is_reported,
    )


def _figure(month: Month, satisfied: int, n: int, promoters: int = 0, detractors: int = 0):
    counts = Counts(n, satisfied * 5 + (n - satisfied) * 2, satisfied, n, promoters, detractors)
    return _point(service.figure_from_counts(counts, month=month))


def _reported(month: Month, n: int, csat: float, nps: float):
    return _point(
        service.figure_from_reported(
            service.ReportedView(1, month, None, None, None, n, None, csat, nps, False, None, None)
        )
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
    no_nps = _point(service.figure_from_counts(Counts(12, 50, 9, 0, 0, 0), month=Month(2026, 4)))
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


# ---- the overview's charts -------------------------------------------------------------------


def _luminance(color: str) -> float:
    """WCAG relative luminance of ``#rrggbb``: what is left of a colour in a grey print."""
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _counts(met=0, at_risk=0, breached=0, missing=0) -> dict[str, int]:
    return {"met": met, "at_risk": at_risk, "breached": breached, "missing": missing}


def test_sla_attainment_trend_has_percent_and_slas_measured():
    points = [
        AttainmentPoint(Month(2026, 1), 75.0, **_counts(3, 1, 0, 1)),
        AttainmentPoint(Month(2026, 2), None, **_counts(missing=5)),
        AttainmentPoint(Month(2026, 3), 40.0, **_counts(2, 1, 2)),
    ]
    figure = charts.sla_attainment_trend(points, target=80)
    line = _trace(figure, "Attainment %")
    assert list(line.x) == ["2026-01-01", "2026-02-01", "2026-03-01"]
    assert list(line.y) == [75.0, None, 40.0]  # nothing measured is a gap, never 0 or 100
    assert list(_trace(figure, "SLAs measured").y) == [4, 0, 5]
    assert "4 SLAs measured" in line.hovertext[0] and "1 missing" in line.hovertext[0]
    assert "Nothing measured" in line.hovertext[1]
    target = _trace(figure, "Target 80%")
    assert list(target.y) == [80, 80] and list(target.x) == ["2026-01-01", "2026-03-01"]
    assert figure.layout.yaxis.range == (0, 105)


def test_sla_status_heatmap_has_a_colour_and_a_symbol_per_status():
    months = [Month(2026, 1), Month(2026, 2), Month(2026, 3)]
    rows = [
        charts.SlaStatusRow(
            "SLA-1",
            "Completion",
            tuple(zip(months, [Status.MET, Status.AT_RISK, Status.BREACHED], strict=True)),
        ),
        charts.SlaStatusRow(
            "SLA-2",
            "Response time",
            tuple(zip(months, [Status.MISSING, Status.NOT_APPLICABLE, Status.MET], strict=True)),
        ),
    ]
    figure = charts.sla_status_heatmap(rows)
    heat = figure.data[0]
    assert list(heat.x) == ["Jan 2026", "Feb 2026", "Mar 2026"]
    assert list(heat.y) == ["SLA-1", "SLA-2"]
    assert [list(r) for r in heat.text] == [["●", "◆", "✖"], ["○", "–", "●"]]
    assert "Response time" in heat.customdata[1][0] and "Missing" in heat.customdata[1][0]
    assert figure.layout.yaxis.autorange == "reversed"  # the first SLA on top
    # Each z value falls in its own colour step: the cell's colour is its status's.
    scale = [tuple(step) for step in heat.colorscale]
    for row, statuses in zip(heat.z, ([0, 1, 2], [3, 4, 0]), strict=True):
        assert list(row) == statuses
    for index, status in enumerate(charts.STATUS_ORDER):
        position = (index - heat.zmin) / (heat.zmax - heat.zmin)
        inside = [
            color
            for (low, color), (high, _) in zip(scale, scale[1:], strict=False)
            if low <= position <= high
        ]
        assert charts.STATUS_STYLE[status]["color"] in inside
    legend = [trace.name for trace in figure.data[1:]]
    assert legend == ["● Met", "◆ At risk", "✖ Breached", "○ Missing", "– Not applicable"]


def test_status_colours_differ_in_lightness_so_a_grey_print_keeps_them_apart():
    lightness = [_luminance(charts.STATUS_STYLE[s]["color"]) for s in charts.STATUS_ORDER[:3]]
    met, at_risk, breached = lightness
    assert met > at_risk > breached
    assert min(met - at_risk, at_risk - breached) > 0.1
    assert len({charts.STATUS_STYLE[s]["symbol"] for s in charts.STATUS_ORDER}) == 5
    assert _luminance(charts.COVERED_COLOR) - _luminance(charts.GAP_COLOR) > 0.3


def test_action_flow_has_opened_closed_bars_and_an_overdue_line():
    flows = [
        FlowPoint(Month(2026, 1), opened=5, closed=2, overdue=1),
        FlowPoint(Month(2026, 2), opened=3, closed=6, overdue=0),
    ]
    figure = charts.action_flow(flows)
    opened, closed, overdue = (
        _trace(figure, n) for n in ("Opened", "Closed", "Overdue at month end")
    )
    assert opened.type == closed.type == "bar" and overdue.type == "scatter"
    assert list(opened.x) == ["2026-01-01", "2026-02-01"]
    assert (list(opened.y), list(closed.y), list(overdue.y)) == ([5, 3], [2, 6], [1, 0])
    assert overdue.line.dash == "dot" and overdue.marker.symbol == "x"
    # Dark and light: "opened" and "closed" stay apart in a grey print.
    assert _luminance(closed.marker.color) - _luminance(opened.marker.color) > 0.2
    assert figure.layout.barmode == "group"


def test_sponsor_coverage_marks_a_gap_with_the_word():
    rows = [
        CoverageRow("EMEA", True, ("Erika",), ("Paul",)),
        CoverageRow("APAC", False, (), ()),
    ]
    figure = charts.sponsor_coverage(rows)
    heat = figure.data[0]
    assert list(heat.x) == ["Client", "Provider"]
    assert list(heat.y) == ["EMEA (home)", "APAC"]
    assert [list(r) for r in heat.text] == [["● Covered", "● Covered"], ["✖ Gap", "None"]]
    assert [list(r) for r in heat.customdata] == [
        ["Erika", "Paul"],
        ["no client sponsor", "nobody"],
    ]
    assert [list(r) for r in heat.z] == [[2, 2], [0, 1]]


def test_health_trend_has_rag_bands_symbols_and_gaps():
    points = [
        charts.HealthPoint(Month(2026, 1), 85.04),
        charts.HealthPoint(Month(2026, 2), None),
        charts.HealthPoint(Month(2026, 3), 65.0),
        charts.HealthPoint(Month(2026, 4), 40.0),
    ]
    figure = charts.health_trend(points)
    line = _trace(figure, "Health score")
    assert list(line.y) == [85.0, None, 65.0, 40.0]
    assert line.connectgaps is False
    assert list(line.marker.symbol) == ["circle", "circle", "diamond", "x"]
    assert list(line.marker.color)[2:] == [charts.RAG["amber"]["color"], charts.RAG["red"]["color"]]
    bands = [s for s in figure.layout.shapes if s.type == "rect"]
    assert [(s.y0, s.y1) for s in bands] == [(0, 60), (60, 80), (80, 100)]
    labels = [a.text for a in figure.layout.annotations]
    # the one wording of the bands, as on the pages and the PDF's cover (issue 15)
    assert labels == ["Red below 60", "Amber 60–79", "Green ≥ 80"]
    assert "no score" in line.hovertext[1] and "Green" in line.hovertext[0]


def test_every_chart_is_valid_themed_and_without_js_only_features():
    flows = [FlowPoint(Month(2026, 1), 1, 1, 0)]
    figures = [
        charts.action_flow(flows),
        charts.health_trend([charts.HealthPoint(Month(2026, 1), 70)]),
        charts.sponsor_coverage([]),
        charts.sponsor_coverage([CoverageRow("APAC", False, (), ())]),
        charts.sla_status_heatmap([]),
        charts.sla_status_heatmap(
            [charts.SlaStatusRow("S-1", "One", ((Month(2026, 1), Status.BREACHED),))]
        ),
        charts.sla_attainment_trend([]),
        charts.sla_attainment_trend(
            [AttainmentPoint(Month(2026, 1), 50.0, **_counts(1, 1))], target=80
        ),
    ]
    figures += [charts.satisfaction_trend(FIGURES), charts.nps_trend(FIGURES)]
    delivery = [
        charts.DeliveryPoint(Month(2026, 1), 120, 300.5, 9, 15000.0, 125.0, True),
        charts.DeliveryPoint(Month(2026, 2), 80, 200.0, 6, None, None, False),
    ]
    figures += [charts.delivery_volumes(delivery), charts.delivery_spend(delivery, "EUR")]
    for figure in figures:
        assert figure.layout.template.layout.font.family == charts.FONT_FAMILY
        # The charts are assembled without plotly's validation (for speed): validate here.
        go.Figure(figure.to_dict())
        # chart_json writes the figure's own dictionaries: the same as plotly's to_json.
        assert json.loads(charts.chart_json(figure)) == json.loads(figure.to_json())
        layout = json.loads(charts.chart_json(figure))["layout"]
        assert "updatemenus" not in layout and "sliders" not in layout
