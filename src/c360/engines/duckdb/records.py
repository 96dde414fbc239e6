"""Records in SQL: the `records` table built from sources and standardised lookups, and the
value statistics the model needs (how often two random records agree exactly)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import duckdb
import pyarrow as pa

from c360.engines.base import Lookup
from c360.engines.duckdb.render import quote
from c360.engines.duckdb.results import first_row

__all__ = ["build_records", "drop_unchanged", "exact_agreement", "raw_row_sql", "set_seen"]


def build_records(
    con: duckdb.DuckDBPyConnection,
    sources: Sequence[tuple[str, str]],
    id_columns: Sequence[str | None],
    lookups: Sequence[Lookup],
    fields: Sequence[str],
    raw_fields: Sequence[tuple[str, str, str]],
    updated_at_columns: Sequence[str | None] | None = None,
    keep_raw: bool = False,
) -> int:
    """Build `records` from the source tables and the standardised-value lookups.

    `sources` is (table, source name); `raw_fields` is (table, column, output) for values
    kept as written (for `exact` rules and golden records). With `keep_raw`, each record
    also keeps its whole source row as JSON (`_raw`, for lineage and erasure) and a content
    hash (`_hash`, to find what changed since the last run); `_updated_at` comes from the
    source's updated-at column. Returns the number of records.
    """
    stamps = list(updated_at_columns or [None] * len(sources))
    con.execute(
        "CREATE OR REPLACE TABLE sources AS SELECT * FROM"
        " (SELECT unnest(?) AS name, unnest(range(?)) AS _src)",
        [[name for _, name in sources], len(sources)],
    )
    selects = []
    for i, ((table, _), id_column) in enumerate(zip(sources, id_columns, strict=True)):
        joins, outputs = [], {}
        for j, lk in enumerate(x for x in lookups if x.source_table == table):
            alias = f"lk_{i}_{j}"
            con.register(alias, lk.table)
            joins.append(f"LEFT JOIN {alias} ON {alias}.raw = t.{quote(lk.column)}")
            for name in lk.table.column_names:
                if name not in ("raw", "flag"):
                    outputs[name] = f"{alias}.{quote(name)}"
        for t_, column, output in raw_fields:
            if t_ == table:
                outputs[output] = f"t.{quote(column)}"
        id_expr = f"t.{quote(id_column)}" if id_column else "CAST(t._row AS VARCHAR)"
        stamp = stamps[i]
        outputs["_updated_at"] = f"t.{quote(stamp)}" if stamp else "NULL::VARCHAR"
        if keep_raw:
            outputs["_raw"] = raw_row_sql(con, table)
            outputs["_hash"] = f"md5({raw_row_sql(con, table)})"
        cols = ", ".join(f"{expr} AS {quote(name)}" for name, expr in outputs.items())
        selects.append(
            f"SELECT {i}::SMALLINT AS _src, t._row, {id_expr} AS _id"
            + (f", {cols}" if cols else "")
            + f" FROM {quote(table)} t {' '.join(joins)}"
        )
    union = " UNION ALL BY NAME ".join(f"({s})" for s in selects)
    con.execute(
        f"CREATE OR REPLACE TABLE records AS SELECT"
        f" (row_number() OVER (ORDER BY _src, _row) - 1)::BIGINT AS _rid, *"
        f" FROM ({union}) ORDER BY _src, _row"
    )
    for i, _ in enumerate(sources):
        for j, _ in enumerate(lookups):
            with contextlib.suppress(duckdb.Error):
                con.unregister(f"lk_{i}_{j}")
    existing = {r[0] for r in con.execute("DESCRIBE records").fetchall()}
    for f in fields:
        if f not in existing:
            con.execute(f"ALTER TABLE records ADD COLUMN {quote(f)} VARCHAR")
    (n,) = first_row(con.execute("SELECT count(*) FROM records")) or (0,)
    return int(n)


def raw_row_sql(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """A source row (alias `t`) as JSON text: kept as the raw row, hashed for change detection."""
    columns = [str(r[0]) for r in con.execute(f"DESCRIBE {quote(table)}").fetchall()]
    packed = ", ".join(f"{quote(c)} := t.{quote(c)}" for c in columns if c != "_row")
    return f"CAST(to_json(struct_pack({packed})) AS VARCHAR)"


def drop_unchanged(
    con: duckdb.DuckDBPyConnection, table: str, id_column: str | None, known: pa.Table
) -> None:
    """Delete the rows of a source table whose content the store already holds.

    `known` is (`_id`, `_hash`) of the stored records. Every row's id and position are kept
    first in `seen_<table>` (`_id`, `_row`): an incremental run learns from it which records
    are gone and which moved.
    """
    id_expr = f"t.{quote(id_column)}" if id_column else "CAST(t._row AS VARCHAR)"
    seen = quote("seen_" + table)
    con.execute(
        f"CREATE OR REPLACE TABLE {seen} AS SELECT {id_expr} AS _id, t._row FROM {quote(table)} t"
    )
    con.register("known_rows", known)
    con.execute(
        f"DELETE FROM {quote(table)} WHERE _row IN (SELECT t._row FROM {quote(table)} t"
        f" JOIN known_rows k ON k._id = {id_expr} AND k._hash = md5({raw_row_sql(con, table)}))"
    )
    con.unregister("known_rows")


def set_seen(
    con: duckdb.DuckDBPyConnection,
    table: str,
    ids: Sequence[str | None],
    rows: Sequence[int] | None = None,
) -> None:
    """`seen_<table>` from a source's ids in full-read order, when only some rows were read
    (with `rows`, each id's row number instead of its position)."""
    numbers = list(rows) if rows is not None else list(range(len(ids)))
    con.register(
        "seen_in",
        pa.table({"_id": pa.array(list(ids), pa.string()), "_row": pa.array(numbers, pa.int64())}),
    )
    con.execute(
        f"CREATE OR REPLACE TABLE {quote('seen_' + table)} AS"
        " SELECT _id, _row FROM seen_in WHERE _id IS NOT NULL"
    )
    con.unregister("seen_in")


def exact_agreement(
    con: duckdb.DuckDBPyConnection, fields: Sequence[str], across_only: bool
) -> dict[str, float]:
    """P(two random records agree exactly on a field | both non-null), computed exactly.

    With `across_only`, the random pair is drawn from two different sources.
    """
    out = {}
    for f in fields:
        col = quote(f)
        if across_only:
            row = first_row(
                con.execute(
                    f"""
                WITH c AS (SELECT {col} AS v, _src, count(*)::DOUBLE AS n FROM records
                           WHERE {col} IS NOT NULL GROUP BY 1, 2),
                     v AS (SELECT sum(n) AS n, sum(n * n) AS nn FROM c GROUP BY v),
                     s AS (SELECT sum(n) AS n FROM c GROUP BY _src)
                SELECT (SELECT sum(n * n - nn) / 2 FROM v),
                       ((SELECT sum(n) FROM s) ^ 2 - (SELECT sum(n * n) FROM s)) / 2
                """
                )
            )
        else:
            row = first_row(
                con.execute(
                    f"""
                WITH v AS (SELECT count(*)::DOUBLE AS n FROM records
                           WHERE {col} IS NOT NULL GROUP BY {col})
                SELECT sum(n * (n - 1)) / 2, (sum(n) * (sum(n) - 1)) / 2 FROM v
                """
                )
            )
        agree, total = row if row is not None else (None, None)
        out[f] = float(agree) / float(total) if agree is not None and total else 0.0
    return out
