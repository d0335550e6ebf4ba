"""Whether a column's answers fit a field of a survey response: the column guesser proposes a
column for a field only when its values could be that field's, whatever its question says
("How likely are your kids to participate?" answered 1–5 is not a recommend score)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

#: Answers of a yes/no (or true/false) question, lower case: never a program, region or comment.
YES_NO = frozenset(
    {"yes", "no", "y", "n", "true", "false", "maybe", "not sure", "unsure", "don't know", "n/a"}
)
#: A comment is free text: some answer at least this long, or of at least three words.
COMMENT_MIN_CHARS = 15
COMMENT_MIN_WORDS = 3
#: A program or region is a short label: none longer than LABEL_MAX_CHARS, and not more than
#: LABEL_MAX_DISTINCT different answers that are mostly sentences (LABEL_MAX_WORDS words+).
LABEL_MAX_CHARS = 100
LABEL_MAX_DISTINCT = 12
LABEL_MAX_WORDS = 6

#: text → the number it stands for on a field's scale (a whole number, or a choice text such
#: as "10 - Extremely likely" or "Very satisfied"), None when it stands for none.
ScaleNumber = Callable[[str, str], int | None]


def _is_yes_no(values: Sequence[str]) -> bool:
    return all(v.strip().lower() in YES_NO for v in values)


def _numbers(name: str, values: Sequence[str], number: ScaleNumber) -> list[int] | None:
    found = [number(name, v) for v in values]
    return None if any(n is None for n in found) else [n for n in found if n is not None]


def values_fit(name: str, values: Sequence[str], number: ScaleNumber) -> bool:
    """Whether ``values`` (distinct answers from a column's first rows) could be ``name``'s.
    A column without answers in its first rows fits: nothing says otherwise."""
    if not values:
        return True
    if name == "recommend":
        # 0–10, and the top of the scale in use: a 1–5 question is not a 0–10 one.
        numbers = _numbers(name, values, number)
        return numbers is not None and all(0 <= n <= 10 for n in numbers) and max(numbers) > 5
    if name == "rating":
        numbers = _numbers(name, values, number)
        return numbers is not None and all(0 <= n <= 10 for n in numbers)
    if name == "comment":
        if _is_yes_no(values) or all(v.replace(".", "", 1).isdigit() for v in values):
            return False
        return any(
            len(v) >= COMMENT_MIN_CHARS or len(v.split()) >= COMMENT_MIN_WORDS for v in values
        )
    if name in ("program", "region"):
        if _is_yes_no(values) or all(v.isdigit() for v in values):
            return False
        if any(len(v) > LABEL_MAX_CHARS for v in values):
            return False
        # Many different sentences are answers to an open question, not labels.
        sentences = sum(len(v.split()) >= LABEL_MAX_WORDS for v in values)
        return not (len(values) > LABEL_MAX_DISTINCT and sentences * 2 > len(values))
    return True
