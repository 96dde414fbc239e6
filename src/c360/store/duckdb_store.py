"""The embedded store: one DuckDB file in the project folder.

A run computes everything elsewhere (in the engine) and hands the store the new state as Arrow
tables; `publish` replaces the published state in **one transaction**. DuckDB's write-ahead log
makes that all-or-nothing: a process killed at any point, even mid-publish, leaves the previous
published state complete and readable on the next open.

Tables (customer ids are `C-<ULID>`; a record is named by `source` + `record_id`):

- `records`        every ingested source record: content hash, updated-at, raw row and the
                   standardised values (both JSON)
- `links`          record → customer, with the evidence that put it there
- `customers`      one row per current customer: when created, how many records
- `golden`         the golden record, one row per (customer, field), with lineage
- `contact_points` every email and phone of a customer, one marked preferred
- `redirects`      old customer id → new id, with reason (merge/split) and run: append-only
- `decisions`      a steward's link/unlink of two records: survives every run
- `pairs`          scored candidate pairs worth a second look (review, explain)
- `events`         engagements tied to a customer
- `quarantine`     rows a run could not use, with the reason
- `runs`           one row per published run: config fingerprint, model, metrics
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from c360.errors import StoreError

__all__ = ["SCHEMA", "Decision", "DuckDBStore", "RunRecord"]

SCHEMA = {
    "records": "source VARCHAR, record_id VARCHAR, content_hash VARCHAR, updated_at VARCHAR,"
    " raw VARCHAR, std VARCHAR",
    "links": "source VARCHAR, record_id VARCHAR, customer_id VARCHAR, evidence VARCHAR",
    "customers": "customer_id VARCHAR, created_at TIMESTAMP, updated_at TIMESTAMP, records INTEGER",
    "golden": "customer_id VARCHAR, field VARCHAR, value VARCHAR, source VARCHAR,"
    " record_id VARCHAR, updated_at VARCHAR, rule VARCHAR",
    "contact_points": "customer_id VARCHAR, kind VARCHAR, value VARCHAR, preferred BOOLEAN,"
    " sources VARCHAR",
    "redirects": "old_id VARCHAR, new_id VARCHAR, reason VARCHAR, redirected_at TIMESTAMP,"
    " run_id VARCHAR",
    "decisions": "source_l VARCHAR, record_id_l VARCHAR, source_r VARCHAR, record_id_r VARCHAR,"
    " decision VARCHAR, decided_at TIMESTAMP, note VARCHAR",
    "pairs": "source_l VARCHAR, record_id_l VARCHAR, source_r VARCHAR, record_id_r VARCHAR,"
    " match_weight DOUBLE, match_probability DOUBLE, rule VARCHAR",
    "events": "source VARCHAR, event_id VARCHAR, type VARCHAR, department VARCHAR,"
    " occurred_at VARCHAR, status VARCHAR, amount DOUBLE, attributes VARCHAR,"
    " customer_id VARCHAR, person VARCHAR",
    "quarantine": "run_id VARCHAR, source VARCHAR, line BIGINT, row_number BIGINT,"
    " reason VARCHAR, raw VARCHAR",
    "runs": "run_id VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP, kind VARCHAR,"
    " fingerprint VARCHAR, model VARCHAR, metrics VARCHAR",
}
SCHEMA_COLUMNS = {
    name: [part.strip().split()[0] for part in columns.split(",")]
    for name, columns in SCHEMA.items()
}

# Replaced by each publish (the others only grow), each with the key that names a row: a publish
# writes only the rows whose content changed, so a rerun on mostly unchanged data writes little.
_REPLACED = {
    "records": ("source", "record_id"),
    "links": ("source", "record_id"),
    "customers": ("customer_id",),
    "golden": ("customer_id", "field"),
    "contact_points": ("customer_id", "kind", "value"),
    "pairs": ("source_l", "record_id_l", "source_r", "record_id_r"),
    "events": ("source", "event_id"),
}


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    started_at: datetime
    finished_at: datetime
    kind: str
    fingerprint: str
    model: str
    metrics: Mapping[str, Any]


@dataclass(frozen=True)
class Decision:
    left: tuple[str, str]
    right: tuple[str, str]
    decision: str  # "link" | "unlink"
    at: datetime
    note: str = ""


class DuckDBStore:
    """The project's store in one DuckDB file; open it per command, close it after."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        if read_only and not path.exists():
            raise StoreError(
                f"{path}: no store yet", hint="run `c360 run` first to build the customer 360"
            )
        try:
            self._con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as e:
            raise StoreError(
                f"{path}: cannot open the store: {str(e).splitlines()[0]}",
                hint="is another c360 process (a run or `c360 serve`) using it?",
            ) from None
        if not read_only:
            for name, columns in SCHEMA.items():
                self._con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> DuckDBStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading --------------------------------------------------------------------------

    def table(self, name: str, where: str = "", params: Sequence[Any] = ()) -> pa.Table:
        if name not in SCHEMA:
            raise StoreError(f"unknown table {name!r}", hint=f"tables: {', '.join(SCHEMA)}")
        sql = f"SELECT * FROM {name}" + (f" WHERE {where}" if where else "")
        return self._con.sql(sql, params=list(params) or None).to_arrow_table()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        result = self._con.execute(sql, list(params))
        names = [d[0] for d in result.description or []]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]

    def last_run(self) -> RunRecord | None:
        rows = self.query("SELECT * FROM runs ORDER BY finished_at DESC, run_id DESC LIMIT 1")
        if not rows:
            return None
        r = rows[0]
        return RunRecord(
            run_id=r["run_id"],
            started_at=r["started_at"],
            finished_at=r["finished_at"],
            kind=r["kind"],
            fingerprint=r["fingerprint"],
            model=r["model"],
            metrics=json.loads(r["metrics"] or "{}"),
        )

    def decisions(self) -> list[Decision]:
        rows = self.query("SELECT * FROM decisions ORDER BY decided_at, source_l, record_id_l")
        return [
            Decision(
                (r["source_l"], r["record_id_l"]),
                (r["source_r"], r["record_id_r"]),
                r["decision"],
                r["decided_at"],
                r["note"] or "",
            )
            for r in rows
        ]

    def resolve_id(self, customer_id: str) -> tuple[list[str], list[dict[str, Any]]]:
        """Current customer ids for any id ever issued, and the redirects followed."""
        frontier, seen, chain = [customer_id], {customer_id}, []
        found: list[str] = []
        while frontier:
            cid = frontier.pop(0)
            if self.query("SELECT 1 AS x FROM customers WHERE customer_id = ?", [cid]):
                found.append(cid)
                continue
            for r in self.query(
                "SELECT * FROM redirects WHERE old_id = ? ORDER BY redirected_at, new_id", [cid]
            ):
                chain.append(r)
                if r["new_id"] not in seen:
                    seen.add(r["new_id"])
                    frontier.append(r["new_id"])
        return found, chain

    # --- writing --------------------------------------------------------------------------

    def add_decision(self, decision: Decision) -> None:
        """Record a steward's decision; a later one about the same pair supersedes it."""
        (sl, il), (sr, ir) = sorted([decision.left, decision.right])
        self._con.execute("BEGIN TRANSACTION")
        self._con.execute(
            "DELETE FROM decisions WHERE source_l = ? AND record_id_l = ?"
            " AND source_r = ? AND record_id_r = ?",
            [sl, il, sr, ir],
        )
        self._con.execute(
            "INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?)",
            [sl, il, sr, ir, decision.decision, decision.at, decision.note],
        )
        self._con.execute("COMMIT")

    def publish(
        self,
        run: RunRecord,
        tables: Mapping[str, pa.Table],
        redirects: pa.Table,
        quarantine: pa.Table,
        pause: Any = None,
    ) -> None:
        """Replace the published state with a run's, all or nothing (one transaction).

        `pause(point)` is called between steps; tests use it to kill the process mid-publish.
        """
        missing = [t for t in _REPLACED if t not in tables]
        if missing:
            raise StoreError(f"publish needs every replaced table; missing {missing}")
        con = self._con
        con.execute("BEGIN TRANSACTION")
        try:
            for name, key in _REPLACED.items():
                con.register("incoming", tables[name])
                _replace(con, name, key)
                con.unregister("incoming")
                if pause is not None:
                    pause(f"publish:{name}")
            for name, data in (("redirects", redirects), ("quarantine", quarantine)):
                con.register("incoming", data)
                con.execute(f"INSERT INTO {name} SELECT * FROM incoming")
                con.unregister("incoming")
            con.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    run.run_id,
                    run.started_at,
                    run.finished_at,
                    run.kind,
                    run.fingerprint,
                    run.model,
                    json.dumps(dict(run.metrics), default=str),
                ],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("CHECKPOINT")


def _replace(con: duckdb.DuckDBPyConnection, table: str, key: tuple[str, ...]) -> None:
    """Make `table` equal to `incoming`, touching only rows that differ.

    Rows are compared by key and a hash of the whole row, so the diff holds keys and hashes,
    not a second copy of every row: rows whose key is gone or whose content changed are
    deleted, and new or changed rows are inserted.
    """
    if not con.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchall():
        # A first publish: nothing to compare with.
        con.execute(f"INSERT INTO {table} SELECT * FROM incoming")
        return
    columns = ", ".join(SCHEMA_COLUMNS[table])
    k = ", ".join(key)
    fingerprint = f"SELECT {k}, hash({columns}) AS _h FROM"
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


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
