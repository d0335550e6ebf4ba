"""How figures, changes and statuses are written (formatting.py), by hand-worked cases, and the
same writer in the web templates and the print environment."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from mls_tracker import formatting
from mls_tracker.formatting import (
    NotADate,
    change,
    change_of,
    number,
    percent,
    rag_badge,
    read_month,
    signed,
    sla_badge,
)
from mls_tracker.scorecards.html import environment
from mls_tracker.services.health import Rag
from mls_tracker.services.sla_figures import Status

ROOT = Path(__file__).resolve().parents[1]


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "—"),
        (0, "0"),
        (75.0, "75"),  # a decimal only when there is one
        (81.8, "81.8"),
        (81.84, "81.8"),
        (1146, "1,146"),
        (1234.56, "1,234.6"),
        (-9, "−9"),  # the true minus sign
        (-8.4, "−8.4"),
        (2.25, "2.3"),  # half up, where round() and "%.1f" give 2.2
        (0.05, "0.1"),
        (80.45, "80.5"),  # the float is a hair below 80.45; its decimal form is not
        (79.95, "80"),  # rounds up to a whole number: no ".0"
        (-0.04, "0"),  # never "−0"
        (-2.25, "−2.3"),  # half away from zero
    ],
)
def test_number(value, expected):
    assert number(value) == expected


def test_number_with_two_digits_and_percent():
    assert number(4.375, 2) == "4.38"
    assert number(4.3, 2) == "4.30"  # digits are kept once there is a decimal
    assert number(4.0, 2) == "4"
    assert percent(87.35) == "87.4%" and percent(75.0) == "75%" and percent(None) == "—"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(44.6, "+44.6"), (-8.4, "−8.4"), (0, "0"), (0.04, "0"), (0.05, "+0.1"), (None, "—")],
)
def test_signed(value, expected):
    assert signed(value) == expected


# --- changes ---------------------------------------------------------------------------------


def test_a_fall_of_nine_points():
    fall = change(66.0, 75.0)
    assert fall.delta == Decimal("-9.0")
    assert (fall.direction, fall.arrow, fall.verdict, fall.css) == ("down", "▼", "worse", "worse")
    assert fall.amount == "−9 points"
    assert fall.words() == "−9 points down · worse"
    assert fall.text("Sep 2026") == "▼ −9 points down since Sep 2026 · worse"
    assert str(fall) == "▼ −9 points down · worse"


def test_a_rise_rounded_half_up_to_one_decimal():
    # 81.8 − 72.7 = 9.0999… in floats: 9.1, not 9.0999 or 9.
    rise = change(81.8, 72.7)
    assert rise.text() == "▲ +9.1 points up · better"
    # 0.25 → 0.3 (half up), where round(0.25, 1) gives 0.2
    assert change(70.25, 70.0).amount == "+0.3 points"


def test_no_change_and_no_earlier_figure():
    same = change(75.0, 75.0)
    assert (same.direction, same.arrow, same.verdict, same.css) == ("same", "=", None, "same")
    assert same.text("Oct 2026") == "= No change since Oct 2026"
    assert same.amount == "no change"
    # 75.04 − 75 rounds to 0: no change, not "+0 points"
    assert change(75.04, 75.0).direction == "same"
    for missing in (change(None, 75.0), change(75.0, None), change_of(None)):
        assert (missing.direction, missing.arrow, missing.verdict) == (None, "", None)
        assert missing.css == "none"
    for missing in (change(75.0, None), change_of(None), change(None, None)):
        assert missing.text("Oct 2026") == "No earlier figure"
        assert missing.amount == "no earlier figure"
    # This period has no figure, the earlier one has: say so, not "no earlier figure"
    # (issue 15: October's 85.3 % is there, November has none).
    gone = change(None, 85.3)
    assert gone.text("Oct 2026") == "No figure this period · was 85.3 in Oct 2026"
    assert gone.amount == "no figure this period (was 85.3)"


def test_lower_is_better_and_other_units():
    overdue = change(5, 2, "", higher_is_better=False)
    assert overdue.text() == "▲ +3 up · worse"
    assert change(2, 5, "", higher_is_better=False).verdict == "better"
    assert change_of(5.0, "").text() == "▲ +5 up · better"
    assert change_of(-2.55).amount == "−2.6 points"


# --- statuses --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rag", "css", "symbol", "word"),
    [
        ("green", "good", "●", "Green"),
        ("amber", "warn", "◆", "Amber"),
        ("red", "bad", "✖", "Red"),
        (Rag.GREEN, "good", "●", "Green"),
        (Rag.RED, "bad", "✖", "Red"),
        (None, "none", "○", "Not enough data"),
        ("", "none", "○", "Not enough data"),
    ],
)
def test_rag_badge(rag, css, symbol, word):
    badge = rag_badge(rag)
    assert (badge.css, badge.symbol, badge.word) == (css, symbol, word)
    assert str(badge) == f"{symbol} {word}"


@pytest.mark.parametrize(
    ("status", "text"),
    [
        ("met", "● Met"),
        ("at risk", "◆ At risk"),
        ("breached", "✖ Breached"),
        ("missing", "○ Missing"),
        ("n/a", "– Not applicable"),
        (Status.NOT_APPLICABLE, "– Not applicable"),
        (Status.BREACHED, "✖ Breached"),
        ("proposed", "◌ Proposed"),
    ],
)
def test_sla_badge(status, text):
    assert str(sla_badge(status)) == text


def test_a_status_and_a_rag_of_the_same_judgement_share_the_symbol():
    assert sla_badge("met").symbol == rag_badge("green").symbol == formatting.SYMBOL["good"]
    assert sla_badge("at risk").symbol == rag_badge("amber").symbol == formatting.SYMBOL["warn"]
    assert sla_badge("breached").symbol == rag_badge("red").symbol == formatting.SYMBOL["bad"]


# --- the same writer in every template -------------------------------------------------------


def test_the_web_macro_writes_the_change_and_its_tail(app):
    template = app.jinja_env.from_string(
        '{% from "_format.html" import change_since, rag_mark %}'
        "{{ change_since(change(66, 75), since='Sep 2026') }}|"
        "{{ change_since(change(75, None), empty='No earlier review') }}|"
        "{% call change_since(change_of(3.46), cls='tile-change') %} — noisy{% endcall %}|"
        "{{ rag_mark('amber') }}"
    )
    parts = template.render().split("|")
    assert parts[0] == (
        '<div class="ov-change is-down"><span aria-hidden="true">▼</span> '
        "−9 points down since Sep 2026 · worse</div>"
    )
    assert parts[1] == '<div class="ov-change is-none">No earlier review</div>'
    assert parts[2] == (
        '<div class="tile-change is-up"><span aria-hidden="true">▲</span> '
        "+3.5 points up · better — noisy</div>"
    )
    assert parts[3] == '<span aria-hidden="true">◆</span> Amber'


def test_the_print_environment_has_the_same_filters_and_globals():
    env = environment()
    rendered = env.from_string(
        "{{ -9|number }} {{ 44.6|signed }} {{ 87.35|percent }} {{ change(75, 72).text() }} "
        "{{ rag_badge('red') }} {{ sla_badge('missing') }}"
    ).render()
    assert rendered == "−9 +44.6 87.4% ▲ +3 points up · better ✖ Red ○ Missing"


def test_no_template_hides_a_formatting_global_behind_its_own_macro():
    names = "|".join(formatting.GLOBALS)
    shadow = re.compile(rf"{{%-?\s*(?:macro|set)\s+({names})\b")
    for folder in ("templates", "reports"):
        for path in (ROOT / folder).rglob("*.html"):
            found = shadow.findall(path.read_text(encoding="utf-8"))
            assert not found, f"{path.relative_to(ROOT)} redefines {found}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nov 2026", (2026, 11)),
        ("november 2026", (2026, 11)),
        (" Sept. 2025 ", (2025, 9)),
        ("2026-03", (2026, 3)),
        ("2026-3", (2026, 3)),
    ],
)
def test_a_month_is_read_as_pages_show_it_or_as_links_carry_it(text, expected):
    assert read_month(text) == expected


@pytest.mark.parametrize("text", ["", "13/2025", "2026-13", "Smarch 2026", "Nov", "11 2026"])
def test_what_is_not_a_month_is_refused(text):
    with pytest.raises(NotADate):
        read_month(text)
