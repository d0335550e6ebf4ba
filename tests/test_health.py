"""The health score (PRODUCT.md §3): every branch, with figures worked by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mls_tracker.services.health import (
    DEFAULT_WEIGHTS,
    ComponentKey,
    Rag,
    health_score,
    rag,
    satisfaction_component,
)

SLA, SAT, ACT, COV = (
    ComponentKey.SLA,
    ComponentKey.SATISFACTION,
    ComponentKey.ACTIONS,
    ComponentKey.COVERAGE,
)


def test_all_components_with_the_default_weights():
    # 0.40·90 + 0.25·80 + 0.20·50 + 0.15·100 = 36 + 20 + 10 + 15 = 81
    result = health_score({SLA: 90, SAT: 80, ACT: 50, COV: 100})
    assert result.score == pytest.approx(81.0)
    assert result.rag == Rag.GREEN
    assert result.left_out == ()
    assert [c.effective_weight for c in result.components] == pytest.approx(
        [0.40, 0.25, 0.20, 0.15]
    )


def test_a_component_without_data_is_left_out_and_the_weights_renormalised():
    # Satisfaction missing: (40·90 + 20·50 + 15·100) / 75 = (3600 + 1000 + 1500) / 75 = 81.33…
    # → 81 (the score is a whole number)
    result = health_score({SLA: 90, SAT: None, ACT: 50, COV: 100})
    assert result.score == 81
    assert [c.key for c in result.left_out] == [SAT]
    assert result.component(SAT).effective_weight is None
    assert result.component(SLA).effective_weight == pytest.approx(40 / 75)
    assert sum(c.effective_weight or 0 for c in result.components) == pytest.approx(1)


def test_no_data_at_all_gives_no_score():
    result = health_score({SLA: None, SAT: None, ACT: None, COV: None})
    assert (result.score, result.rag) == (None, None)
    assert len(result.left_out) == 4


def test_only_zero_weights_on_the_components_with_data_gives_no_score():
    weights = {SLA: 0, SAT: 0, ACT: Decimal(50), COV: Decimal(50)}
    result = health_score({SLA: 90, SAT: 70, ACT: None, COV: None}, weights)
    assert result.score is None


def test_custom_weights():
    # (10·100 + 0·0 + 30·60 + 60·50) / 100 = (1000 + 1800 + 3000) / 100 = 58 → red
    weights = {SLA: Decimal(10), SAT: Decimal(0), ACT: Decimal(30), COV: Decimal(60)}
    result = health_score({SLA: 100, SAT: 0, ACT: 60, COV: 50}, weights)
    assert result.score == pytest.approx(58.0)
    assert result.rag == Rag.RED


def test_the_score_is_rounded_half_up_and_rag_follows_the_rounded_score():
    # 0.40·79.5 + 0.25·79.5 + 0.20·79.5 + 0.15·79.5 = 79.5 → 80 → green, as shown.
    assert health_score(dict.fromkeys(ComponentKey, 79.5)).score == 80
    assert health_score(dict.fromkeys(ComponentKey, 79.5)).rag == Rag.GREEN
    assert health_score(dict.fromkeys(ComponentKey, 79.49)).rag == Rag.AMBER
    assert health_score(dict.fromkeys(ComponentKey, 59.5)).score == 60


def test_a_negative_weight_is_refused():
    with pytest.raises(ValueError, match="SLA attainment"):
        health_score({SLA: 50}, {**DEFAULT_WEIGHTS, SLA: Decimal(-1)})


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (100, Rag.GREEN),
        (80, Rag.GREEN),
        (79.99, Rag.AMBER),
        (60, Rag.AMBER),
        (59.99, Rag.RED),
        (0, Rag.RED),
        (None, None),
    ],
)
def test_rag_bands(score, expected):
    assert rag(score) == expected


def test_satisfaction_is_csat_or_the_scaled_mean():
    assert satisfaction_component(72.5, 4.1) == 72.5
    assert satisfaction_component(None, 1) == 0
    assert satisfaction_component(None, 3) == 50
    assert satisfaction_component(None, 4.2) == pytest.approx(80)
    assert satisfaction_component(None, 5) == 100
    assert satisfaction_component(None, None) is None
