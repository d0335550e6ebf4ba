"""Charts exported as SVG by kaleido and Debian's Chromium (for the PDF scorecards)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import plotly.graph_objects as go
import pytest

from mls_tracker import charts
from mls_tracker.periods import Month
from mls_tracker.scorecards import chart_images
from mls_tracker.services.action_figures import MonthFlow


@pytest.fixture(scope="module", autouse=True)
def _stop_the_server() -> Iterator[None]:
    yield
    chart_images.shutdown()


def _titled(title: str) -> go.Figure:
    return go.Figure(go.Bar(x=["a", "b"], y=[1, 2]), layout={"title": {"text": title}})


def test_a_chart_of_the_web_pages_becomes_an_svg_with_its_text():
    flows = [MonthFlow(Month(2026, m), m, m - 1, 1) for m in range(1, 7)]
    svg = chart_images.figure_svg(charts.action_flow(flows), width=640, height=300)
    assert svg.startswith("<svg")
    assert 'width="640"' in svg and 'height="300"' in svg
    assert "Opened" in svg and "Overdue at month end" in svg  # the legend, as text


def test_the_same_figure_is_drawn_once(monkeypatch):
    figure = _titled("Cached once")
    first = chart_images.figure_svg(figure)

    def refuse(*_args, **_kwargs):
        raise AssertionError("drawn again")

    monkeypatch.setattr(chart_images._server, "render", refuse)
    assert chart_images.figure_svg(_titled("Cached once")) == first
    with pytest.raises(AssertionError, match="drawn again"):
        chart_images.figure_svg(figure, width=500)  # another size is another image


def test_threads_each_get_their_own_image():
    """plotly/Kaleido#444: a server shared by threads could swap images; calls are
    serialised, so each thread's SVG carries its own title."""
    results: dict[str, str] = {}

    def draw(title: str) -> None:
        results[title] = chart_images.figure_svg(_titled(title))

    titles = [f"Thread chart {n}" for n in range(4)]
    threads = [threading.Thread(target=draw, args=(title,)) for title in titles]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(results) == titles
    for title, svg in results.items():
        assert title in svg
        assert all(other not in svg for other in titles if other != title)


def test_without_chromium_the_message_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(chart_images, "CHROMIUM_PATH", Path("/nowhere/chromium"))
    with pytest.raises(chart_images.ChartExportUnavailable, match="apt-get install chromium"):
        chart_images.figure_svg(_titled("No browser here"))


def test_a_forked_process_starts_its_own_server(monkeypatch):
    started: list[int] = []

    class FakeServer:
        def __init__(self) -> None:
            self.pid = chart_images.os.getpid()
            started.append(self.pid)

        def render(self, figure, opts):
            return b"<svg>fake</svg>"

    monkeypatch.setattr(chart_images, "_Server", FakeServer)
    monkeypatch.setattr(chart_images, "_server", None)
    chart_images.figure_svg(_titled("In the parent"))
    monkeypatch.setattr(chart_images.os, "getpid", lambda: 999_999)
    chart_images.figure_svg(_titled("In the child"))
    assert started[1] == 999_999 and len(started) == 2


def test_a_batch_is_drawn_in_one_call_and_each_svg_is_its_own_figure(monkeypatch):
    chart_images.figure_svg(_titled("Batch warm-up"))  # the server is running
    calls: list[int] = []
    render_many = chart_images._server.render_many

    def counted(batch):
        calls.append(len(batch))
        return render_many(batch)

    monkeypatch.setattr(chart_images._server, "render_many", counted)
    titles = [f"Batch chart {n}" for n in range(5)]
    items = [(_titled(title), 600, 280) for title in titles]
    items.append((_titled("Batch warm-up"), 720, 320))  # in the cache: not drawn again
    svgs = chart_images.figures_svg(items)
    assert calls == [5]
    assert len(svgs) == 6 and svgs[5] == chart_images.figure_svg(_titled("Batch warm-up"))
    for title, svg in zip(titles, svgs, strict=False):
        assert svg.startswith("<svg") and 'width="600"' in svg
        assert title in svg
        assert all(other not in svg for other in titles if other != title)


def test_the_same_figure_gives_the_same_svg_text_in_a_new_server():
    """plotly's random clip-path ids are replaced: a scorecard drawn again years later from
    its snapshot gets the same chart text, so the same PDF."""
    first = chart_images.figure_svg(_titled("Stable ids"))
    chart_images.shutdown()
    again = chart_images.figure_svg(_titled("Stable ids"))
    other = chart_images.figure_svg(_titled("Other ids"))
    assert again == first
    assert 'id="clipf' in first
    clip_ids = {part.split('"')[0] for part in first.split('id="clip')[1:]}
    assert all(f'id="clip{clip_id}"' not in other for clip_id in clip_ids)


def test_tabs_are_reloaded_now_and_then(monkeypatch):
    """kaleido's own hook after each figure: the tab goes back to the queue, reloaded only
    every RELOAD_EVERY figures (a change in kaleido's hook breaks this test)."""
    monkeypatch.setattr(chart_images, "RELOAD_EVERY", 2)
    chart_images.shutdown()
    reloads: list[object] = []
    import kaleido._kaleido_tab._tab as tab_module

    original = tab_module._KaleidoTab.reload

    async def counted(self):
        reloads.append(self)
        await original(self)

    monkeypatch.setattr(tab_module._KaleidoTab, "reload", counted)
    for n in range(4):
        assert f"Reload {n}" in chart_images.figure_svg(_titled(f"Reload {n}"))
    assert len(reloads) == 2  # 4 figures, one tab at a time, reloaded after every second


def test_a_reload_that_leaves_the_page_without_its_script_is_done_again(monkeypatch):
    """A reload can hand back a JavaScript context without kaleido's script; the tab is
    reloaded until the script is there, so the next figure on it still draws."""
    monkeypatch.setattr(chart_images, "RELOAD_EVERY", 1)
    chart_images.shutdown()
    reloads: list[object] = []
    import kaleido._kaleido_tab._tab as tab_module

    original_reload = tab_module._KaleidoTab.reload
    original_check = chart_images._scripts_loaded

    async def counted(self):
        reloads.append(self)
        await original_reload(self)

    async def first_check_fails(tab):
        loaded = await original_check(tab)
        assert loaded  # the real check sees the script after a real reload
        return len(reloads) > 1

    monkeypatch.setattr(tab_module._KaleidoTab, "reload", counted)
    monkeypatch.setattr(chart_images, "_scripts_loaded", first_check_fails)
    assert "Again 0" in chart_images.figure_svg(_titled("Again 0"))
    assert "Again 1" in chart_images.figure_svg(_titled("Again 1"))
    assert len(reloads) >= 3  # the first reload was done twice, the second once


def test_a_warm_worker_draws_its_first_chart_without_starting_chromium(monkeypatch):
    """``scorecards.issuing.warm_up`` (run when a worker starts) leaves Chromium running with
    plotly.js loaded and the print stylesheet parsed: the first scorecard starts nothing."""
    from mls_tracker.scorecards import issuing, pdf

    chart_images.shutdown()
    issuing.warm_up()
    server = chart_images._server
    assert server is not None and server.thread.is_alive()
    assert pdf.stylesheet.cache_info().currsize >= 1
    started: list[int] = []
    real = chart_images._Server
    monkeypatch.setattr(chart_images, "_Server", lambda: started.append(1) or real())
    svg = chart_images.figure_svg(go.Figure(go.Scatter(x=[1, 2], y=[3, 4])), width=300, height=200)
    assert svg.startswith("<svg") and started == [] and chart_images._server is server
