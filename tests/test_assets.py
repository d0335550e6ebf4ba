"""plotly.js from the installed package, under a content-hashed URL with a one-year
immutable cache; another hash is a 404; the stylesheet lets plotly.js inject nothing."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

from mls_tracker import assets
from tests.conftest import sign_in


def test_the_url_carries_the_files_hash(app):
    body = assets.PLOTLY_JS.read_bytes()
    digest = hashlib.sha256(body).hexdigest()[:16]
    with app.test_request_context():
        assert assets.plotly_js_url() == f"/assets/plotly-{digest}.min.js"


def test_plotly_js_is_served_with_an_immutable_cache(client):
    path = assets.plotly_asset().path
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.mimetype == "text/javascript"
    assert response.data == assets.PLOTLY_JS.read_bytes()
    assert b"plotly.js" in response.data[:200]


def test_signed_in_users_get_the_same_cacheable_file(client, world):
    sign_in(client, world.lead.email)
    response = client.get(assets.plotly_asset().path, headers={"Accept-Encoding": "gzip"})
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.data) == assets.PLOTLY_JS.read_bytes()


def test_another_hash_is_404(client):
    assert client.get("/assets/plotly-0000000000000000.min.js").status_code == 404
    assert client.get("/assets/plotly.min.js").status_code == 404


def test_the_stylesheet_holds_plotlys_rules(client):
    css = assets.plotly_css_asset()
    response = client.get(css.path)
    assert response.status_code == 200 and response.mimetype == "text/css"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    text = response.get_data(as_text=True)
    assert ".js-plotly-plot .plotly .modebar" in text
    assert ".plotly-notifier" in text
    assert assets.plotly_style_guard_ids()  # maplibre's own <style> is kept out too


def test_no_page_template_sets_an_inline_style():
    """The CSP (style-src 'self') blocks style attributes, so a width set inline is lost on
    the page and logs a violation; pages use classes. E-mails and the PDF are not under it."""
    root = Path(__file__).resolve().parent.parent / "templates"
    inline = re.compile(r"""\sstyle\s*=\s*('|"[^"])""")  # not the layout's note on style=""
    found = [
        f"{path.relative_to(root)}:{number}"
        for path in root.rglob("*.html")
        if path.relative_to(root).parts[0] not in {"email", "reports"}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if inline.search(line)
    ]
    assert found == []


def test_plotly_js_is_compressed_once_per_process_whichever_way_it_is_asked_for(monkeypatch):
    """The middleware asks for ``plotly_asset()``, its stylesheet and the preview's guard ids
    for ``plotly_asset(PLOTLY_JS)``: one file, compressed once (4.8 MB, ~0.2 s each time)."""
    compressed: list[int] = []
    real = gzip.compress

    def counting(data, *args, **kwargs):
        compressed.append(len(data))
        return real(data, *args, **kwargs)

    monkeypatch.setattr(assets.gzip, "compress", counting)
    for function in (
        assets._plotly_asset_at,
        assets.plotly_css_asset,
        assets.plotly_style_guard_ids,
    ):
        function.cache_clear()
    try:
        assets.warm_up()
        first = assets.plotly_asset()
        assert assets.plotly_asset(assets.PLOTLY_JS) is first
        assert assets.plotly_css_asset().path.endswith(".css")
        assert assets.plotly_style_guard_ids() == assets.plotly_style_guard_ids(assets.PLOTLY_JS)
    finally:
        monkeypatch.undo()
    size = assets.PLOTLY_JS.stat().st_size
    assert compressed.count(size) == 1
