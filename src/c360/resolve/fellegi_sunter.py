"""Fellegi–Sunter matching: u by random sampling, m by EM, term-frequency adjustment.

For each comparison, level k has m_k = P(level k | same person) and u_k = P(level k | different
people); a pair's match weight is log2(λ/(1-λ)) + Σ log2(m/u) over its non-null levels.

Training needs no labels:

- **u** from comparisons of random record pairs (nearly all are different people). The u of an
  exact level is computed exactly from value frequencies instead, since a million random pairs
  rarely agree on an email by chance.
- **m** by expectation–maximisation with u fixed, run on *counts of distinct comparison
  vectors* (a few thousand rows) rather than on every pair, in sessions: one per strong
  blocking key, over the candidates agreeing on that key, learning m for the other fields.
- **λ** as the fixed point of (expected matches among the candidates) / (all pairs).
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

__all__ = [
    "FieldParameters",
    "MatchModel",
    "TrainingSession",
    "estimate_m",
    "estimate_prior",
    "estimate_u",
]

_PROB_FLOOR = 1e-6


@dataclass(frozen=True)
class TrainingSession:
    """One EM run: candidate pairs agreeing exactly on `fixed`, whose m it cannot learn."""

    fixed: tuple[str, ...]
    pairs: int
    iterations: int
    match_share: float


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
    sessions: tuple[TrainingSession, ...] = ()

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
            "sessions": [
                {
                    "fixed": list(t.fixed),
                    "pairs": t.pairs,
                    "iterations": t.iterations,
                    "match_share": t.match_share,
                }
                for t in self.sessions
            ],
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
            sessions=tuple(
                TrainingSession(
                    tuple(t["fixed"]),
                    int(t["pairs"]),
                    int(t["iterations"]),
                    float(t["match_share"]),
                )
                for t in data.get("sessions", [])
            ),
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


def _log_likelihood(
    vectors: npt.NDArray[np.int8], probs: Sequence[npt.NDArray[np.float64]]
) -> npt.NDArray[np.float64]:
    total = np.zeros(len(vectors))
    for i, p in enumerate(probs):
        g = vectors[:, i].astype(np.int64)
        present = g >= 0
        total += np.where(present, np.log(p[np.where(present, g, 0)]), 0.0)
    return total


def _em(
    vectors: npt.NDArray[np.int8],
    counts: npt.NDArray[np.float64],
    fixed_resp: npt.NDArray[np.float64],
    u: Sequence[npt.NDArray[np.float64]],
    m: list[npt.NDArray[np.float64]],
    max_iterations: int,
    tolerance: float,
) -> tuple[list[npt.NDArray[np.float64]], float, int]:
    """EM for m and the match share, u held fixed (u comes from random pairs)."""
    log_u = _log_likelihood(vectors, u)
    masks = [[vectors[:, i] == level for level in range(len(mi))] for i, mi in enumerate(m)]
    share, iterations = 0.5, 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 - reported to the user
        log_m = _log_likelihood(vectors, m)
        odds = np.clip(log_u - log_m + math.log((1 - share) / share), -700, 700)
        resp = np.where(np.isnan(fixed_resp), 1.0 / (1.0 + np.exp(odds)), fixed_resp)
        w_match = counts * resp
        new_share = min(max(float(w_match.sum() / counts.sum()), _PROB_FLOOR), 1 - _PROB_FLOOR)
        change = abs(new_share - share)
        new_m = []
        for i, field_masks in enumerate(masks):
            mi = np.asarray(
                _normalise(np.array([w_match[mask].sum() for mask in field_masks])),
                dtype=np.float64,
            )
            change = max(change, float(np.abs(mi - m[i]).max()))
            new_m.append(mi)
        m, share = new_m, new_share
        if change < tolerance:
            break
    return m, share, iterations


def estimate_m(
    comparisons: Sequence[ComparisonConfig],
    vectors: npt.NDArray[np.int8],
    counts: npt.NDArray[np.int64],
    u: Sequence[tuple[float, ...]],
    sessions: Sequence[Sequence[str]],
    *,
    labelled_vectors: npt.NDArray[np.int8] | None = None,
    labels: npt.NDArray[np.bool_] | None = None,
    max_iterations: int = 100,
    tolerance: float = 1e-6,
) -> tuple[list[tuple[float, ...]], list[TrainingSession]]:
    """m per comparison by EM over distinct comparison vectors, one session per key.

    A session takes the candidate pairs that agree exactly on its fields and learns m for the
    other comparisons with u fixed. Among pairs that share, say, an email, agreement on name
    and birth date separates the same person from a family sharing the address — the pair set
    is not dominated by one kind of non-match, which a single EM over all candidates can
    mistake for "match" (every pair at one address). A field's m is the mean over sessions.
    """
    index = {c.field: i for i, c in enumerate(comparisons)}
    sums = [np.zeros(len(c.levels) + 1) for c in comparisons]
    runs = np.zeros(len(comparisons))
    done: list[TrainingSession] = []
    u_arrays = [np.asarray(p, dtype=np.float64) for p in u]
    for fixed in sessions:
        fixed_idx = [index[f] for f in fixed]
        mask = (
            np.all(vectors[:, fixed_idx] == 0, axis=1) if fixed_idx else np.ones(len(vectors), bool)
        )
        if counts[mask].sum() < 10:
            continue
        active = [i for i in range(len(comparisons)) if i not in fixed_idx]
        v = vectors[mask][:, active]
        c = counts[mask].astype(np.float64)
        resp = np.full(len(c), np.nan)
        if labelled_vectors is not None and labels is not None and len(labels):
            v = np.concatenate([v, labelled_vectors[:, active]])
            c = np.concatenate([c, np.ones(len(labels))])
            resp = np.concatenate([resp, labels.astype(np.float64)])
        m, share, iterations = _em(
            v, c, resp, [u_arrays[i] for i in active],
            [_initial_m(comparisons[i]) for i in active], max_iterations, tolerance,
        )  # fmt: skip
        for k, i in enumerate(active):
            sums[i] += m[k]
            runs[i] += 1
        done.append(TrainingSession(tuple(fixed), int(counts[mask].sum()), iterations, share))
    result = []
    for i, comparison in enumerate(comparisons):
        if runs[i]:
            result.append(_normalise(sums[i] / runs[i]))
        else:  # never outside a session's keys: fall back to the prior guess
            result.append(_normalise(_initial_m(comparison)))
    return result, done


def estimate_prior(
    vectors: npt.NDArray[np.int8],
    counts: npt.NDArray[np.int64],
    m: Sequence[tuple[float, ...]],
    u: Sequence[tuple[float, ...]],
    total_pairs: float,
    iterations: int = 200,
) -> float:
    """λ = P(two random records match): the fixed point of expected matches / all pairs.

    With the global λ and random-pair u, a candidate's posterior is its probability of being a
    match among *all* pairs; pairs blocking did not select are taken as non-matches.
    """
    if len(counts) == 0 or total_pairs <= 0:
        return _PROB_FLOOR
    log_ratio = _log_likelihood(vectors, [np.asarray(x) for x in u]) - _log_likelihood(
        vectors, [np.asarray(x) for x in m]
    )
    n = counts.astype(np.float64)
    prior = min(float(n.sum()) / total_pairs, 0.5)
    for _ in range(iterations):
        odds = np.clip(log_ratio + math.log((1 - prior) / prior), -700, 700)
        expected = float((n / (1.0 + np.exp(odds))).sum())
        new = min(max(expected / total_pairs, 1e-12), 0.5)
        if abs(new - prior) <= 1e-9 * prior:
            prior = new
            break
        prior = new
    return prior
