"""The service's match index: the store's matching state, for point lookups in microseconds.

A real-time write is resolved over its neighbourhood (`c360.project.neighbourhood`): the holders
of its blocking keys, their customers' records and what stored pairs link them to. Finding them
takes a few dozen lookups by key; DuckDB answers each in one to eight milliseconds at a million
records, SQLite in tens of microseconds. So `c360 serve` keeps, beside the read model, a SQLite
copy of what those lookups need (`.c360-match.sqlite`):

- `records`  every `match_records` row, its columns as the store has them;
- `keys`     each record's blocking keys, one row per rule that gives it one;
- `holders`  each record's values of the fields a golden record takes only when not widely
             shared (which customers hold a value);
- `links`    record → customer;
- `pairs`    the stored scored pairs (one row each), stored in order of their left record
             and indexed by the right one with what tells a link, so that finding the
             records linked to a record, or the pairs among a set of records, reads the
             index alone;
- `customers` when each customer ID was issued (the older of two merged IDs is kept).

It is derived data, like the read model: it records the run it reflects, is rebuilt when the
store has moved on without it, and each write applies to it the rows it published.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from c360.engines.base import BlockingRule
from c360.engines.duckdb.render import quote
from c360.model import FieldKind
from c360.project.config import ProjectConfig
from c360.project.neighbourhood import PAIRS_SCHEMA, Key, Row, key_of
from c360.project.state import blocking_of
from c360.project.steps import golden_fields
from c360.store import DuckDBStore

log = logging.getLogger(__name__)

__all__ = ["MATCH_INDEX_FILE", "MatchIndex", "match_index_of"]

MATCH_INDEX_FILE = ".c360-match.sqlite"
_FORMAT = 4  # bump when the tables or the key encoding change
_BATCH = 50_000
_PAIRS = tuple(PAIRS_SCHEMA.names)
_LINKED = "(p.rule IS NOT NULL OR (p.match_probability >= ? AND p.conflict IS NOT 1))"
ISSUED_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"
_MMAP_BYTES = 1 << 34
_MAX_VARIABLES = 400  # keys per IN list (two variables each, twice at most)


def _chunks(items: Sequence[Any], n: int = _MAX_VARIABLES) -> list[Sequence[Any]]:
    return [items[i : i + n] for i in range(0, len(items), n)]


class MatchIndex:
    """Used under the service's write lock (one thread at a time)."""

    def __init__(self, root: Path, rules: Sequence[BlockingRule], sharing: Sequence[str]) -> None:
        self.path = root / MATCH_INDEX_FILE
        self.rules = list(rules)
        self.sharing = list(sharing)
        self._db: sqlite3.Connection | None = None
        self._schema: pa.Schema | None = None
        self._lock = threading.Lock()
        # False once a publish could not be applied: writes then run over the whole store, and
        # the next start rebuilds the index (it no longer names the store's last run).
        self.usable = True

    # --- life cycle -------------------------------------------------------------------------

    def _settings(self) -> str:
        return json.dumps({"format": _FORMAT, "rules": [r.fields for r in self.rules],
                           "sharing": self.sharing})  # fmt: skip

    def _meta(self, db: sqlite3.Connection, key: str) -> str | None:
        row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    def current(self, store: DuckDBStore) -> bool:
        """Whether the file reflects the store's last publish, with today's rules."""
        if not self.path.exists():
            return False
        run = store.last_run()
        try:
            with sqlite3.connect(self.path) as db:
                return self._meta(db, "settings") == self._settings() and self._meta(db, "run") == (
                    run.run_id if run else None
                )
        except sqlite3.Error:
            return False

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
            db.execute(f"CREATE TABLE pairs ({', '.join(_PAIRS)}, PRIMARY KEY (source_l,"
                       " record_id_l, source_r, record_id_r)) WITHOUT ROWID")  # fmt: skip
            db.execute("CREATE TABLE customers (customer_id TEXT PRIMARY KEY, created_at TEXT)")
            copies: list[tuple[str, Callable[[pa.RecordBatch], object]]] = [
                ("SELECT * FROM match_records",
                 lambda b: self._insert_records(db, pa.Table.from_batches([b]))),
                ("SELECT source, record_id, customer_id FROM links",
                 lambda b: db.executemany("INSERT INTO links VALUES (?, ?, ?)", _rows(b))),
                (f"SELECT {', '.join(_PAIRS)} FROM pairs ORDER BY source_l, record_id_l,"
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

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA synchronous = NORMAL")
            # Lookups read pages through a memory map: no system call per page.
            db.execute(f"PRAGMA mmap_size = {_MMAP_BYTES}")
            hexed = self._meta(db, "schema")
            assert hexed is not None
            self._schema = pa.ipc.read_schema(pa.py_buffer(bytes.fromhex(hexed)))
            self._db = db
        return self._db

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Lookups made inside read one state of the index, whatever is applied meanwhile."""
        db = self._connect()
        db.execute("BEGIN")
        try:
            yield
        finally:
            db.execute("COMMIT")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # --- keeping it current -------------------------------------------------------------------

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
                    pairs = inserts["pairs"].select(list(_PAIRS))
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

    # --- the lookups of a neighbourhood (`NeighbourhoodSource`) -------------------------------

    def _by_key(self, sql: str, keys: Sequence[Key]) -> list[tuple[Any, ...]]:
        """Rows of `sql` (whose `{keys}` is a list of `(?, ?)` rows — joined as `k(column1,
        column2)`, which SQLite answers through the index, where a row-value `IN` scans), run
        over the keys in chunks."""
        db = self._connect()
        found: list[tuple[Any, ...]] = []
        for part in _chunks(sorted(set(keys))):
            rows = ", ".join("(?, ?)" for _ in part)
            found += db.execute(sql.format(keys=rows), [x for key in part for x in key]).fetchall()
        return found

    def record_schema(self) -> pa.Schema:
        self._connect()
        assert self._schema is not None
        return self._schema

    def records(self, keys: Sequence[Key]) -> list[Row]:
        schema = self.record_schema()
        names = schema.names
        found = self._by_key(
            f"SELECT {', '.join('r.' + quote(n) for n in names)} FROM (VALUES {{keys}}) k"
            " JOIN records r ON r.source = k.column1 AND r._id = k.column2",
            keys,
        )
        rows = [dict(zip(names, row, strict=True)) for row in found]
        for f in schema:
            if pa.types.is_list(f.type):  # kept as JSON text
                for r in rows:
                    if r[f.name] is not None:
                        r[f.name] = json.loads(r[f.name])
        return rows

    def key_holders(self, rule: int, keys: Sequence[str], limit: int) -> dict[str, list[Key]]:
        db = self._connect()
        out: dict[str, list[Key]] = {}
        for part in _chunks(sorted(set(keys))):
            marks = ", ".join("?" * len(part))
            for key, source, record_id in db.execute(
                "SELECT key, source, id FROM (SELECT key, source, id, row_number() OVER"
                f" (PARTITION BY key) AS n FROM keys WHERE rule = ? AND key IN ({marks}))"
                " WHERE n <= ?",
                [rule, *part, limit],
            ):
                out.setdefault(str(key), []).append((str(source), str(record_id)))
        return out

    def customers(self, keys: Sequence[Key]) -> dict[Key, str]:
        rows = self._by_key(
            "SELECT l.source, l.id, l.customer_id FROM (VALUES {keys}) k"
            " JOIN links l ON l.source = k.column1 AND l.id = k.column2",
            keys,
        )
        return {(str(s), str(i)): str(c) for s, i, c in rows}

    def members(self, customers: Sequence[str]) -> dict[Key, str]:
        db = self._connect()
        out = {}
        for part in _chunks(sorted(set(customers))):
            marks = ", ".join("?" * len(part))
            for s, i, c in db.execute(
                f"SELECT source, id, customer_id FROM links WHERE customer_id IN ({marks})", part
            ):
                out[(str(s), str(i))] = str(c)
        return out

    def partners(self, keys: Sequence[Key], threshold: float) -> set[Key]:
        db = self._connect()
        out: set[Key] = set()
        for part in _chunks(sorted(set(keys))):
            rows = ", ".join("(?, ?)" for _ in part)
            params = [x for key in part for x in key]
            for s, i in db.execute(
                f"SELECT p.source_r, p.record_id_r FROM (VALUES {rows}) k JOIN pairs p"
                f" ON p.source_l = k.column1 AND p.record_id_l = k.column2 WHERE {_LINKED}"
                f" UNION SELECT p.source_l, p.record_id_l FROM (VALUES {rows}) k JOIN pairs p"
                f" ON p.source_r = k.column1 AND p.record_id_r = k.column2 WHERE {_LINKED}",
                [*params, threshold, *params, threshold],
            ):
                out.add((str(s), str(i)))
        return out

    def pairs_within(self, keys: Sequence[Key]) -> list[tuple[Any, ...]]:
        inside = set(keys)
        # A pair between two of them has its left record among them: looked up by it (the
        # table's order), and kept when its right one is too.
        found = self._by_key(
            f"SELECT {', '.join('p.' + c for c in _PAIRS)} FROM (VALUES {{keys}}) k JOIN pairs p"
            " ON p.source_l = k.column1 AND p.record_id_l = k.column2",
            keys,
        )
        return [(*p[:7], None if p[7] is None else bool(p[7]))
                for p in found if (p[2], p[3]) in inside]  # fmt: skip

    def customers_holding(self, field: str, values: Sequence[str]) -> dict[str, int]:
        db = self._connect()
        out: dict[str, int] = {}
        for part in _chunks(sorted(set(values))):
            marks = ", ".join("?" * len(part))
            for v, n in db.execute(
                "SELECT h.value, count(DISTINCT l.customer_id) FROM holders h"
                " JOIN links l ON l.source = h.source AND l.id = h.id"
                f" WHERE h.field = ? AND h.value IN ({marks}) GROUP BY h.value",
                [field, *part],
            ):
                out[str(v)] = int(n)
        return out

    def issued(self, customers: Sequence[str]) -> dict[str, str]:
        """When each of these customer IDs was issued (sortable text)."""
        db = self._connect()
        out = {}
        for part in _chunks(sorted(set(customers))):
            marks = ", ".join("?" * len(part))
            for c, at in db.execute(
                f"SELECT customer_id, created_at FROM customers WHERE customer_id IN ({marks})",
                part,
            ):
                out[str(c)] = str(at)
        return out

    def first_records(self, source: str, n: int) -> list[Key]:
        """The first `n` records of a source, in the order the run numbered them."""
        rows = self._connect().execute(
            "SELECT source, _id FROM records WHERE source = ? ORDER BY _row LIMIT ?", [source, n]
        )
        return [(str(s), str(i)) for s, i in rows]

    def record_count(self) -> int:
        return int(self._meta(self._connect(), "records") or 0)

    def max_row(self, source: str) -> int:
        row = (
            self._connect()
            .execute("SELECT max(_row) FROM records WHERE source = ?", [source])
            .fetchone()
        )
        return -1 if row is None or row[0] is None else int(row[0])


_INSERT_PAIRS = f"INSERT OR REPLACE INTO pairs VALUES ({', '.join('?' * len(_PAIRS))})"


def _rows(table: pa.Table | pa.RecordBatch) -> list[tuple[Any, ...]]:
    columns = [c.to_pylist() for c in table.columns]
    return list(zip(*columns, strict=True)) if columns else []


def _issued(table: pa.Table | pa.RecordBatch) -> list[tuple[str, str]]:
    """(customer id, issue time as sortable text) of a `customers` table."""
    ids = table.column("customer_id").to_pylist()
    times = table.column("created_at").to_pylist()
    return [(str(c), at.strftime(ISSUED_FORMAT)) for c, at in zip(ids, times, strict=True)]


def match_index_of(root: Path, config: ProjectConfig, store: DuckDBStore) -> MatchIndex | None:
    """The match index for the store's last run (None before the first run)."""
    last = store.last_run()
    if last is None or not store.has_match_records():
        return None
    rules = blocking_of(last) or []
    fields = {f: FieldKind(k) for f, k in last.metrics.get("fields", {}).items()}
    sharing = [g.field for g in golden_fields(config, fields) if g.max_sharing]
    return MatchIndex(root, rules, sharing)
