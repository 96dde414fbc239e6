"""The DuckDB engine's part in incremental project runs: the last run's state brought back and
only what changed worked on (the SQL is in `delta`). Mixed into `DuckDBEngine`."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from c360.engines.base import BlockingRule
from c360.engines.duckdb import delta, sharing
from c360.engines.duckdb.results import first_row

__all__ = ["IncrementalMethods"]


class IncrementalMethods:
    _con: duckdb.DuckDBPyConnection
    _n_records: int
    _previous: pa.Table | None

    def stored_records(self, rewrite_only: bool = False) -> pa.Table:
        return delta.stored_records(self._con, rewrite_only)

    def flagged_keys(self, flag: str) -> pa.Table:
        return delta.flagged_keys(self._con, flag)

    @property
    def n_records(self) -> int:
        return self._n_records

    def rebase(
        self, previous: pa.Table, sources: Sequence[str], reread: Sequence[tuple[str, str]]
    ) -> pa.Table:
        """`records` becomes every current record (see `delta.rebase`); returns the deleted."""
        self._previous = previous  # registered, not copied: it must outlive the run
        deleted = delta.rebase(self._con, previous, sources, reread)
        (n,) = first_row(self._con.execute("SELECT count(*) FROM records")) or (0,)
        self._n_records = int(n)
        return deleted

    def dirty_count(self) -> int:
        (n,) = first_row(self._con.execute("SELECT count(*) FROM records WHERE _dirty")) or (0,)
        return int(n)

    def mark_hot_key_flips(self, rules: Sequence[BlockingRule], max_block_size: int) -> int:
        return delta.mark_hot_key_flips(self._con, rules, max_block_size)

    def mark_dirty(self, rids: Sequence[int]) -> None:
        if not rids:
            return
        self._con.register("dirty_in", pa.table({"rid": pa.array(list(rids), pa.int64())}))
        self._con.execute(
            "UPDATE records SET _dirty = true WHERE _rid IN (SELECT rid FROM dirty_in)"
        )
        self._con.unregister("dirty_in")

    def key_records(self, rules: Sequence[BlockingRule]) -> None:
        delta.key_records(self._con, rules)

    def block_dirty(
        self,
        rules: Sequence[BlockingRule],
        max_block_size: int,
        across_only: bool,
        hot: Sequence[pa.Table] | None = None,
    ) -> int:
        return delta.block_dirty(self._con, rules, max_block_size, across_only, hot)

    def restore_pairs(self, stored: pa.Table, rule_names: Sequence[str]) -> int:
        return delta.restore_pairs(self._con, stored, rule_names)

    def affected(
        self, previous_links: pa.Table, deleted: pa.Table, threshold: float
    ) -> npt.NDArray[np.int64]:
        return delta.affected(self._con, previous_links, deleted, threshold)

    def set_customers_delta(self, rids: npt.NDArray[np.int64], customer_ids: Sequence[str]) -> None:
        delta.set_customers(self._con, rids, customer_ids)

    def sharing_flips(self, fields: Sequence[str], max_sharing: int) -> pa.Array:
        return sharing.sharing_flips(self._con, fields, max_sharing)

    def value_holders(self, field: str) -> pa.Table:
        """(`value`, `customer_id`) of every record holding a value of `field` now."""
        return sharing.value_holders(self._con, field)

    def retie_events(self, events: pa.Table) -> pa.Table:
        return delta.retie_events(self._con, events)
