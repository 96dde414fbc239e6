"""EM recovers known m from comparison-vector counts, without labels."""

from __future__ import annotations

import numpy as np

from c360.config import ComparisonConfig, ExactLevel, JaroWinklerLevel
from c360.resolve.fellegi_sunter import estimate_m, estimate_prior, estimate_u

COMPARISONS = [
    ComparisonConfig(field=f, levels=[ExactLevel(), JaroWinklerLevel(at_least=0.9)])
    for f in ("key", "name", "city", "dob")
]
TRUE_M = np.array([0.85, 0.1, 0.05])
TRUE_U = np.array([0.01, 0.04, 0.95])


def _simulate(n_match: int, n_non: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    match = rng.choice(3, size=(n_match, 4), p=TRUE_M)
    non = rng.choice(3, size=(n_non, 4), p=TRUE_U)
    match[:, 0] = 0  # every candidate agrees on the blocking key
    non[:, 0] = 0
    vectors, counts = np.unique(np.vstack([match, non]), axis=0, return_counts=True)
    return vectors.astype(np.int8), counts.astype(np.int64)


def test_em_recovers_m_within_a_few_points() -> None:
    vectors, counts = _simulate(20_000, 60_000)
    u = [tuple(TRUE_U)] * 4
    m, sessions = estimate_m(COMPARISONS, vectors, counts, u, [("key",)])
    assert len(sessions) == 1
    assert abs(sessions[0].match_share - 0.25) < 0.02
    for field in (1, 2, 3):
        assert np.allclose(m[field], TRUE_M, atol=0.02), m[field]


def test_prior_is_expected_matches_over_all_pairs() -> None:
    vectors, counts = _simulate(20_000, 60_000)
    m = [tuple(TRUE_M)] * 4
    u = [tuple(TRUE_U)] * 4
    total_pairs = 20_000 * 1_000.0
    prior = estimate_prior(vectors[:, 1:], counts, m[1:], u[1:], total_pairs)
    # Scoring against all pairs, the 60k candidates that are non-matches are a small share.
    assert 0.8 * 20_000 / total_pairs < prior < 1.2 * 20_000 / total_pairs


def test_u_of_an_exact_level_comes_from_value_frequencies() -> None:
    vectors = np.array([[0, 0, 0, 0], [2, 2, 2, 2]], dtype=np.int8)
    counts = np.array([1, 999_999], dtype=np.int64)
    u = estimate_u(COMPARISONS, vectors, counts, {"key": 0.002})
    assert abs(u[0][0] - 0.002) < 1e-6
    assert abs(sum(u[0]) - 1.0) < 1e-9
    assert u[1][1] > 0  # a level never seen in the sample is rare, not impossible
