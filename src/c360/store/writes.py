"""How a publish writes: the rows a change touches, and replacing a table by touching only the
rows that differ."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb
import pyarrow as pa

__all__ = ["customers_touched", "replace_rows"]


def customers_touched(
    deletes: Sequence[tuple[str, pa.Table]], inserts: Mapping[str, pa.Table]
) -> pa.Table:
    """The customer ids whose rows a change replaces or adds."""
    ids = [
        keys.column("customer_id").cast(pa.string())
        for name, keys in [*deletes, *inserts.items()]
        if name in ("customers", "golden") and "customer_id" in keys.column_names
    ]
    column = pa.chunked_array(ids, pa.string()) if ids else pa.chunked_array([], pa.string())
    return pa.table({"customer_id": column.unique()})


def replace_rows(
    con: duckdb.DuckDBPyConnection, table: str, key: tuple[str, ...], columns: list[str]
) -> None:
    """Make `table` equal to `incoming`, touching only rows that differ.

    Rows are compared by key and a hash of the whole row, so the diff holds keys and hashes,
    not a second copy of every row: rows whose key is gone or whose content changed are
    deleted, and new or changed rows are inserted.
    """
    if not con.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchall():
        # A first publish: nothing to compare with.
        con.execute(f"INSERT INTO {table} SELECT * FROM incoming")
        return
    all_columns = ", ".join(columns)
    k = ", ".join(key)
    fingerprint = f"SELECT {k}, hash({all_columns}) AS _h FROM"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE publish_stale AS SELECT {k} FROM"
        f" ({fingerprint} {table}) ANTI JOIN ({fingerprint} incoming) USING ({k}, _h)"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE publish_fresh AS SELECT {k} FROM"
        f" ({fingerprint} incoming) ANTI JOIN ({fingerprint} {table}) USING ({k}, _h)"
    )
    match = " AND ".join(f"{table}.{c} = d.{c}" for c in key)
    con.execute(f"DELETE FROM {table} USING publish_stale d WHERE {match}")
    con.execute(
        f"INSERT INTO {table} SELECT i.* FROM incoming i SEMI JOIN publish_fresh USING ({k})"
    )
    con.execute("DROP TABLE publish_stale")
    con.execute("DROP TABLE publish_fresh")
