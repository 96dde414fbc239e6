"""Exporting the published state as CSV, Parquet or JSON Lines."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from c360.errors import ConfigError
from c360.store import Store

__all__ = ["EXPORTS", "export_table"]

EXPORTS = ("customers", "links", "events", "redirects")


def _customers(store: Store) -> pa.Table:
    """One row per customer: the golden record spread into columns."""
    fields = [r["field"] for r in store.query("SELECT DISTINCT field FROM golden ORDER BY field")]
    rows = store.query(
        "SELECT c.customer_id, c.created_at, c.updated_at, c.records, g.field, g.value"
        " FROM customers c LEFT JOIN golden g USING (customer_id) ORDER BY c.customer_id"
    )
    wide: dict[str, dict[str, object]] = {}
    for r in rows:
        row = wide.setdefault(
            r["customer_id"],
            {"customer_id": r["customer_id"], "created_at": r["created_at"],
             "updated_at": r["updated_at"], "records": r["records"]},
        )  # fmt: skip
        if r["field"] is not None:
            row[r["field"]] = r["value"]
    columns = ["customer_id", "created_at", "updated_at", "records", *fields]
    return pa.table({c: [row.get(c) for row in wide.values()] for c in columns})


def export_table(store: Store, what: str, fmt: str, output: Path) -> int:
    if what not in EXPORTS:
        raise ConfigError(f"cannot export {what!r}", hint=f"choose one of {', '.join(EXPORTS)}")
    if fmt not in ("csv", "parquet", "jsonl"):
        raise ConfigError(f"unknown format {fmt!r}", hint="choose csv, parquet or jsonl")
    table = _customers(store) if what == "customers" else store.table(what)
    output.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        pacsv.write_csv(table, output)
    elif fmt == "parquet":
        pq.write_table(table, output)
    else:
        import json

        with output.open("w", encoding="utf-8") as fh:
            for row in table.to_pylist():
                fh.write(json.dumps(row, default=str) + "\n")
    return int(table.num_rows)
