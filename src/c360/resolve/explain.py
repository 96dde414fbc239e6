"""Why two records are, or are not, the same customer: rule, or each field's level and weight.

`explain_pair` scores one pair in Python with the same level definitions and weights as the
batch engine; tests hold the two to the same match weight.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from c360.config import MatchRule
from c360.resolve.fellegi_sunter import MatchModel
from c360.resolve.levels import NULL_LEVEL, criteria_hold, evaluate, level_label

__all__ = ["Explanation", "FieldExplanation", "explain_pair"]

TermFrequency = Callable[[str, str], float | None]


@dataclass(frozen=True)
class FieldExplanation:
    field: str
    left: Any
    right: Any
    level: int
    label: str
    match_weight: float
    term_frequency: float | None


@dataclass(frozen=True)
class Explanation:
    rule: str | None
    fields: tuple[FieldExplanation, ...]
    prior_weight: float
    match_weight: float
    match_probability: float


def explain_pair(
    model: MatchModel,
    rules: Sequence[MatchRule],
    left: Mapping[str, Any],
    right: Mapping[str, Any],
    term_frequency: TermFrequency,
) -> Explanation:
    rule = next((r.name for r in rules if criteria_hold(r.all, left, right)), None)
    fields = []
    total = model.prior_weight
    for params in model.fields:
        c = params.comparison
        level = evaluate(c, left, right)
        tf = None
        if level == 0 and params.tf_adjusted:
            tf = term_frequency(c.field, left[c.field])
        weight = params.weight(level, tf)
        total += weight
        fields.append(
            FieldExplanation(
                field=c.field,
                left=left.get(c.field),
                right=right.get(c.field),
                level=level,
                label=level_label(c, level) if level != NULL_LEVEL else "null",
                match_weight=weight,
                term_frequency=tf,
            )
        )
    probability = 1.0 / (1.0 + 2.0 ** (-total))
    return Explanation(rule, tuple(fields), model.prior_weight, total, probability)
