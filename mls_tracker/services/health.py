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

Default weights 40 / 25 / 20 / 15, editable per partnership. The score is computed from the
*unrounded* components and rounded half up once, to a whole number, for display; RAG is
judged on that number (a page never shows "80" in amber). A component with no data is left
out and the remaining weights are re-normalised, and the result says which were left out so
that pages and scorecards can say so. **RAG**: green ≥ 80, amber ≥ 60, red below.

**Not enough data**: the score is shown only when the components with data carry at least
``MIN_WEIGHT_SHARE`` (half) of the partnership's weight; otherwise there is no score and
``HealthScore.missing_text`` names what is missing. With no component at all (or only zero
weights), there is no score either.

**Like for like**: a change since an earlier period compares the two periods on the
components both have (``compare``), and says so when that is fewer than the score shown.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

GREEN_FROM = 80.0
AMBER_FROM = 60.0
# A score needs components with data carrying at least this share of the weight.
MIN_WEIGHT_SHARE = 0.5
NOT_ENOUGH_DATA = "Not enough data"


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


_NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four"}


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def whole(value: float) -> float:
    """``value`` rounded half up to a whole number (54.4985 → 54, 79.5 → 80), from its
    value to 9 decimals so that a float sum a hair below .5 (79.49999999999999) is .5."""
    return float(Decimal(repr(round(float(value), 9))).quantize(Decimal(1), ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class HealthScore:
    score: float | None  # a whole number, rounded half up once from ``exact``
    rag: Rag | None
    components: tuple[Component, ...]
    exact: float | None = None  # the unrounded weighted mean (None with ``score``)
    data_share: float = 0.0  # share of the weight carried by components with data (0–1)

    @property
    def left_out(self) -> tuple[Component, ...]:
        """Components without data, which the score does not include."""
        return tuple(c for c in self.components if not c.has_data)

    @property
    def present(self) -> tuple[ComponentKey, ...]:
        return tuple(c.key for c in self.components if c.has_data)

    @property
    def not_enough_data(self) -> bool:
        """No score because too little of the weight has data (PRODUCT.md §3)."""
        return self.score is None

    @property
    def missing_text(self) -> str:
        """What is missing, for a "Not enough data" in place of the score; "" with a score:
        "SLA attainment, Learner satisfaction and Action plan health have no data yet (85 %
        of the weight); a score needs at least 50 %."."""
        if self.score is not None:
            return ""
        missing = [c for c in self.components if not c.has_data and c.weight > 0]
        total = sum(c.weight for c in self.components)
        if not missing or total <= 0:
            return "No component carries any weight."
        share = sum(c.weight for c in missing) / total * 100
        verb = "has" if len(missing) == 1 else "have"
        names = [c.label if i == 0 else _lower(c.label) for i, c in enumerate(missing)]
        return (
            f"{_and(names)} {verb} no data yet "
            f"({_share(share)} % of the weight); a score needs at least "
            f"{_share(MIN_WEIGHT_SHARE * 100)} %."
        )

    def component(self, key: ComponentKey) -> Component:
        return next(c for c in self.components if c.key == key)


def _lower(label: str) -> str:
    """A label inside a sentence: "learner satisfaction", but "SLA attainment"."""
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


def _share(percent: float) -> str:
    text = f"{Decimal(repr(round(percent, 6))).quantize(Decimal('0.1'), ROUND_HALF_UP)}"
    return text[:-2] if text.endswith(".0") else text


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
    all_weight = sum(float(weights.get(key, 0)) for key in ComponentKey)
    share = total / all_weight if all_weight > 0 else 0.0
    score = exact = None
    if total > 0 and share >= MIN_WEIGHT_SHARE - 1e-9:
        exact = sum(float(values[key]) * weight for key, weight in present.items()) / total
        exact = max(0.0, min(100.0, exact))
        # Rounded once, from the unrounded parts; RAG is judged on the number shown.
        score = whole(exact)
    components = tuple(
        Component(
            key=key,
            value=None if values.get(key) is None else float(values[key]),
            weight=float(weights.get(key, 0)),
            effective_weight=(present[key] / total) if key in present and total > 0 else None,
        )
        for key in ComponentKey
    )
    return HealthScore(
        score=score, rag=rag(score), components=components, exact=exact, data_share=share
    )


@dataclass(frozen=True, slots=True)
class HealthChange:
    """Two periods' scores on the components both have, and the change between them."""

    now: float | None  # whole numbers, on ``keys`` only
    before: float | None
    keys: tuple[ComponentKey, ...]  # the components both periods have data for
    partial: bool  # fewer components than the score shown now (or before) has

    @property
    def delta(self) -> float | None:
        return None if self.now is None or self.before is None else self.now - self.before

    @property
    def note(self) -> str:
        """ "compared on the three parts both months have (60 → 66)" when not every part is
        in both; "" otherwise (``note_for("quarters")`` for another period word)."""
        return self.note_for("months")

    def note_for(self, periods: str = "months") -> str:
        if not self.partial or self.delta is None:
            return ""
        count = _NUMBER_WORDS.get(len(self.keys), str(len(self.keys)))
        noun = "part" if len(self.keys) == 1 else "parts"
        return (
            f"compared on the {count} {noun} both {periods} have "
            f"({self.before:.0f} → {self.now:.0f})"
        )


def compare(now: HealthScore | None, before: HealthScore | None) -> HealthChange:
    """The change from ``before`` to ``now``, like for like: when the two scores are made of
    different components, both are recomputed on the components present in both (with each
    period's weights), so a part left out this month does not read as a fall. No change when
    either has no score or the common components carry too little of the weight."""
    if now is None or before is None or now.score is None or before.score is None:
        return HealthChange(None, None, (), False)
    keys = tuple(k for k in now.present if k in before.present)
    if keys == now.present == before.present:
        return HealthChange(now.score, before.score, keys, False)

    def on_common(score: HealthScore) -> float | None:
        values = {c.key: (c.value if c.key in keys else None) for c in score.components}
        weights = {c.key: c.weight for c in score.components}
        return health_score(values, weights).score

    return HealthChange(on_common(now), on_common(before), keys, True)


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
