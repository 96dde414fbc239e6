"""Clustering accepted links into customers, without chaining and without hard conflicts.

Plain connected components chain: A–B and B–C put A and C together even when A and C were
compared and clearly differ. Here links are taken strongest first (rule links, then by match
probability), and two groups join only if

- no compared pair between them is a hard conflict (e.g. different national ids) — unless a
  deterministic rule made the link — and no pair between them was vetoed by a steward
  (nothing overrules that), and
- the pairs compared between the two groups, on average, favour "same person" at least as
  much as `min_mean_probability` says (average linkage over the evidence there is). The
  average is taken over each pair's *evidence* — its match weight without the prior — because
  two sparse records (an email and a first name) that share nothing are "unknown", not
  "different": the prior alone would make them look like strangers.

Work is per connected component of the accepted links, so it scales with the size of the
components, not with the number of records.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from c360.engines.base import PairsWithin

__all__ = ["ClusterStats", "cluster", "connected_components"]

# A rule's link counts as overwhelming evidence in the average.
_RULE_EVIDENCE = 30.0


def _logit(p: float) -> float:
    """log2 odds, clipped so that p = 0 or 1 stays finite."""
    p = min(max(p, 1e-12), 1 - 1e-12)
    return math.log2(p / (1 - p))


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


def cluster(
    n_records: int,
    linked: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
    pairs_within: Callable[[npt.NDArray[np.int64]], PairsWithin],
    threshold: float,
    min_mean_probability: float,
    progress: Callable[[int], None] | None = None,
    prior_weight: float = 0.0,
) -> tuple[npt.NDArray[np.int64], ClusterStats]:
    """Return, for every record, its cluster's representative (smallest record index)."""
    components = connected_components(n_records, *linked)
    sizes = np.bincount(components, minlength=n_records)
    in_group = sizes[components] > 1
    result = np.arange(n_records, dtype=np.int64)
    if not in_group.any():
        return result, ClusterStats(0, 0, 0)

    pw = pairs_within(np.where(in_group, components, -1))
    # Group the compared pairs by component, strongest first within each.
    comp_of_pair = components[pw.left]
    order = np.lexsort((pw.right, pw.left, -pw.probability, ~pw.ruled, comp_of_pair))
    left, right = pw.left[order], pw.right[order]
    prob, ruled, conflict = pw.probability[order], pw.ruled[order], pw.conflict[order]
    veto = pw.veto[order]
    comp_of_pair = comp_of_pair[order]
    boundaries = np.flatnonzero(np.diff(comp_of_pair)) + 1
    starts = np.concatenate([[0], boundaries]).tolist()
    ends = np.concatenate([boundaries, [len(left)]]).tolist()

    refused_conflict = refused_weak = 0
    for s, e in zip(starts, ends, strict=True):
        rc, rw = _cluster_component(
            left[s:e], right[s:e], prob[s:e], ruled[s:e], conflict[s:e], veto[s:e],
            threshold, _logit(min_mean_probability), prior_weight, result,
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
    conflict: npt.NDArray[np.bool_],
    veto: npt.NDArray[np.bool_],
    threshold: float,
    min_mean_evidence: float,
    prior_weight: float,
    result: npt.NDArray[np.int64],
) -> tuple[int, int]:
    """Greedy average-linkage merge of one component; writes representatives into `result`."""
    ls, rs = left.tolist(), right.tolist()
    ps, rus, cs, vs = prob.tolist(), ruled.tolist(), conflict.tolist(), veto.tolist()
    nodes = sorted(set(ls) | set(rs))
    # Fast path: every compared pair is a link and none conflicts → one cluster.
    if not any(cs) and all(p >= threshold or r for p, r in zip(ps, rus, strict=True)):
        result[nodes] = nodes[0]
        return 0, 0

    parent = {x: x for x in nodes}
    size = dict.fromkeys(nodes, 1)
    # Evidence between groups: neighbour → [sum of probabilities, compared pairs, conflicts,
    # vetoes].
    adjacency: dict[int, dict[int, list[float]]] = {x: {} for x in nodes}
    for a, b, p, r, c, v in zip(ls, rs, ps, rus, cs, vs, strict=True):
        evidence = _RULE_EVIDENCE if r else _logit(p) - prior_weight
        edge = [evidence, 1.0, float(c and not r), float(v)]
        adjacency[a][b] = edge
        adjacency[b][a] = list(edge)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    refused_conflict = refused_weak = 0
    for a, b, p, r, c in zip(ls, rs, ps, rus, cs, strict=True):
        if p < threshold and not r:
            break  # sorted: no more links in this component
        if c and not r:
            continue  # a conflicting pair is never a link
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        total, count, conflicts, vetoes = adjacency[ra][rb]
        if vetoes:
            refused_conflict += 1
            continue
        if not r:
            if conflicts:
                refused_conflict += 1
                continue
            if total / count < min_mean_evidence:
                refused_weak += 1
                continue
        big, small = (ra, rb) if size[ra] >= size[rb] else (rb, ra)
        parent[small] = big
        size[big] += size[small]
        for nb, stats in adjacency.pop(small).items():
            if nb == big:
                continue
            edge = adjacency[big].setdefault(nb, [0.0, 0.0, 0.0, 0.0])
            for k in range(4):
                edge[k] += stats[k]
            del adjacency[nb][small]
            adjacency[nb][big] = list(edge)
        del adjacency[big][small]

    groups: dict[int, list[int]] = {}
    for x in nodes:
        groups.setdefault(find(x), []).append(x)
    for group in groups.values():
        result[group] = min(group)
    return refused_conflict, refused_weak
