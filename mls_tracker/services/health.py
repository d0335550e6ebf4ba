"""The health score (PRODUCT.md §3), from its four components.

    health = Σ weightᵢ · componentᵢ / Σ weightᵢ     over the components that have data

Components, each 0–100:

- **SLA attainment** — weighted share of SLAs met among those with a confirmed measurement
  for the period (``sla_figures.attainment``);
- **satisfaction** — CSAT; when only a mean rating is known, the mean scaled to 0–100 as
  ``(mean − 1) / 4 × 100`` (1 → 0, 3 → 50, 5 → 100);
- **action plan health** — items closed on time ÷ items due in the period
  (``action_figures``);
- **sponsor coverage** — regions in scope with an active client sponsor ÷ regions in scope.

Default weights 40 / 25 / 20 / 15, editable per partnership. The score is a whole number
(rounded half up) and RAG is judged on it. A component with no data is left out and the
remaining weights are re-normalised, and the result says which were left out so
that pages and scorecards can say so. **RAG**: green ≥ 80, amber ≥ 60, red below. With no
component at all (or only zero weights), there is no score.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

GREEN_FROM = 80.0
AMBER_FROM = 60.0


class Rag(enum.StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"

    @property
    def label(self) -> str:
        return {"green": "Green", "amber": "Amber", "red": "Red"}[self.value]


class ComponentKey(enum.StrEnum):
    SLA = "sla"
    SATISFACTION = "satisfaction"
    ACTIONS = "actions"
    COVERAGE = "coverage"

    @property
    def label(self) -> str:
        return COMPONENT_LABELS[self]


COMPONENT_LABELS = {
    ComponentKey.SLA: "SLA attainment",
    ComponentKey.SATISFACTION: "Learner satisfaction",
    ComponentKey.ACTIONS: "Action plan health",
    ComponentKey.COVERAGE: "Sponsor coverage",
}
DEFAULT_WEIGHTS = {
    ComponentKey.SLA: Decimal(40),
    ComponentKey.SATISFACTION: Decimal(25),
    ComponentKey.ACTIONS: Decimal(20),
    ComponentKey.COVERAGE: Decimal(15),
}


def rag(score: float | None) -> Rag | None:
    if score is None:
        return None
    if score >= GREEN_FROM:
        return Rag.GREEN
    if score >= AMBER_FROM:
        return Rag.AMBER
    return Rag.RED


def satisfaction_component(csat: float | None, mean_rating: float | None) -> float | None:
    """CSAT when known, else the 1–5 mean rating scaled to 0–100."""
    if csat is not None:
        return float(csat)
    if mean_rating is not None:
        return (float(mean_rating) - 1) / 4 * 100
    return None


@dataclass(frozen=True, slots=True)
class Component:
    key: ComponentKey
    value: float | None  # 0–100, None when there is no data
    weight: float  # as set for the partnership
    effective_weight: float | None  # share of the score after re-normalising (0–1)

    @property
    def label(self) -> str:
        return self.key.label

    @property
    def has_data(self) -> bool:
        return self.value is not None


@dataclass(frozen=True, slots=True)
class HealthScore:
    score: float | None
    rag: Rag | None
    components: tuple[Component, ...]

    @property
    def left_out(self) -> tuple[Component, ...]:
        """Components without data, which the score does not include."""
        return tuple(c for c in self.components if not c.has_data)

    def component(self, key: ComponentKey) -> Component:
        return next(c for c in self.components if c.key == key)


def health_score(
    values: dict[ComponentKey, float | None],
    weights: dict[ComponentKey, Decimal | float] | None = None,
) -> HealthScore:
    """The weighted mean of the components that have data, re-normalised."""
    weights = weights or DEFAULT_WEIGHTS
    for key, weight in weights.items():
        if weight < 0:
            raise ValueError(f"the weight of {key.label} is negative")
    present = {
        key: float(weights.get(key, 0)) for key in ComponentKey if values.get(key) is not None
    }
    total = sum(present.values())
    score = None
    if total > 0:
        score = sum(float(values[key]) * weight for key, weight in present.items()) / total
        # The score is a whole number, rounded half up, and RAG is judged on that number:
        # a page never shows "80" in amber.
        score = float(math.floor(max(0.0, min(100.0, score)) + 0.5))
    components = tuple(
        Component(
            key=key,
            value=None if values.get(key) is None else float(values[key]),
            weight=float(weights.get(key, 0)),
            effective_weight=(present[key] / total) if key in present and total > 0 else None,
        )
        for key in ComponentKey
    )
    return HealthScore(score=score, rag=rag(score), components=components)


# The partnership's column holding each component's weight.
WEIGHT_COLUMNS = {
    ComponentKey.SLA: "weight_sla",
    ComponentKey.SATISFACTION: "weight_satisfaction",
    ComponentKey.ACTIONS: "weight_actions",
    ComponentKey.COVERAGE: "weight_coverage",
}


def partnership_weights(partnership: Any) -> dict[ComponentKey, Decimal]:
    """The weights set on a partnership (its ``weight_*`` columns)."""
    return {key: getattr(partnership, column) for key, column in WEIGHT_COLUMNS.items()}
