"""How the store writes: steward decisions, publishes (a whole run's state, or an incremental
run's changes) and posted events, each in one transaction; the rows a change touches, and
replacing a table by touching only the rows that differ."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from c360.errors import StoreError
from c360.store import changes
from c360.store.base import Decision, RunRecord
from c360.store.points import MATCH_RECORDS, point_query, pointed
from c360.store.schema import REPLACED, SCHEMA, SCHEMA_COLUMNS

__all__ = ["PublishMethods", "customers_touched", "replace_rows"]


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


class PublishMethods:
    """The writing half of `DuckDBStore`: steward decisions, publishes and posted events, each
    one transaction."""

    _con: duckdb.DuckDBPyConnection

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
        missing = [t for t in (*REPLACED, MATCH_RECORDS) if t not in tables]
        if missing:
            raise StoreError(f"publish needs every replaced table; missing {missing}")
        con = self._con
        with self._publishing():
            changes.before_publish(con, None)
            for name, key in REPLACED.items():
                con.register("incoming", tables[name])
                replace_rows(con, name, key, SCHEMA_COLUMNS[name])
                con.unregister("incoming")
                if pause is not None:
                    pause(f"publish:{name}")
            con.register("incoming", tables[MATCH_RECORDS])
            con.execute(f"CREATE OR REPLACE TABLE {MATCH_RECORDS} AS SELECT * FROM incoming")
            con.unregister("incoming")
            self._finish(run, redirects, quarantine)
            changes.after_publish(con, run.run_id, redirects, None)

    def publish_changes(
        self,
        run: RunRecord,
        deletes: Sequence[tuple[str, pa.Table]],
        inserts: Mapping[str, pa.Table],
        redirects: pa.Table,
        quarantine: pa.Table,
        pause: Any = None,
        checkpoint: bool = True,
    ) -> None:
        """Apply an incremental run's changes, all or nothing (one transaction); a small one
        (a real-time write) leaves the checkpoint to DuckDB (`checkpoint=False`).

        `deletes` are (table, keys): rows whose values in the keys' columns equal a key row
        go; then `inserts` are appended. `match_records` may be in both.
        """
        con = self._con
        scope = customers_touched(deletes, inserts)
        with self._publishing(checkpoint):
            changes.before_publish(con, scope)
            for name, keys in deletes:
                if name not in SCHEMA and name != MATCH_RECORDS:
                    raise StoreError(f"unknown table {name!r}")
                if keys.num_rows == 0:
                    continue
                if pointed(name, keys):
                    sql, params = point_query(name, keys, "_rowid")
                    rowids = [r[0] for p in params for r in con.execute(sql, p).fetchall()]
                    if rowids:
                        con.execute(
                            f"DELETE FROM {name} WHERE rowid IN ({', '.join(map(str, rowids))})"
                        )
                    continue
                con.register("deleted_keys", keys)
                on = " AND ".join(f"{name}.{c} = d.{c}" for c in keys.column_names)
                con.execute(f"DELETE FROM {name} USING deleted_keys d WHERE {on}")
                con.unregister("deleted_keys")
            for name, rows in inserts.items():
                if rows.num_rows == 0:
                    continue
                con.register("incoming", rows)
                con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM incoming")
                con.unregister("incoming")
                if pause is not None:
                    pause(f"publish:{name}")
            self._finish(run, redirects, quarantine)
            changes.after_publish(con, run.run_id, redirects, scope)

    def add_events(self, events: pa.Table, quarantine: pa.Table) -> None:
        """Store events posted outside a run (replacing any with the same source and id) and
        the rows refused, in one transaction."""
        con = self._con
        with self._publishing(checkpoint=False):
            if events.num_rows:
                con.register("incoming", events)
                con.execute(
                    "DELETE FROM events USING incoming i"
                    " WHERE events.source = i.source AND events.event_id = i.event_id"
                )
                con.execute("INSERT INTO events BY NAME SELECT * FROM incoming")
                con.unregister("incoming")
            if quarantine.num_rows:
                con.register("incoming", quarantine)
                con.execute("INSERT INTO quarantine SELECT * FROM incoming")
                con.unregister("incoming")

    @contextlib.contextmanager
    def _publishing(self, checkpoint: bool = True) -> Iterator[None]:
        """One transaction: committed whole, or rolled back whole; then checkpointed (a small
        write leaves that to DuckDB, which checkpoints once its log has grown)."""
        self._con.execute("BEGIN TRANSACTION")
        try:
            yield
            self._con.execute("COMMIT")
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        if checkpoint:
            self._con.execute("CHECKPOINT")

    def _finish(self, run: RunRecord, redirects: pa.Table, quarantine: pa.Table) -> None:
        """The append-only part of a publish: redirects, quarantine and the run itself."""
        con = self._con
        for name, data in (("redirects", redirects), ("quarantine", quarantine)):
            con.register("incoming", data)
            con.execute(f"INSERT INTO {name} SELECT * FROM incoming")
            con.unregister("incoming")
        # The model is kept once, by the run that trained it: a run that used the one before
        # (an incremental run, a real-time write — thousands a day) stores none.
        (kept,) = con.execute(
            "SELECT (SELECT model FROM runs WHERE model IS NOT NULL"
            " ORDER BY finished_at DESC, run_id DESC LIMIT 1)"
        ).fetchall()[0]
        con.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                run.run_id,
                run.started_at,
                run.finished_at,
                run.kind,
                run.fingerprint,
                None if run.model == kept else run.model,
                json.dumps(dict(run.metrics), default=str),
            ],
        )
