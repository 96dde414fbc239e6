"""The engine protocol: where batch work runs.

Stages decide *what* to compute (which columns, which levels, which keys); an engine decides
*how*. The DuckDB engine runs in-process and is the default; the protocol is kept to typed values
(Arrow tables, dataclasses) so that a Spark engine can implement it without the stages changing.
Capabilities are data (`EngineCapabilities`), checked before a run starts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from c360.config import ComparisonConfig, Criterion

__all__ = [
    "BlockingReport",
    "BlockingRule",
    "Engine",
    "EngineCapabilities",
    "EventMapping",
    "FieldWeights",
    "GoldenField",
    "Lookup",
    "PairsWithin",
    "ReadReport",
    "RejectedRow",
]


@dataclass(frozen=True)
class EngineCapabilities:
    name: str
    file_formats: frozenset[str]
    similarity_functions: frozenset[str]


@dataclass(frozen=True)
class RejectedRow:
    """A row that could not be ingested: where it was and why."""

    line: int | None
    reason: str
    raw: str


@dataclass(frozen=True)
class ReadReport:
    table: str
    path: Path
    columns: list[str]
    rows: int
    encoding: str
    rejected: list[RejectedRow] = field(default_factory=list)


@dataclass(frozen=True)
class Lookup:
    """Standardised values for the distinct raw values of one source column.

    `table` has a `raw` column and one column per standardised output field, plus `flag`
    (why a value was nulled, or null).
    """

    source_table: str
    column: str
    table: pa.Table


@dataclass(frozen=True)
class BlockingRule:
    """Pairs whose records agree on every field in `fields` are compared."""

    fields: tuple[str, ...]

    @property
    def name(self) -> str:
        return " & ".join(self.fields)


@dataclass(frozen=True)
class FieldWeights:
    """A trained comparison as the engine scores it: one match weight per level.

    `level_weights[i]` is log2(m/u) for level i (the last is 'else'); a null level weighs 0.
    With `tf_m_exact` set, an exact agreement (level 0) weighs log2(m / tf(value)) instead,
    so a rare value counts more than a common one.
    """

    field: str
    level_weights: tuple[float, ...]
    tf_m_exact: float | None = None
    tf_u_floor: float = 1e-9


@dataclass(frozen=True)
class PairsWithin:
    """Scored pairs inside the components of the accepted links, as parallel arrays."""

    left: npt.NDArray[np.int64]
    right: npt.NDArray[np.int64]
    probability: npt.NDArray[np.float64]
    ruled: npt.NDArray[np.bool_]
    conflict: npt.NDArray[np.bool_]
    veto: npt.NDArray[np.bool_]  # a steward's "not the same": beats rules and chains


@dataclass(frozen=True)
class BlockingReport:
    rule: BlockingRule
    pairs: int
    capped_keys: list[tuple[str, int]]  # (key value, records sharing it)
    capped_key_count: int


@dataclass(frozen=True)
class GoldenField:
    """One field of the golden record and how it is chosen.

    `display_raw`: show the value as the source wrote it (names, streets) rather than the
    standardised one (emails, phones in E.164, ISO dates). `max_sharing`: a value held by more
    customers than this (a call-centre phone, `test@…`) is nobody's, so never golden.
    """

    field: str
    rule: str
    display_raw: bool
    priority: tuple[str, ...] = ()
    max_sharing: int | None = None


@dataclass(frozen=True)
class EventMapping:
    """How an event table's columns map onto the shared model's event."""

    name: str
    table: str
    type: str
    department: str
    id: str
    occurred_at: str
    status: str | None
    amount: str | None
    attributes: tuple[str, ...]
    person_source: int | None  # index of the people source whose record id the event holds
    person_record_id: str | None
    contact_column: str | None  # an email or phone column
    contact_kind: str | None  # "email" | "phone"


class Engine(Protocol):
    """What the stages ask of an engine. Tables live inside the engine; values cross as Arrow
    tables, NumPy arrays and the dataclasses above."""

    capabilities: EngineCapabilities

    # reading
    def read_file(self, path: Path, table: str, fmt: str) -> ReadReport: ...
    def load_arrow(self, rows: pa.Table, table: str, where: str) -> ReadReport: ...
    def sample_rows(self, table: str, n: int) -> pa.Table: ...
    def distinct_values(self, table: str, column: str) -> pa.Array: ...
    def null_counts(self, table: str, columns: Sequence[str]) -> dict[str, int]: ...
    def quarantine_ids(self, table: str, id_column: str) -> list[tuple[int, str]]: ...

    def suppress(
        self,
        table: str,
        id_column: str,
        source: str,
        keys: frozenset[str],
        secret: str,
        normalise: str | None = None,
    ) -> int: ...

    # records
    def build_records(
        self,
        sources: Sequence[tuple[str, str]],
        id_columns: Sequence[str | None],
        lookups: Sequence[Lookup],
        fields: Sequence[str],
        raw_fields: Sequence[tuple[str, str, str]],
        updated_at_columns: Sequence[str | None] | None = None,
        keep_raw: bool = False,
    ) -> int: ...
    def drop_unchanged(self, table: str, id_column: str | None, known: pa.Table) -> None: ...
    def set_seen(
        self, table: str, ids: Sequence[str | None], rows: Sequence[int] | None = None
    ) -> None: ...
    def source_sizes(self) -> list[int]: ...
    def add_composite(self, field: str, parts: Sequence[str]) -> None: ...
    def flag_counts(self, lookups: Sequence[Lookup]) -> dict[tuple[str, str, str], int]: ...
    def records(self, rids: Sequence[int] | None, fields: Sequence[str]) -> pa.Table: ...
    def record_columns(self) -> list[str]: ...
    def find_records(self, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], int]: ...

    # frequencies
    def add_term_frequencies(
        self, fields: Sequence[str], frozen: pa.Table | None = None
    ) -> None: ...
    def term_frequencies(self, fields: Sequence[str]) -> pa.Table: ...
    def term_frequency(self, field: str, value: str) -> float | None: ...
    def exact_agreement(self, fields: Sequence[str], across_only: bool) -> dict[str, float]: ...

    # blocking, comparing, scoring
    def estimate_pairs(self, rule: BlockingRule, max_block_size: int, across_only: bool) -> int: ...
    def block(
        self, rules: Sequence[BlockingRule], max_block_size: int, across_only: bool
    ) -> list[BlockingReport]: ...
    def compare(
        self,
        comparisons: Sequence[ComparisonConfig],
        rules: Sequence[Sequence[Criterion]],
        tf_fields: Sequence[str],
    ) -> int: ...
    def vector_counts(self, comparisons: Sequence[ComparisonConfig]) -> pa.Table: ...
    def random_pair_level_counts(
        self,
        comparisons: Sequence[ComparisonConfig],
        max_pairs: int,
        seed: int,
        across_only: bool,
    ) -> pa.Table: ...
    def score(
        self,
        prior_weight: float,
        weights: Sequence[FieldWeights],
        conflicts: Sequence[Sequence[tuple[int, int]]] = (),
    ) -> None: ...

    # clustering and output
    def linked_pairs(
        self, threshold: float
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
    def pairs_within(self, component: npt.NDArray[np.int64]) -> PairsWithin: ...
    def write_clusters(
        self, cluster_of: npt.NDArray[np.int64], path: Path, with_source: bool
    ) -> None: ...
    def write_pairs(self, path: Path, with_source: bool, rule_names: Sequence[str]) -> int: ...
    def close(self) -> None: ...

    # customers (project runs)
    def apply_decisions(
        self, links: Sequence[tuple[int, int]], unlinks: Sequence[tuple[int, int]]
    ) -> None: ...
    def set_customers(self, rids: npt.NDArray[np.int64], customer_ids: Sequence[str]) -> None: ...
    def golden_records(
        self,
        fields: Sequence[GoldenField],
        sources: Sequence[str],
        only: pa.Array | None = None,
        shared: pa.Table | None = None,
    ) -> pa.Table: ...
    def contact_points(
        self, kinds: Mapping[str, str], golden: pa.Table, only: pa.Array | None = None
    ) -> pa.Table: ...
    def set_contact_points(self, points: pa.Table) -> None: ...
    def set_person_keys(self, sources: Sequence[str], keys: pa.Table) -> None: ...
    def resolve_events(
        self, event: EventMapping, contact_lookup: pa.Table | None
    ) -> tuple[pa.Table, pa.Table]: ...
    def store_records(self, fields: Sequence[str], changed_only: bool = False) -> pa.Table: ...
    def store_links(self, rule_names: Sequence[str], affected_only: bool = False) -> pa.Table: ...
    def store_pairs(self, rule_names: Sequence[str], dirty_only: bool = False) -> pa.Table: ...
    def stored_records(self, rewrite_only: bool = False) -> pa.Table: ...
    def flagged_keys(self, flag: str) -> pa.Table: ...
    @property
    def n_records(self) -> int: ...

    # incremental project runs: the last run's state back in, only the changes recomputed
    def rebase(
        self, previous: pa.Table, sources: Sequence[str], reread: Sequence[tuple[str, str]]
    ) -> pa.Table: ...
    def dirty_count(self) -> int: ...
    def mark_dirty(self, rids: Sequence[int]) -> None: ...
    def mark_hot_key_flips(self, rules: Sequence[BlockingRule], max_block_size: int) -> int: ...
    def key_records(self, rules: Sequence[BlockingRule]) -> None: ...
    def block_dirty(
        self,
        rules: Sequence[BlockingRule],
        max_block_size: int,
        across_only: bool,
        hot: Sequence[pa.Table] | None = None,
    ) -> int: ...
    def restore_pairs(self, stored: pa.Table, rule_names: Sequence[str]) -> int: ...
    def affected(
        self, previous_links: pa.Table, deleted: pa.Table, threshold: float
    ) -> npt.NDArray[np.int64]: ...
    def set_customers_delta(
        self, rids: npt.NDArray[np.int64], customer_ids: Sequence[str]
    ) -> None: ...
    def sharing_flips(self, fields: Sequence[str], max_sharing: int) -> pa.Array: ...
    def value_holders(self, field: str) -> pa.Table: ...
    def retie_events(self, events: pa.Table) -> pa.Table: ...
