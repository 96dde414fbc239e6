"""Exporting the published state as CSV, Parquet or JSON Lines."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from c360.errors import ConfigError
from c360.governance import Guard
from c360.governance.consent import refusing_processing
from c360.store import Store

__all__ = ["EXPORTS", "export_table"]

EXPORTS = ("customers", "links", "events", "redirects")


def _customers(store: Store, guard: Guard | None) -> pa.Table:
    """One row per customer: the golden record spread into columns (a column the role may not
    see is left out; a value it sees masked is masked)."""
    fields = [r["field"] for r in store.query("SELECT DISTINCT field FROM golden ORDER BY field")]
    rows = store.query(
        "SELECT c.customer_id, c.created_at, c.updated_at, c.records, g.field, g.value, g.source"
        " FROM customers c LEFT JOIN golden g USING (customer_id) ORDER BY c.customer_id"
    )
    wide: dict[str, dict[str, object]] = {}
    seen: set[str] = set()
    for r in rows:
        row = wide.setdefault(
            r["customer_id"],
            {"customer_id": r["customer_id"], "created_at": r["created_at"],
             "updated_at": r["updated_at"], "records": r["records"]},
        )  # fmt: skip
        if r["field"] is None:
            continue
        shown, value = (True, r["value"]) if guard is None or guard.open else guard.value(
            r["field"], r["value"], [r["source"]])  # fmt: skip
        if shown:
            row[r["field"]] = value
            seen.add(r["field"])
    kept = fields if guard is None or guard.open else [
        f for f in fields if f in seen or guard.role.for_field(f) != "hide"]  # fmt: skip
    columns = ["customer_id", "created_at", "updated_at", "records", *kept]
    return pa.table({c: [row.get(c) for row in wide.values()] for c in columns})


def _events(store: Store, guard: Guard | None) -> pa.Table:
    """Every event; one the role may not see is left out, a masked one loses its amount and
    its attributes' values."""
    table = store.table("events")
    if guard is None or guard.open:
        return table
    rows = []
    for e in table.to_pylist():
        if isinstance(e.get("attributes"), str):
            e["attributes"] = json.loads(e["attributes"]) if e["attributes"] else {}
        shown = guard.timeline([e])
        if shown:
            row = shown[0]
            # How the event found its person: an email or a phone is that person's value.
            if row.get("tie_kind") in ("email", "phone"):
                for column in ("tie_value", "person"):
                    visible, value = guard.value(row["tie_kind"], row.get(column), ())
                    row[column] = value if visible else None
            if isinstance(row.get("attributes"), dict):
                row["attributes"] = json.dumps(row["attributes"])
            rows.append(row)
    return pa.Table.from_pylist(rows, schema=table.schema) if rows else table.slice(0, 0)


def export_table(
    store: Store, what: str, fmt: str, output: Path, guard: Guard | None = None
) -> int:
    """Write one export; with `guard`, only what its role may see."""
    if what not in EXPORTS:
        raise ConfigError(f"cannot export {what!r}", hint=f"choose one of {', '.join(EXPORTS)}")
    if fmt not in ("csv", "parquet", "jsonl"):
        raise ConfigError(f"unknown format {fmt!r}", hint="choose csv, parquet or jsonl")
    if what == "customers":
        table = _customers(store, guard)
    elif what == "events":
        table = _events(store, guard)
    else:
        table = store.table(what)
    # Customers who refuse processing are not exported. Links and redirects are identity
    # data, which resolution keeps using: they are exported whole.
    withheld = refusing_processing(store) if what in ("customers", "events") else set()
    if withheld:
        held = pa.array(sorted(withheld), pa.string())
        keep = pc.invert(pc.is_in(table.column("customer_id"), held))
        table = table.filter(pc.fill_null(keep, True))
    output.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        pacsv.write_csv(table, output)
    elif fmt == "parquet":
        pq.write_table(table, output)
    else:
        with output.open("w", encoding="utf-8") as fh:
            for row in table.to_pylist():
                fh.write(json.dumps(row, default=str) + "\n")
    return int(table.num_rows)
