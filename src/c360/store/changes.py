"""The change feed: what happened to which customer ID, in publish order, for systems that follow.

Every publish (a batch run, a real-time write) appends, in the same transaction as the change:

- `new`      a customer ID was issued;
- `merge`    `other_id` was merged into `customer_id` (and now redirects to it);
- `split`    `customer_id` was split off `other_id`;
- `retired`  `other_id` lost its last record (`customer_id` is null);
- `golden`   the golden record of `customer_id` changed.

`seq` numbers the changes 1, 2, 3, … with no gaps and is the cursor a follower keeps. The feed
is derived by comparing the customers and golden records before and after the publish, inside
the publishing transaction, so it can never disagree with the published state.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

__all__ = ["CHANGES_SCHEMA", "after_publish", "before_publish"]

CHANGES_SCHEMA = (
    "seq BIGINT, changed_at TIMESTAMP, kind VARCHAR, customer_id VARCHAR, other_id VARCHAR,"
    " run_id VARCHAR"
)

_GOLDEN_HASH = (
    "SELECT customer_id, bit_xor(hash(field, value, source, record_id, updated_at, rule)) AS h"
    " FROM golden {where} GROUP BY customer_id"
)


# A scope of at most this many customers is written out as a list (indexed point lookups);
# a larger one is joined.
_LISTED = 64


def _scope(con: duckdb.DuckDBPyConnection, scope: pa.Table | None) -> str:
    if scope is None:
        return ""
    if scope.num_rows <= _LISTED:
        ids = sorted({str(i) for i in scope.column("customer_id").to_pylist() if i is not None})
        listed = ", ".join("'" + i.replace("'", "''") + "'" for i in ids) or "NULL"
        return f"WHERE customer_id IN ({listed})"
    con.execute("CREATE OR REPLACE TEMP TABLE change_scope AS SELECT * FROM scope_in")
    return "WHERE customer_id IN (SELECT customer_id FROM change_scope)"


def before_publish(con: duckdb.DuckDBPyConnection, scope: pa.Table | None) -> None:
    """Note the customers and golden records a publish may change (`scope`: their ids; None:
    every customer). Call inside the publishing transaction, before any write."""
    if scope is not None:
        con.register("scope_in", scope.select(["customer_id"]))
    where = _scope(con, scope)
    if scope is not None:
        con.unregister("scope_in")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE customers_before AS SELECT customer_id FROM customers"
        f" {where}"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE golden_before AS {_GOLDEN_HASH.format(where=where)}")


def after_publish(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    redirects: pa.Table,
    scope: pa.Table | None,
) -> int:
    """Append the feed entries of a publish (after its writes); return how many.

    `redirects` are the publish's (old_id, new_id, reason, …); `scope` is the one given to
    `before_publish` plus the ids the publish issued.
    """
    if scope is not None:
        con.register("scope_in", scope.select(["customer_id"]))
    where = _scope(con, scope)
    if scope is not None:
        con.unregister("scope_in")
    con.register("redirects_in", redirects)
    new_where = f"{where} AND" if where else "WHERE"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE feed AS
        SELECT 'new' AS kind, customer_id, NULL AS other_id, 0 AS o FROM customers
        {new_where} customer_id NOT IN (SELECT customer_id FROM customers_before)
        UNION ALL
        SELECT CASE reason WHEN 'deleted' THEN 'retired' ELSE reason END,
               CASE reason WHEN 'merge' THEN new_id WHEN 'split' THEN new_id END,
               old_id, 1 FROM redirects_in
        UNION ALL
        SELECT 'golden', a.customer_id, NULL, 2
        FROM ({_GOLDEN_HASH.format(where=where)}) a
        JOIN golden_before b USING (customer_id)
        WHERE a.h <> b.h
        """
    )
    con.unregister("redirects_in")
    (n,) = con.execute("SELECT count(*) FROM feed").fetchall()[0]
    con.execute(
        """
        INSERT INTO changes
        SELECT (SELECT coalesce(max(seq), 0) FROM changes)
                 + row_number() OVER (ORDER BY o, kind, customer_id, other_id),
               now()::TIMESTAMP, kind, customer_id, other_id, ?
        FROM feed
        """,
        [run_id],
    )
    for table in ("feed", "customers_before", "golden_before", "change_scope"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return int(n)
