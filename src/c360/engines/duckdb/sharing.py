"""Contact values held too widely: which customers hold a value, and whose golden record a
change of that can reach beyond the customers a run rebuilt (a value that became, or stopped
being, shared by more than `max_sharing` customers). Part of the incremental SQL (`delta`)."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pyarrow as pa

from c360.engines.duckdb.render import literal, quote
from c360.engines.duckdb.results import arrow

__all__ = ["sharing_flips", "value_holders"]


def value_holders(con: duckdb.DuckDBPyConnection, field: str) -> pa.Table:
    """(`value`, `customer_id`) of the records holding a value of `field`, by `customer_of`."""
    col = quote(field)
    return arrow(
        con,
        f"SELECT DISTINCT r.{col} AS value, c.customer_id FROM records r"
        f" JOIN customer_of c ON c.rid = r._rid WHERE r.{col} IS NOT NULL ORDER BY ALL",
    )


def sharing_flips(
    con: duckdb.DuckDBPyConnection, fields: Sequence[str], max_sharing: int
) -> pa.Array:
    """Customers holding a value whose "shared by more than `max_sharing` customers" status
    changed since the last run (their golden record may change although they did not)."""
    if not fields:
        return pa.array([], pa.string())
    flips = []
    for f in fields:
        col = quote(f)
        # Only a value an affected record holds now, or a changed or deleted one held before,
        # can have a new count of customers.
        values = (
            f"SELECT r.{col} FROM records r SEMI JOIN affected_now a ON a._rid = r._rid"
            f" WHERE r.{col} IS NOT NULL UNION SELECT {col} FROM old_versions WHERE {col} IS NOT NULL"
        )
        flips.append(
            f"""
            SELECT {literal(f)} AS field, coalesce(a.v, b.v) AS v FROM
                (SELECT r.{col} AS v, count(DISTINCT c.customer_id) AS n FROM records r
                 JOIN customer_of c ON c.rid = r._rid WHERE r.{col} IN ({values}) GROUP BY 1) a
            FULL JOIN
                (SELECT p.{col} AS v, count(DISTINCT pl.customer_id) AS n FROM previous p
                 JOIN previous_links pl ON pl.source = p.source AND pl.record_id = p._id
                 WHERE p.{col} IN ({values}) GROUP BY 1) b
            ON a.v = b.v
            WHERE (coalesce(a.n, 0) > {int(max_sharing)}) <> (coalesce(b.n, 0) > {int(max_sharing)})
            """
        )
    holders = " UNION ".join(
        f"SELECT c.customer_id FROM records r JOIN customer_of c ON c.rid = r._rid"
        f" JOIN flipped_values fv ON fv.field = {literal(f)} AND fv.v = r.{quote(f)}"
        for f in fields
    )
    con.execute("CREATE OR REPLACE TEMP TABLE flipped_values AS " + " UNION ALL ".join(flips))
    result = arrow(con, f"SELECT DISTINCT customer_id FROM ({holders}) ORDER BY 1")
    con.execute("DROP TABLE flipped_values")
    return result.column("customer_id").combine_chunks()
