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
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from c360.engines.base import BlockingRule
from c360.engines.duckdb.render import quote
from c360.model import FieldKind
from c360.project.config import ProjectConfig
from c360.project.neighbourhood import Key, Row
from c360.project.state import blocking_of
from c360.project.steps import golden_fields
from c360.serve.match_index_upkeep import PAIR_COLUMNS, IndexUpkeep
from c360.store import DuckDBStore

__all__ = ["MATCH_INDEX_FILE", "MatchIndex", "match_index_of"]

MATCH_INDEX_FILE = ".c360-match.sqlite"
_FORMAT = 4  # bump when the tables or the key encoding change
_LINKED = "(p.rule IS NOT NULL OR (p.match_probability >= ? AND p.conflict IS NOT 1))"
_MMAP_BYTES = 1 << 34
_MAX_VARIABLES = 400  # keys per IN list (two variables each, twice at most)
_NO_KEY = (None, None)  # pads a list of keys: joins no row


def _chunks(items: Sequence[Any], pad: Any = None, n: int = _MAX_VARIABLES) -> list[list[Any]]:
    """`items` in lists of at most `n`, each padded with `pad` (a value no row holds: NULL) to
    a power of two or `n`. The statements made of them then come in a few lengths only, and
    the connection prepares each once and keeps it, where a statement prepared anew for
    every lookup took 60-120 µs (5% of a resolution's processor time, measured)."""
    out = []
    for i in range(0, len(items), n):
        part = list(items[i : i + n])
        size = 1
        while size < len(part):
            size *= 2
        part += [pad] * (min(size, n) - len(part))
        out.append(part)
    return out


class MatchIndex(IndexUpkeep):
    """Lookups for real-time matching over the file; built and kept current by
    `IndexUpkeep`."""

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

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            db = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, cached_statements=512
            )
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

    # --- the lookups of a neighbourhood (`NeighbourhoodSource`) -------------------------------

    def _by_key(
        self, sql: str, keys: Sequence[Key], after: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        """Rows of `sql` (whose `{keys}` is a list of `(?, ?)` rows — joined as `k(column1,
        column2)`, which SQLite answers through the index, where a row-value `IN` scans), run
        over the keys in chunks; `after` are the values of the variables that follow."""
        db = self._connect()
        found: list[tuple[Any, ...]] = []
        for part in _chunks(sorted(set(keys)), _NO_KEY):
            rows = ", ".join("(?, ?)" for _ in part)
            values = [x for key in part for x in key]
            found += db.execute(sql.format(keys=rows), [*values, *after]).fetchall()
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
                        r[f.name] = orjson.loads(r[f.name])
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
        for part in _chunks(sorted(set(keys)), _NO_KEY):
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
        return self._pairs_within(keys, "")

    def linked_within(self, keys: Sequence[Key], threshold: float) -> list[tuple[Any, ...]]:
        """The pairs among these records that link them: by a rule, or scored at `threshold` or
        more without a hard conflict. (A write's resolution closes over these alone, and
        reads every pair only among the few records it re-clusters.)"""
        return self._pairs_within(keys, f" WHERE {_LINKED}", [threshold])

    def _pairs_within(
        self, keys: Sequence[Key], where: str, after: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        inside = set(keys)
        # A pair between two of them has its left record among them: looked up by it (the
        # table's order), and kept when its right one is too.
        found = self._by_key(
            f"SELECT {', '.join('p.' + c for c in PAIR_COLUMNS)} FROM (VALUES {{keys}}) k JOIN pairs p"
            f" ON p.source_l = k.column1 AND p.record_id_l = k.column2{where}",
            keys, after,
        )  # fmt: skip
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


def match_index_of(root: Path, config: ProjectConfig, store: DuckDBStore) -> MatchIndex | None:
    """The match index for the store's last run (None before the first run)."""
    last = store.last_run()
    if last is None or not store.has_match_records():
        return None
    rules = blocking_of(last) or []
    fields = {f: FieldKind(k) for f, k in last.metrics.get("fields", {}).items()}
    sharing = [g.field for g in golden_fields(config, fields) if g.max_sharing]
    return MatchIndex(root, rules, sharing)
