"""Building the match index from the store, and keeping it current as writes are published
(`MatchIndex`, whose tables `c360.serve.match_index` describes)."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from c360.engines.base import BlockingRule
from c360.engines.duckdb.render import quote
from c360.project.neighbourhood import PAIRS_SCHEMA, key_of
from c360.store import DuckDBStore

log = logging.getLogger(__name__)

__all__ = ["ISSUED_FORMAT", "PAIR_COLUMNS", "IndexUpkeep"]

_BATCH = 50_000
PAIR_COLUMNS = tuple(PAIRS_SCHEMA.names)
ISSUED_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


class IndexUpkeep:
    """The building and upkeep half of `MatchIndex`."""

    # What the index has: its file, rules and shared fields, whether it can be used, the lock
    # its writes take, and its connection and metadata.
    path: Path
    rules: list[BlockingRule]
    sharing: list[str]
    usable: bool
    _lock: threading.Lock
    _settings: Callable[[], str]
    _meta: Callable[[sqlite3.Connection, str], str | None]
    _connect: Callable[[], sqlite3.Connection]
    close: Callable[[], None]

    def build(self, store: DuckDBStore, progress: Callable[[int, int], None] | None = None) -> int:
        """Copy the store's matching state into a new file that replaces the old one whole."""
        self.close()
        partial = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        partial.unlink(missing_ok=True)
        db = sqlite3.connect(partial)
        counts = store.query(
            "SELECT (SELECT count(*) FROM match_records) AS records,"
            " (SELECT count(*) FROM links) AS links, (SELECT count(*) FROM pairs) AS pairs,"
            " (SELECT count(*) FROM customers) AS customers"
        )[0]
        records, total = int(counts["records"]), sum(int(n) for n in counts.values())
        try:
            db.execute("PRAGMA journal_mode = OFF")
            db.execute("PRAGMA synchronous = OFF")
            schema = store.query_arrow("SELECT * FROM match_records LIMIT 0").schema
            columns = ", ".join(quote(n) for n in schema.names)
            db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
            db.execute(f"CREATE TABLE records ({columns})")
            db.execute("CREATE TABLE keys (rule INTEGER, key TEXT, source TEXT, id TEXT)")
            db.execute("CREATE TABLE holders (field TEXT, value TEXT, source TEXT, id TEXT)")
            db.execute("CREATE TABLE links (source TEXT, id TEXT, customer_id TEXT)")
            db.execute(f"CREATE TABLE pairs ({', '.join(PAIR_COLUMNS)}, PRIMARY KEY (source_l,"
                       " record_id_l, source_r, record_id_r)) WITHOUT ROWID")  # fmt: skip
            db.execute("CREATE TABLE customers (customer_id TEXT PRIMARY KEY, created_at TEXT)")
            copies: list[tuple[str, Callable[[pa.RecordBatch], object]]] = [
                ("SELECT * FROM match_records",
                 lambda b: self._insert_records(db, pa.Table.from_batches([b]))),
                ("SELECT source, record_id, customer_id FROM links",
                 lambda b: db.executemany("INSERT INTO links VALUES (?, ?, ?)", _rows(b))),
                (f"SELECT {', '.join(PAIR_COLUMNS)} FROM pairs ORDER BY source_l, record_id_l,"
                 " source_r, record_id_r",
                 lambda b: db.executemany(_INSERT_PAIRS, _rows(b))),
                ("SELECT customer_id, created_at FROM customers",
                 lambda b: db.executemany("INSERT INTO customers VALUES (?, ?)", _issued(b))),
            ]  # fmt: skip
            done = 0
            for sql, insert in copies:
                for batch in store.stream(sql, _BATCH):
                    insert(batch)
                    done += batch.num_rows
                    if progress is not None:
                        progress(done, total)
            db.execute("CREATE UNIQUE INDEX records_key ON records (source, _id)")
            db.execute("CREATE INDEX records_row ON records (source, _row)")
            db.execute("CREATE INDEX keys_key ON keys (rule, key)")
            db.execute("CREATE INDEX keys_record ON keys (source, id)")
            db.execute("CREATE INDEX holders_value ON holders (field, value)")
            db.execute("CREATE INDEX holders_record ON holders (source, id)")
            db.execute("CREATE UNIQUE INDEX links_key ON links (source, id)")
            db.execute("CREATE INDEX links_customer ON links (customer_id)")
            # With the primary key, it covers the lookups by the right record.
            db.execute("CREATE INDEX pairs_r ON pairs (source_r, record_id_r, rule,"
                       " match_probability, conflict)")  # fmt: skip
            run = store.last_run()
            meta = {"settings": self._settings(), "run": run.run_id if run else None,
                    "records": str(records), "schema": schema.serialize().to_pybytes().hex()}  # fmt: skip
            db.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
            db.commit()
            db.execute("PRAGMA journal_mode = WAL")
        except BaseException:
            db.close()
            partial.unlink(missing_ok=True)
            raise
        db.close()
        partial.replace(self.path)
        self.usable = True
        return records

    def _insert_records(self, db: sqlite3.Connection, table: pa.Table) -> None:
        names = table.column_names
        columns = [
            [None if v is None else json.dumps(v) for v in table.column(n).to_pylist()]
            if pa.types.is_list(table.schema.field(n).type) else table.column(n).to_pylist()
            for n in names
        ]  # fmt: skip
        marks = ", ".join("?" * len(names))
        db.executemany(
            f"INSERT INTO records ({', '.join(quote(n) for n in names)}) VALUES ({marks})",
            list(zip(*columns, strict=True)),
        )
        sources, ids = table.column("source").to_pylist(), table.column("_id").to_pylist()
        keys = []
        for k, rule in enumerate(self.rules):
            cols = [table.column(f).to_pylist() if f in names else [None] * table.num_rows
                    for f in rule.fields]  # fmt: skip
            for s, i, values in zip(sources, ids, zip(*cols, strict=True), strict=True):
                key = key_of(values)
                if key is not None:
                    keys.append((k, key, s, i))
        db.executemany("INSERT INTO keys VALUES (?, ?, ?, ?)", keys)
        held = [
            (f, v, s, i)
            for f in self.sharing if f in names
            for s, i, v in zip(sources, ids, table.column(f).to_pylist(), strict=True)
            if v is not None
        ]  # fmt: skip
        db.executemany("INSERT INTO holders VALUES (?, ?, ?, ?)", held)

    def apply(
        self,
        run_id: str,
        deletes: Sequence[tuple[str, pa.Table]],
        inserts: Mapping[str, pa.Table],
    ) -> None:
        """Apply what a publish wrote (its `deletes` and `inserts`, as the store took them).
        The publish is committed already: a failure here leaves the index unusable, not the
        write undone."""
        try:
            self._apply(run_id, deletes, inserts)
        except (sqlite3.Error, OSError):
            log.exception("the match index could not take run %s; writes go over the store", run_id)
            self.usable = False

    def _apply(
        self,
        run_id: str,
        deletes: Sequence[tuple[str, pa.Table]],
        inserts: Mapping[str, pa.Table],
    ) -> None:
        db = self._connect()
        with self._lock:
            db.execute("BEGIN")
            try:
                removed = 0
                for name, keys in deletes:
                    removed += self._delete(db, name, keys)
                added = 0
                if "match_records" in inserts and inserts["match_records"].num_rows:
                    self._insert_records(db, inserts["match_records"])
                    added = inserts["match_records"].num_rows
                if "links" in inserts:
                    links = inserts["links"].select(["source", "record_id", "customer_id"])
                    db.executemany("INSERT INTO links VALUES (?, ?, ?)", _rows(links))
                if "pairs" in inserts:
                    pairs = inserts["pairs"].select(list(PAIR_COLUMNS))
                    db.executemany(_INSERT_PAIRS, _rows(pairs))
                if "customers" in inserts:
                    db.executemany("INSERT OR REPLACE INTO customers VALUES (?, ?)",
                                   _issued(inserts["customers"]))  # fmt: skip
                count = int(self._meta(db, "records") or 0) + added - removed
                db.execute("UPDATE meta SET value = ? WHERE key = 'records'", [str(count)])
                db.execute("UPDATE meta SET value = ? WHERE key = 'run'", [run_id])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _delete(self, db: sqlite3.Connection, name: str, keys: pa.Table) -> int:
        rows = _rows(keys)
        if not rows:
            return 0
        if name == "match_records":
            before = db.total_changes
            db.executemany("DELETE FROM records WHERE source = ? AND _id = ?", rows)
            removed = db.total_changes - before
            db.executemany("DELETE FROM keys WHERE source = ? AND id = ?", rows)
            db.executemany("DELETE FROM holders WHERE source = ? AND id = ?", rows)
            return removed
        if name == "links":
            db.executemany("DELETE FROM links WHERE source = ? AND id = ?", rows)
        elif name == "customers":
            db.executemany("DELETE FROM customers WHERE customer_id = ?", rows)
        elif name == "pairs":
            side = "l" if keys.column_names[0] == "source_l" else "r"
            db.executemany(
                f"DELETE FROM pairs WHERE source_{side} = ? AND record_id_{side} = ?", rows
            )
        return 0


_INSERT_PAIRS = f"INSERT OR REPLACE INTO pairs VALUES ({', '.join('?' * len(PAIR_COLUMNS))})"


def _rows(table: pa.Table | pa.RecordBatch) -> list[tuple[Any, ...]]:
    columns = [c.to_pylist() for c in table.columns]
    return list(zip(*columns, strict=True)) if columns else []


def _issued(table: pa.Table | pa.RecordBatch) -> list[tuple[str, str]]:
    """(customer id, issue time as sortable text) of a `customers` table."""
    ids = table.column("customer_id").to_pylist()
    times = table.column("created_at").to_pylist()
    return [(str(c), at.strftime(ISSUED_FORMAT)) for c, at in zip(ids, times, strict=True)]
