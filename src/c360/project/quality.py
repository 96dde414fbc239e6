"""How well a project's links agree with a known truth (the demo's, or a labelled sample)."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from c360.store import Store

__all__ = ["LinkQuality", "link_quality"]


@dataclass(frozen=True)
class LinkQuality:
    precision: float
    recall: float
    true_pairs: int
    linked_pairs: int
    correct_pairs: int

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _pairs(groups: Counter[object]) -> int:
    return sum(n * (n - 1) // 2 for n in groups.values())


def pairwise_quality(
    predicted: Mapping[tuple[str, str], str], truth: Mapping[tuple[str, str], str]
) -> LinkQuality:
    """Pairwise precision and recall of record → customer against record → person."""
    keys = [k for k in predicted if k in truth]
    correct = _pairs(Counter((predicted[k], truth[k]) for k in keys))
    linked = _pairs(Counter(predicted[k] for k in keys))
    true = _pairs(Counter(truth[k] for k in keys))
    return LinkQuality(
        precision=correct / linked if linked else 1.0,
        recall=correct / true if true else 1.0,
        true_pairs=true,
        linked_pairs=linked,
        correct_pairs=correct,
    )


def link_quality(store: Store, truth_file: Path) -> LinkQuality:
    """Quality of the published links against a `source,record_id,person_id` CSV."""
    with truth_file.open(newline="", encoding="utf-8") as fh:
        truth = {(r["source"], r["record_id"]): r["person_id"] for r in csv.DictReader(fh)}
    predicted = {
        (r["source"], r["record_id"]): r["customer_id"]
        for r in store.query("SELECT source, record_id, customer_id FROM links")
    }
    return pairwise_quality(predicted, truth)
