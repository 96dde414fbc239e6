"""Pairwise precision/recall/F1 of final clusters against ground truth.

Scores come from the contingency table of (predicted cluster, true entity)
counts rather than from enumerating record pairs, so a million records score
in about a second: a group of n records holds n*(n-1)/2 pairs.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

Key = Hashable
"""A record key: a `record_id` string (dedupe) or a `(source, record_id)` tuple (link)."""

_FEBRL_ID = re.compile(r"^rec-(\d+)-(?:org|dup-\d+)$")


class PairwiseScores(NamedTuple):
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int


def _pairs(sizes: Iterable[int]) -> int:
    return sum(n * (n - 1) // 2 for n in sizes)


def pairwise_scores(
    predicted: Mapping[Key, Hashable], truth: Mapping[Key, Hashable]
) -> PairwiseScores:
    """Score `predicted` (key -> cluster) against `truth` (key -> entity).

    Every truth key is scored; a key the prediction leaves out counts as a
    singleton, so dropped records cost recall instead of vanishing from the
    denominator. A predicted key absent from truth is an error: it almost
    always means the two sides spell keys differently, which would otherwise
    score as a silent, plausible-looking zero.

    With no predicted pairs precision is 1.0 (nothing false was claimed); with
    no true pairs recall is 1.0 (nothing was missed).
    """
    extra = [key for key in predicted if key not in truth]
    if extra:
        raise ValueError(f"{len(extra)} predicted keys are not in the truth, e.g. {extra[:3]!r}")
    # A missing key gets a cluster label no real cluster can share.
    joint = Counter(
        (predicted.get(key, ("__singleton__", key)), entity) for key, entity in truth.items()
    )
    cluster_sizes: Counter[Hashable] = Counter()
    entity_sizes: Counter[Hashable] = Counter()
    for (cluster, entity), n in joint.items():
        cluster_sizes[cluster] += n
        entity_sizes[entity] += n

    tp = _pairs(joint.values())
    fp = _pairs(cluster_sizes.values()) - tp
    fn = _pairs(entity_sizes.values()) - tp
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairwiseScores(precision, recall, f1, tp, fp, fn)


def febrl_truth(record_id: str) -> str:
    """Entity of a Febrl record: `rec-123-org` and `rec-123-dup-2` are both entity `123`."""
    match = _FEBRL_ID.match(record_id.strip())
    if match is None:
        raise ValueError(f"not a Febrl record id: {record_id!r}")
    return match.group(1)


def read_clusters(path: str | Path) -> dict[Key, str]:
    """Read a clusters CSV: `record_id,cluster_id` (dedupe) or `source,record_id,cluster_id` (link).

    Link output is keyed by `(source, record_id)` because record ids need only
    be unique within their own source file.
    """
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader)]
        if header == ["record_id", "cluster_id"]:
            clusters: dict[Key, str] = {row[0]: row[1] for row in reader}
        elif header == ["source", "record_id", "cluster_id"]:
            clusters = {(row[0], row[1]): row[2] for row in reader}
        else:
            raise ValueError(f"{path}: unexpected clusters header {header}")
    return clusters


def count_rows(path: str | Path) -> int:
    """Data rows in a CSV, so a clusters file that repeats a record can be caught."""
    with open(path, newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def read_truth(path: str | Path) -> dict[Key, str]:
    """Read a truth CSV with columns `id,person_id` into record_id -> entity."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return {row["id"]: row["person_id"] for row in reader}


def read_ids(path: str | Path, id_column: str) -> list[str]:
    """The id column of an input CSV.

    `skipinitialspace` because the Febrl files pad every field with ", ".
    """
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, skipinitialspace=True)
        return [row[id_column].strip() for row in reader]
