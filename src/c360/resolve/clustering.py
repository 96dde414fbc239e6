"""Clustering accepted links into customers, without chaining and without hard conflicts.

Plain connected components chain: A–B and B–C put A and C together even when A and C were
compared and clearly differ. Here links are taken strongest first (rule links, then by match
probability), and two groups join only if

- no conflict field (e.g. a national id) holds values in one group that differ from values in
  the other by more than the field's tolerance — unless a deterministic rule made the link, and
- the pairs compared between the two groups have a mean match probability of at least
  `min_mean_probability` (average linkage over the evidence there is).

Work is per connected component of the accepted links, so it scales with the size of the
components, not with the number of records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rapidfuzz.distance import DamerauLevenshtein

__all__ = ["ClusterStats", "Conflict", "cluster", "connected_components"]


@dataclass(frozen=True)
class Conflict:
    field: str
    tolerance: int


@dataclass(frozen=True)
class ClusterStats:
    components: int
    links_refused_conflict: int
    links_refused_weak: int


def connected_components(
    n: int, left: npt.NDArray[np.int64], right: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Label each record with its component's smallest record index."""
    parent = np.arange(n, dtype=np.int64)

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = int(parent[root])
        while parent[x] != root:
            parent[x], x = root, int(parent[x])
        return root

    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            if ra < rb:
                parent[rb] = ra
            else:
                parent[ra] = rb
    for x in range(n):
        parent[x] = find(x)
    return parent


def _conflicting(
    a: Mapping[str, set[str]], b: Mapping[str, set[str]], conflicts: Sequence[Conflict]
) -> bool:
    for c in conflicts:
        va, vb = a.get(c.field), b.get(c.field)
        if not va or not vb:
            continue
        for x in va:
            for y in vb:
                if x != y and DamerauLevenshtein.distance(x, y) > c.tolerance:
                    return True
    return False


def cluster(
    n_records: int,
    linked: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
    pairs_within: Callable[
        [npt.NDArray[np.int64]],
        tuple[
            npt.NDArray[np.int64],
            npt.NDArray[np.int64],
            npt.NDArray[np.float64],
            npt.NDArray[np.bool_],
        ],
    ],
    conflict_values: Callable[[npt.NDArray[np.int64]], Mapping[int, Mapping[str, str]]],
    conflicts: Sequence[Conflict],
    threshold: float,
    min_mean_probability: float,
    progress: Callable[[int], None] | None = None,
) -> tuple[npt.NDArray[np.int64], ClusterStats]:
    """Return, for every record, its cluster's representative (smallest record index)."""
    components = connected_components(n_records, *linked)
    sizes = np.bincount(components, minlength=n_records)
    in_group = sizes[components] > 1
    label = np.where(in_group, components, -1)
    result = np.arange(n_records, dtype=np.int64)
    if not in_group.any():
        return result, ClusterStats(0, 0, 0)

    left, right, prob, ruled = pairs_within(label)
    members = np.flatnonzero(in_group).astype(np.int64)
    values = conflict_values(members) if conflicts else {}

    # Group the compared pairs by component, strongest first within each.
    comp_of_pair = components[left]
    order = np.lexsort((right, left, -prob, ~ruled, comp_of_pair))
    left, right, prob, ruled, comp_of_pair = (
        left[order],
        right[order],
        prob[order],
        ruled[order],
        comp_of_pair[order],
    )
    boundaries = np.flatnonzero(np.diff(comp_of_pair)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(left)]])

    refused_conflict = refused_weak = 0
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        rc, rw = _cluster_component(
            left[s:e], right[s:e], prob[s:e], ruled[s:e], values, conflicts,
            threshold, min_mean_probability, result,
        )  # fmt: skip
        refused_conflict += rc
        refused_weak += rw
        if progress is not None:
            progress(1)
    return result, ClusterStats(len(starts), refused_conflict, refused_weak)


def _cluster_component(
    left: npt.NDArray[np.int64],
    right: npt.NDArray[np.int64],
    prob: npt.NDArray[np.float64],
    ruled: npt.NDArray[np.bool_],
    values: Mapping[int, Mapping[str, str]],
    conflicts: Sequence[Conflict],
    threshold: float,
    min_mean_probability: float,
    result: npt.NDArray[np.int64],
) -> tuple[int, int]:
    """Greedy average-linkage merge of one component; writes representatives into `result`."""
    ls, rs, ps, rus = left.tolist(), right.tolist(), prob.tolist(), ruled.tolist()
    nodes = sorted(set(ls) | set(rs))
    # Fast path: every compared pair is a link and nothing can conflict → one cluster.
    if all(p >= threshold or r for p, r in zip(ps, rus, strict=True)) and not _any_conflict(
        nodes, values, conflicts
    ):
        result[nodes] = nodes[0]
        return 0, 0

    parent = {x: x for x in nodes}
    held: dict[int, dict[str, set[str]]] = {
        x: {f: {v} for f, v in values.get(x, {}).items()} for x in nodes
    }
    # Evidence between groups: neighbour → [sum of probabilities, number of compared pairs].
    adjacency: dict[int, dict[int, list[float]]] = {x: {} for x in nodes}
    for a, b, p, r in zip(ls, rs, ps, rus, strict=True):
        pv = 1.0 if r else p
        adjacency[a][b] = [pv, 1.0]
        adjacency[b][a] = [pv, 1.0]
    size = dict.fromkeys(nodes, 1)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    refused_conflict = refused_weak = 0
    for a, b, p, r in zip(ls, rs, ps, rus, strict=True):
        if p < threshold and not r:
            break  # sorted: no more links in this component
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        if not r:
            if _conflicting(held[ra], held[rb], conflicts):
                refused_conflict += 1
                continue
            total, count = adjacency[ra][rb]
            if total / count < min_mean_probability:
                refused_weak += 1
                continue
        big, small = (ra, rb) if size[ra] >= size[rb] else (rb, ra)
        parent[small] = big
        size[big] += size[small]
        for f, vs in held.pop(small).items():
            held[big].setdefault(f, set()).update(vs)
        for nb, (total, count) in adjacency.pop(small).items():
            if nb == big:
                continue
            edge = adjacency[big].setdefault(nb, [0.0, 0.0])
            edge[0] += total
            edge[1] += count
            del adjacency[nb][small]
            adjacency[nb][big] = edge
        del adjacency[big][small]

    groups: dict[int, list[int]] = {}
    for x in nodes:
        groups.setdefault(find(x), []).append(x)
    for group in groups.values():
        result[group] = min(group)
    return refused_conflict, refused_weak


def _any_conflict(
    nodes: Sequence[int], values: Mapping[int, Mapping[str, str]], conflicts: Sequence[Conflict]
) -> bool:
    if not conflicts:
        return False
    for c in conflicts:
        seen = {values[x][c.field] for x in nodes if x in values and c.field in values[x]}
        if len(seen) > 1:
            return True
    return False
