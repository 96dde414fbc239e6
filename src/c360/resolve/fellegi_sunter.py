"""Fellegi–Sunter matching: u by random sampling, m by EM, term-frequency adjustment.

For each comparison, level k has m_k = P(level k | same person) and u_k = P(level k | different
people); a pair's match weight is log2(λ/(1-λ)) + Σ log2(m/u) over its non-null levels.

Training needs no labels:

- **u** from comparisons of random record pairs (nearly all are different people). The u of an
  exact level is computed exactly from value frequencies instead, since a million random pairs
  rarely agree on an email by chance.
- **m** by expectation–maximisation over the candidate pairs, run on *counts of distinct
  comparison vectors* (a few thousand rows) rather than on every pair. Within the candidates
  both m and u are free: non-matches that blocking selected agree more often than random pairs,
  and fixing u there would credit that agreement to matches. Only m is kept; the scoring u is
  the random-pair u, and λ is the expected number of matches over all possible pairs.
- Optional **labelled pairs** join EM with fixed responsibilities (1 for a match, 0 for not).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from c360.config import ComparisonConfig, ExactLevel
from c360.engines.base import FieldWeights
from c360.resolve.levels import NULL_LEVEL

__all__ = ["FieldParameters", "MatchModel", "estimate_m", "estimate_u"]

_PROB_FLOOR = 1e-6


@dataclass(frozen=True)
class FieldParameters:
    comparison: ComparisonConfig
    m: tuple[float, ...]
    u: tuple[float, ...]

    @property
    def field(self) -> str:
        return self.comparison.field

    @property
    def tf_adjusted(self) -> bool:
        return self.comparison.term_frequency and isinstance(self.comparison.levels[0], ExactLevel)

    def level_weights(self) -> tuple[float, ...]:
        return tuple(math.log2(m / u) for m, u in zip(self.m, self.u, strict=True))

    def weight(self, level: int, tf: float | None = None) -> float:
        """Match weight of a level; with `tf`, an exact agreement on a value of that frequency."""
        if level == NULL_LEVEL:
            return 0.0
        if level == 0 and tf is not None and self.tf_adjusted:
            return math.log2(self.m[0] / max(tf, TF_FLOOR))
        return math.log2(self.m[level] / self.u[level])


TF_FLOOR = 1e-9


@dataclass(frozen=True)
class MatchModel:
    """A trained model: parameters per comparison and the prior λ = P(random pair matches)."""

    fields: tuple[FieldParameters, ...]
    prior: float
    em_iterations: int
    candidate_match_share: float

    @property
    def prior_weight(self) -> float:
        return math.log2(self.prior / (1.0 - self.prior))

    @property
    def comparisons(self) -> list[ComparisonConfig]:
        return [f.comparison for f in self.fields]

    def field_weights(self) -> list[FieldWeights]:
        return [
            FieldWeights(
                field=f.field,
                level_weights=f.level_weights(),
                tf_m_exact=f.m[0] if f.tf_adjusted else None,
                tf_u_floor=TF_FLOOR,
            )
            for f in self.fields
        ]

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "prior": self.prior,
            "em_iterations": self.em_iterations,
            "candidate_match_share": self.candidate_match_share,
            "fields": [
                {"comparison": f.comparison.model_dump(mode="json"), "m": f.m, "u": f.u}
                for f in self.fields
            ],
        }
        return json.dumps(data, indent=2)

    @classmethod
    def from_json(cls, text: str) -> MatchModel:
        data = json.loads(text)
        return cls(
            fields=tuple(
                FieldParameters(
                    comparison=ComparisonConfig.model_validate(f["comparison"]),
                    m=tuple(f["m"]),
                    u=tuple(f["u"]),
                )
                for f in data["fields"]
            ),
            prior=float(data["prior"]),
            em_iterations=int(data["em_iterations"]),
            candidate_match_share=float(data["candidate_match_share"]),
        )


def _normalise(counts: npt.NDArray[np.float64]) -> tuple[float, ...]:
    total = float(counts.sum())
    probs = counts / total if total > 0 else np.full(len(counts), 1.0 / len(counts))
    probs = np.maximum(probs, _PROB_FLOOR)
    return tuple(float(p) for p in probs / probs.sum())


def estimate_u(
    comparisons: Sequence[ComparisonConfig],
    vectors: npt.NDArray[np.int8],
    counts: npt.NDArray[np.int64],
    exact_agreement: dict[str, float],
) -> list[tuple[float, ...]]:
    """u per level from random-pair vector counts; exact levels from value frequencies."""
    result = []
    for i, c in enumerate(comparisons):
        k = len(c.levels) + 1
        g = vectors[:, i]
        level_counts = np.array([counts[g == level].sum() for level in range(k)], dtype=np.float64)
        if isinstance(c.levels[0], ExactLevel) and c.field in exact_agreement:
            u0 = min(max(exact_agreement[c.field], _PROB_FLOOR), 1 - _PROB_FLOOR)
            rest = (
                level_counts[1:] + 0.5
            )  # half a pair each: a level never seen is rare, not impossible
            rest = rest / rest.sum() * (1.0 - u0)
            result.append(_normalise(np.concatenate([[u0], rest])))
        else:
            result.append(_normalise(level_counts + 0.5))
    return result


def _initial_m(comparison: ComparisonConfig) -> npt.NDArray[np.float64]:
    # Most matches agree exactly; the rest spread over the weaker levels, 'else' least.
    k = len(comparison.levels) + 1
    m = np.array([0.9] + [0.1 / k] * (k - 2) + [0.1 / (2 * k)], dtype=np.float64)
    return np.asarray(m / m.sum(), dtype=np.float64)


def estimate_m(
    comparisons: Sequence[ComparisonConfig],
    vectors: npt.NDArray[np.int8],
    counts: npt.NDArray[np.int64],
    u_random: Sequence[tuple[float, ...]],
    *,
    labelled_vectors: npt.NDArray[np.int8] | None = None,
    labels: npt.NDArray[np.bool_] | None = None,
    max_iterations: int = 100,
    tolerance: float = 1e-6,
) -> tuple[list[tuple[float, ...]], float, int]:
    """EM over distinct comparison vectors. Returns (m per field, match share, iterations)."""
    n_fields = len(comparisons)
    if labelled_vectors is not None and labels is not None and len(labels):
        vectors = np.concatenate([vectors, labelled_vectors])
        counts = np.concatenate([counts, np.ones(len(labels), dtype=np.int64)])
        fixed = np.concatenate(
            [np.full(len(counts) - len(labels), np.nan), labels.astype(np.float64)]
        )
    else:
        fixed = np.full(len(counts), np.nan)
    weights = counts.astype(np.float64)
    m = [_initial_m(c) for c in comparisons]
    u = [np.asarray(p, dtype=np.float64) for p in u_random]
    share = 0.1
    iterations = 0
    masks = [
        [vectors[:, i] == level for level in range(len(c.levels) + 1)]
        for i, c in enumerate(comparisons)
    ]
    for iterations in range(1, max_iterations + 1):  # noqa: B007 - reported to the user
        log_m = np.full(len(weights), math.log(share))
        log_u = np.full(len(weights), math.log(1 - share))
        for i in range(n_fields):
            g = vectors[:, i].astype(np.int64)
            present = g != NULL_LEVEL
            idx = np.where(present, g, 0)
            log_m += np.where(present, np.log(m[i][idx]), 0.0)
            log_u += np.where(present, np.log(u[i][idx]), 0.0)
        resp = 1.0 / (1.0 + np.exp(np.clip(log_u - log_m, -700, 700)))
        resp = np.where(np.isnan(fixed), resp, fixed)
        w_match, w_non = weights * resp, weights * (1 - resp)
        new_share = float(w_match.sum() / weights.sum())
        new_share = min(max(new_share, _PROB_FLOOR), 1 - _PROB_FLOOR)
        change = abs(new_share - share)
        new_m, new_u = [], []
        for i in range(n_fields):
            cm = np.array([w_match[mask].sum() for mask in masks[i]])
            cu = np.array([w_non[mask].sum() for mask in masks[i]])
            nm = np.asarray(_normalise(cm), dtype=np.float64)
            nu = np.asarray(_normalise(cu), dtype=np.float64)
            change = max(change, float(np.abs(nm - m[i]).max()), float(np.abs(nu - u[i]).max()))
            new_m.append(nm)
            new_u.append(nu)
        m, u, share = new_m, new_u, new_share
        if change < tolerance:
            break
    return [tuple(float(x) for x in mi) for mi in m], share, iterations
