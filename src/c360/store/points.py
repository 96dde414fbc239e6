"""Indexed point statements: what the store indexes, and how a few keys are found through it.

DuckDB answers a lone equality on an indexed column in about a millisecond at millions of rows;
any other filter beside it, or a join with a table of keys, makes it scan the table. So a lookup
or a delete naming at most `POINT_KEYS` keys, one of whose columns is indexed, is made one
statement per key: the index finds the rows by that column (materialised, so the optimiser
cannot fold the other tests back into a scan), the other columns are tested on what it found,
and rows are named by `rowid`.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

__all__ = ["INDEXES", "MATCH_RECORDS", "POINT_KEYS", "point_query", "pointed"]

# Written whole by a full run; its columns are the project's fields, so it is not in SCHEMA.
MATCH_RECORDS = "match_records"

# What `DuckDBStore.ensure_indexes` indexes: the lookups of the 360 view, search, the change
# feed and the real-time path.
INDEXES = (
    ("customers", ("customer_id",)),
    ("golden", ("customer_id",)),
    ("contact_points", ("customer_id",)),
    ("contact_points", ("value",)),
    ("links", ("customer_id",)),
    ("links", ("record_id",)),
    ("records", ("record_id",)),
    ("events", ("customer_id",)),
    ("redirects", ("old_id",)),
    ("changes", ("seq",)),
    ("pairs", ("record_id_l",)),
    ("pairs", ("record_id_r",)),
    ("events", ("event_id",)),
    ("events", ("tie_value",)),
    ("term_frequencies", ("value",)),
    (MATCH_RECORDS, ("_id",)),
)

POINT_KEYS = 64


def pointed(table: str, keys: pa.Table) -> bool:
    """Whether these keys are best found one by one: few, and an index covers one column."""
    return 0 < keys.num_rows <= POINT_KEYS and any(
        (table, (c,)) in INDEXES for c in keys.column_names
    )


def point_query(table: str, keys: pa.Table, select: str) -> tuple[str, list[list[Any]]]:
    """A query finding one key's rows of `table` (as `t`, with its `_rowid`), and each distinct
    key's parameters. Call only when `pointed`."""
    indexed = next(c for c in keys.column_names if (table, (c,)) in INDEXES)
    rest = [c for c in keys.column_names if c != indexed]
    test = " AND ".join(f"t.{c} = ?" for c in rest) or "true"
    sql = (
        f"WITH m AS MATERIALIZED (SELECT rowid AS _rowid, * FROM {table} WHERE {indexed} = ?)"
        f" SELECT {select} FROM m t WHERE {test}"
    )
    order = [keys.column_names.index(c) for c in (indexed, *rest)]
    rows = sorted(set(zip(*(c.to_pylist() for c in keys.columns), strict=True)), key=repr)
    return sql, [[r[i] for i in order] for r in rows]
