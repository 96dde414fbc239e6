"""The DuckDB engine's part in project runs once records are clustered: customer IDs, golden
records, contact points, events, and the tables a publish stores (the SQL is in `customers`).
Mixed into `DuckDBEngine`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from c360.engines.base import EventMapping, GoldenField
from c360.engines.duckdb import customers

__all__ = ["CustomerMethods"]


class CustomerMethods:
    _con: duckdb.DuckDBPyConnection

    def set_contact_points(self, points: pa.Table) -> None:
        self._con.register("contact_points_in", points)
        self._con.execute(
            "CREATE OR REPLACE TABLE contact_points_now AS SELECT * FROM contact_points_in"
        )
        self._con.unregister("contact_points_in")

    def set_person_keys(self, sources: Sequence[str], keys: pa.Table) -> None:
        """Just enough of the people side to tie events by record id, without the records:
        `keys` holds (`source`, `record_id`, `customer_id`) of the records events name."""
        con = self._con
        con.execute(
            "CREATE OR REPLACE TABLE sources AS SELECT * FROM"
            " (SELECT unnest(?) AS name, unnest(range(?)) AS _src)",
            [list(sources), len(sources)],
        )
        con.register("person_keys", keys)
        con.execute(
            "CREATE OR REPLACE TABLE records AS SELECT (row_number() OVER () - 1)::BIGINT AS _rid,"
            " s._src, k.record_id AS _id, k.customer_id FROM person_keys k"
            " JOIN sources s ON s.name = k.source"
        )
        con.unregister("person_keys")
        con.execute(
            "CREATE OR REPLACE TABLE customer_of AS SELECT _rid AS rid, customer_id FROM records"
        )

    def apply_decisions(
        self, links: Sequence[tuple[int, int]], unlinks: Sequence[tuple[int, int]]
    ) -> None:
        customers.apply_decisions(self._con, links, unlinks)

    def set_customers(self, rids: npt.NDArray[np.int64], customer_ids: Sequence[str]) -> None:
        """Give every record its customer ID (`customer_of`), for the steps that follow."""
        self._con.register(
            "customer_of_in",
            pa.table({"rid": rids, "customer_id": pa.array(customer_ids, pa.string())}),
        )
        self._con.execute("CREATE OR REPLACE TABLE customer_of AS SELECT * FROM customer_of_in")
        self._con.unregister("customer_of_in")

    def golden_records(
        self,
        fields: Sequence[GoldenField],
        sources: Sequence[str],
        only: pa.Array | None = None,
        shared: pa.Table | None = None,
    ) -> pa.Table:
        return customers.golden_records(self._con, fields, sources, only, shared)

    def contact_points(
        self, kinds: Mapping[str, str], golden: pa.Table, only: pa.Array | None = None
    ) -> pa.Table:
        """Contact points of the customers (or `only` some); they also become the ones events
        are tied by (`set_contact_points`)."""
        points = customers.contact_points(self._con, kinds, golden, only)
        self.set_contact_points(points)
        return points

    def resolve_events(
        self, event: EventMapping, contact_lookup: pa.Table | None
    ) -> tuple[pa.Table, pa.Table]:
        return customers.resolve_events(self._con, event, contact_lookup)

    def store_records(self, fields: Sequence[str], changed_only: bool = False) -> pa.Table:
        return customers.store_records(self._con, fields, changed_only)

    def store_links(self, rule_names: Sequence[str], affected_only: bool = False) -> pa.Table:
        return customers.store_links(self._con, rule_names, affected_only)

    def store_pairs(self, rule_names: Sequence[str], dirty_only: bool = False) -> pa.Table:
        return customers.store_pairs(self._con, rule_names, dirty_only)
