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
- `pairs`          every scored candidate pair, with its conflict flag (review, explain, and
                   what an incremental run keeps of the pairs it does not compare again)
- `events`         engagements, each with the key that ties it to a person (a record
                   `source:id`, or a standardised email/phone); untied ones (their person not
                   known yet) wait with a null customer for a later run
- `match_records`  each record as the matcher sees it (standardised fields, blocking and
                   golden inputs): its columns follow the project's fields
- `term_frequencies` the value shares the model scores with, kept with the model
- `quarantine`     rows a run could not use, with the reason
- `runs`           one row per published run: config fingerprint, model, metrics
- `changes`        the change feed: new customers, merges, splits, retirements and golden-record
                   changes, numbered in publish order (see `changes`): append-only
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from c360.errors import StoreError
from c360.store.base import Decision, RunRecord
from c360.store.points import INDEXES, MATCH_RECORDS, point_query, pointed
from c360.store.schema import SCHEMA
from c360.store.writes import PublishMethods

__all__ = ["SCHEMA", "Decision", "DuckDBStore", "RunRecord"]


class DuckDBStore(PublishMethods):
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
                self._add_missing_columns(name, columns)

    def _add_missing_columns(self, name: str, columns: str) -> None:
        """A store written by an earlier version gains the columns added since (null)."""
        have = {str(r[0]) for r in self._con.execute(f"DESCRIBE {name}").fetchall()}
        for part in columns.split(","):
            column, kind = part.strip().split(maxsplit=1)
            if column not in have:
                self._con.execute(f"ALTER TABLE {name} ADD COLUMN {column} {kind}")

    @classmethod
    def _over(cls, con: duckdb.DuckDBPyConnection, path: Path) -> DuckDBStore:
        store = cls.__new__(cls)
        store.path, store._con = path, con
        return store

    def cursor(self) -> DuckDBStore:
        """Another handle on the same open database, for another thread (DuckDB connections
        are not shared between threads; their cursors see the same data)."""
        return DuckDBStore._over(self._con.cursor(), self.path)

    def ensure_indexes(self) -> None:
        """Index the columns a service looks one customer or record up by (point queries stay
        in the milliseconds at millions of rows). Kept in the file; publishes maintain them."""
        for table, columns in INDEXES:
            if table == MATCH_RECORDS and not self.has_match_records():
                continue
            name = f"ix_{table}_{'_'.join(columns)}"
            self._con.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({', '.join(columns)})"
            )

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

    def match_records(self) -> pa.Table | None:
        """The records as the last full or incremental run left them for matching."""
        if not self._has_table(MATCH_RECORDS):
            return None
        return self._con.sql(f"SELECT * FROM {MATCH_RECORDS}").to_arrow_table()

    def known_records(
        self, sources: Sequence[str], only: Mapping[str, Sequence[str]] | None = None
    ) -> dict[str, pa.Table]:
        """Per source, its stored records' ids and content hashes (`_id`, `_hash`); with
        `only`, just those ids of each source."""
        out = {}
        for source in sources:
            if only is not None:
                ids = sorted(set(only.get(source, ())))
                marks = ", ".join("?" for _ in ids) or "NULL"
                out[source] = self._con.sql(
                    "SELECT record_id AS _id, content_hash AS _hash FROM records"
                    f" WHERE source = ? AND record_id IN ({marks})",
                    params=[source, *ids],
                ).to_arrow_table()
                continue
            out[source] = self._con.sql(
                "SELECT record_id AS _id, content_hash AS _hash FROM records WHERE source = ?",
                params=[source],
            ).to_arrow_table()
        return out

    def has_match_records(self) -> bool:
        return self._has_table(MATCH_RECORDS)

    def _has_table(self, name: str) -> bool:
        return bool(
            self._con.execute(
                "SELECT 1 FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main'",
                [name],
            ).fetchall()
        )

    def matching(
        self, name: str, keys: pa.Table, where: str = "", columns: str = "t.*"
    ) -> pa.Table:
        """Rows of `name` whose values in `keys`' columns equal one of its rows."""
        if name not in SCHEMA and name != MATCH_RECORDS:
            raise StoreError(f"unknown table {name!r}", hint=f"tables: {', '.join(SCHEMA)}")
        if pointed(name, keys):
            return self._matching_points(name, keys, where, columns)
        on = " AND ".join(f"t.{c} = k.{c}" for c in keys.column_names)
        self._con.register("matching_keys", keys)
        result = self._con.sql(
            f"SELECT {columns} FROM {name} t SEMI JOIN matching_keys k ON {on}"
            + (f" WHERE {where}" if where else "")
        ).to_arrow_table()
        self._con.unregister("matching_keys")
        return result

    def _matching_points(self, name: str, keys: pa.Table, where: str, columns: str) -> pa.Table:
        """`matching` for a few keys: one indexed point query per distinct key."""
        select = columns.replace("t.*", "t.* EXCLUDE (_rowid)")
        sql, params = point_query(name, keys, select)
        sql += f" AND ({where})" if where else ""
        parts = [self._con.sql(sql, params=p).to_arrow_table() for p in params]
        return pa.concat_tables(parts) if len(parts) > 1 else parts[0]

    def customer_count(self) -> int:
        (n,) = self._con.execute("SELECT count(*) FROM customers").fetchall()[0]
        return int(n)

    def counts(self) -> tuple[int, int]:
        """Customers, and events tied to one."""
        row = self._con.execute(
            "SELECT (SELECT count(*) FROM customers),"
            " (SELECT count(*) FROM events WHERE customer_id IS NOT NULL)"
        ).fetchall()[0]
        return int(row[0]), int(row[1])

    def source_counts(self) -> dict[tuple[str, str], int]:
        """Per ("people" | "events", source): records held, events tied."""
        rows = self._con.execute(
            "SELECT 'people', source, count(*) FROM records GROUP BY ALL UNION ALL"
            " SELECT 'events', source, count(*) FROM events WHERE customer_id IS NOT NULL"
            " GROUP BY ALL"
        ).fetchall()
        return {(str(k), str(s)): int(n) for k, s, n in rows}

    def query_arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        return self._con.sql(sql, params=list(params) or None).to_arrow_table()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        result = self._con.execute(sql, list(params))
        names = [d[0] for d in result.description or []]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]

    def last_run(self) -> RunRecord | None:
        # A run that used the model of the run before keeps none of its own (`_finish`).
        rows = self.query(
            "SELECT * REPLACE (coalesce(model, (SELECT m.model FROM runs m WHERE m.model IS NOT"
            " NULL ORDER BY m.finished_at DESC, m.run_id DESC LIMIT 1)) AS model)"
            " FROM runs ORDER BY finished_at DESC, run_id DESC LIMIT 1"
        )
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

    def stream(self, sql: str, batch_rows: int) -> pa.RecordBatchReader:
        """A query's result in batches, for results too big to hold at once. The reader must
        be drained before the store is used again."""
        return self._con.sql(sql).to_arrow_reader(batch_rows)

    def changes(self, since: int, limit: int) -> list[dict[str, Any]]:
        """The change feed after cursor `since`, oldest first."""
        return self.query(
            "SELECT seq, changed_at, kind, customer_id, other_id, run_id FROM changes WHERE seq > ?"
            " ORDER BY seq LIMIT ?",
            [since, limit],
        )

    def last_change(self) -> int:
        """The newest change's `seq` (0 before the first publish)."""
        (n,) = self._con.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchall()[0]
        return int(n)


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
