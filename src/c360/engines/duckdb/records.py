"""Records in SQL: the `records` table built from sources and standardised lookups, and the
value statistics the model needs (how often two random records agree exactly)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import duckdb

from c360.engines.base import Lookup
from c360.engines.duckdb.render import quote
from c360.engines.duckdb.results import first_row

__all__ = ["build_records", "exact_agreement"]


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
            columns = [str(r[0]) for r in con.execute(f"DESCRIBE {quote(table)}").fetchall()]
            packed = ", ".join(f"{quote(c)} := t.{quote(c)}" for c in columns if c != "_row")
            outputs["_raw"] = f"CAST(to_json(struct_pack({packed})) AS VARCHAR)"
            outputs["_hash"] = f"md5(CAST(to_json(struct_pack({packed})) AS VARCHAR))"
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
