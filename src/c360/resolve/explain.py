"""Why two records are, or are not, the same customer: rule, or each field's level and weight.

`explain_pair` scores one pair in Python with the same level definitions and weights as the
batch engine; tests hold the two to the same match weight. `PairScorer` is the same scoring,
prepared once for many pairs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from c360.config import MatchRule
from c360.resolve.fellegi_sunter import MatchModel
from c360.resolve.levels import NULL_LEVEL, comparator, level_label, rule_test

__all__ = ["Explanation", "FieldExplanation", "PairScorer", "explain_pair"]

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


class PairScorer:
    """A model and its deterministic rules made ready for many pairs: each level's test and
    weight worked out once. `explain` says why for one pair; `score` gives only the outcome,
    for real-time resolution, which scores dozens of pairs per write."""

    def __init__(self, model: MatchModel, rules: Sequence[MatchRule]) -> None:
        self._rules = [(r.name, rule_test(r.all)) for r in rules]
        self._fields = [
            (p, comparator(p.comparison), tuple(p.weight(n) for n in range(len(p.m))))
            for p in model.fields
        ]
        self.prior_weight = model.prior_weight

    def rule(self, left: Mapping[str, Any], right: Mapping[str, Any]) -> str | None:
        """The first deterministic rule that holds for the pair."""
        return next((name for name, holds in self._rules if holds(left, right)), None)

    def score(
        self, left: Mapping[str, Any], right: Mapping[str, Any], term_frequency: TermFrequency
    ) -> tuple[str | None, list[int], float]:
        """The pair's rule (if one holds), each field's level (in the model's order) and its
        match probability: `explain`'s, added up in the same order."""
        levels = []
        total = self.prior_weight
        for params, level_of, weights in self._fields:
            level = level_of(left, right)
            levels.append(level)
            if level == NULL_LEVEL:
                continue
            if level == 0 and params.tf_adjusted:
                field = params.comparison.field
                total += params.weight(0, term_frequency(field, left[field]))
            else:
                total += weights[level]
        return self.rule(left, right), levels, 1.0 / (1.0 + 2.0 ** (-total))

    def explain(
        self, left: Mapping[str, Any], right: Mapping[str, Any], term_frequency: TermFrequency
    ) -> Explanation:
        fields = []
        total = self.prior_weight
        for params, level_of, _ in self._fields:
            c = params.comparison
            level = level_of(left, right)
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
        return Explanation(
            self.rule(left, right), tuple(fields), self.prior_weight, total, probability
        )


def explain_pair(
    model: MatchModel,
    rules: Sequence[MatchRule],
    left: Mapping[str, Any],
    right: Mapping[str, Any],
    term_frequency: TermFrequency,
) -> Explanation:
    return PairScorer(model, rules).explain(left, right, term_frequency)
