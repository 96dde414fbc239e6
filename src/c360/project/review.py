"""Pairs worth a steward's look: near the threshold, undecided, most uncertain first."""

from __future__ import annotations

import math
from dataclasses import dataclass

from c360.store import Store

__all__ = ["ReviewPair", "borderline_pairs"]


@dataclass(frozen=True)
class ReviewPair:
    left: str
    right: str
    match_probability: float
    same_customer: bool


def borderline_pairs(store: Store, threshold: float, limit: int) -> list[ReviewPair]:
    """Undecided pairs ordered by how close their match weight is to the threshold's."""
    target = math.log2(threshold / (1 - threshold))
    rows = store.query(
        """
        SELECT p.source_l, p.record_id_l, p.source_r, p.record_id_r, p.match_probability,
               a.customer_id = b.customer_id AS same
        FROM pairs p
        JOIN links a ON a.source = p.source_l AND a.record_id = p.record_id_l
        JOIN links b ON b.source = p.source_r AND b.record_id = p.record_id_r
        ANTI JOIN decisions d ON d.source_l = p.source_l AND d.record_id_l = p.record_id_l
             AND d.source_r = p.source_r AND d.record_id_r = p.record_id_r
        WHERE p.rule IS NULL
        ORDER BY abs(p.match_weight - ?), p.source_l, p.record_id_l, p.source_r, p.record_id_r
        LIMIT ?
        """,
        [target, limit],
    )
    return [
        ReviewPair(
            f"{r['source_l']}:{r['record_id_l']}",
            f"{r['source_r']}:{r['record_id_r']}",
            float(r["match_probability"]),
            bool(r["same"]),
        )
        for r in rows
    ]
