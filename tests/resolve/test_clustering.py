from __future__ import annotations

import numpy as np

from c360.resolve.clustering import Conflict, cluster, connected_components


def _run(
    n: int,
    pairs: list[tuple[int, int, float, bool]],
    values: dict[int, dict[str, str]] | None = None,
    conflicts: list[Conflict] | None = None,
) -> list[int]:
    links = [(a, b) for a, b, p, r in pairs if p >= 0.9 or r]
    linked = (
        np.array([a for a, _ in links], dtype=np.int64),
        np.array([b for _, b in links], dtype=np.int64),
    )

    def within(label: np.ndarray) -> tuple[np.ndarray, ...]:
        kept = [(a, b, p, r) for a, b, p, r in pairs if label[a] >= 0 and label[a] == label[b]]
        return (
            np.array([k[0] for k in kept], dtype=np.int64),
            np.array([k[1] for k in kept], dtype=np.int64),
            np.array([k[2] for k in kept], dtype=np.float64),
            np.array([k[3] for k in kept], dtype=np.bool_),
        )

    result, _ = cluster(
        n, linked, within, lambda rids: values or {}, conflicts or [], 0.9, 0.5
    )
    return result.tolist()


def test_connected_components_label_by_smallest_member() -> None:
    labels = connected_components(5, np.array([3, 1]), np.array([4, 3]))
    assert labels.tolist() == [0, 1, 2, 1, 1]


def test_a_weak_chain_does_not_join_two_people() -> None:
    # 0~1 strong, 2~3 strong, 1~2 just over threshold, but 0-2, 0-3, 1-3 compared and far apart.
    pairs = [
        (0, 1, 0.999, False),
        (2, 3, 0.999, False),
        (1, 2, 0.91, False),
        (0, 2, 0.01, False),
        (0, 3, 0.01, False),
        (1, 3, 0.02, False),
    ]
    assert _run(4, pairs) == [0, 0, 2, 2]


def test_plain_transitive_links_do_join() -> None:
    pairs = [(0, 1, 0.99, False), (1, 2, 0.99, False)]
    assert _run(3, pairs) == [0, 0, 0]


def test_hard_conflict_splits_unless_a_rule_links() -> None:
    values = {0: {"national_id": "111111"}, 1: {"national_id": "999999"}}
    conflict = [Conflict("national_id", tolerance=1)]
    assert _run(2, [(0, 1, 0.999, False)], values, conflict) == [0, 1]
    assert _run(2, [(0, 1, 0.2, True)], values, conflict) == [0, 0]
    # Within tolerance (one typo) is not a conflict.
    values[1] = {"national_id": "111112"}
    assert _run(2, [(0, 1, 0.999, False)], values, conflict) == [0, 0]
