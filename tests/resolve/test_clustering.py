from __future__ import annotations

import numpy as np

from c360.engines.base import PairsWithin
from c360.resolve.clustering import cluster, connected_components

# left, right, probability, ruled, conflict[, veto]
Pair = tuple[int, int, float, bool, bool] | tuple[int, int, float, bool, bool, bool]


def _run(n: int, pairs: list[Pair]) -> list[int]:
    links = [(k[0], k[1]) for k in pairs if (k[2] >= 0.9 and not k[4]) or k[3]]
    linked = (
        np.array([a for a, _ in links], dtype=np.int64),
        np.array([b for _, b in links], dtype=np.int64),
    )

    def within(label: np.ndarray) -> PairsWithin:
        kept = [k for k in pairs if label[k[0]] >= 0 and label[k[0]] == label[k[1]]]
        return PairsWithin(
            np.array([k[0] for k in kept], dtype=np.int64),
            np.array([k[1] for k in kept], dtype=np.int64),
            np.array([k[2] for k in kept], dtype=np.float64),
            np.array([k[3] for k in kept], dtype=np.bool_),
            np.array([k[4] for k in kept], dtype=np.bool_),
            np.array([k[5] if len(k) > 5 else False for k in kept], dtype=np.bool_),
        )

    result, _ = cluster(n, linked, within, 0.9, 0.5)
    return result.tolist()


def test_connected_components_label_by_smallest_member() -> None:
    labels = connected_components(5, np.array([3, 1]), np.array([4, 3]))
    assert labels.tolist() == [0, 1, 2, 1, 1]


def test_a_weak_chain_does_not_join_two_people() -> None:
    # 0~1 strong, 2~3 strong, 1~2 just over threshold, but 0-2, 0-3, 1-3 compared and far apart.
    pairs = [
        (0, 1, 0.999, False, False),
        (2, 3, 0.999, False, False),
        (1, 2, 0.91, False, False),
        (0, 2, 0.01, False, False),
        (0, 3, 0.01, False, False),
        (1, 3, 0.02, False, False),
    ]
    assert _run(4, pairs) == [0, 0, 2, 2]


def test_plain_transitive_links_do_join() -> None:
    assert _run(3, [(0, 1, 0.99, False, False), (1, 2, 0.99, False, False)]) == [0, 0, 0]


def test_a_conflicting_pair_keeps_two_groups_apart() -> None:
    # 0-1 and 1-2 are strong links, but 0 and 2 conflict (say, two different national ids).
    pairs = [
        (0, 1, 0.999, False, False),
        (1, 2, 0.99, False, False),
        (0, 2, 0.95, False, True),
    ]
    assert _run(3, pairs) == [0, 0, 2]


def test_a_conflict_is_never_a_link_unless_a_rule_says_so() -> None:
    assert _run(2, [(0, 1, 0.999, False, True)]) == [0, 1]
    assert _run(2, [(0, 1, 0.2, True, True)]) == [0, 0]


def test_a_steward_veto_beats_rules_and_chains() -> None:
    pairs: list[Pair] = [
        (0, 1, 0.999, True, False),
        (1, 2, 0.999, True, False),
        (0, 2, 0.5, False, True, True),
    ]
    result = _run(3, pairs)
    assert result[0] != result[2]
