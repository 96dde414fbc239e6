"""The service's read model: every current customer's 360 view, ready to send, one row each.

DuckDB answers a point query in about half a millisecond of CPU, and a 360 view takes seven of
them; a service that must answer a thousand views a second on two cores cannot afford that. So
`c360 serve` renders every customer's view once, in one set-based DuckDB query over the store,
into a SQLite file beside it (`.c360-views.sqlite`), where a lookup by customer ID costs
microseconds. The file is derived data: it records which publish it was built from (run and
change-feed position) and is rebuilt whenever the store has moved on; losing it costs only the
rebuild.

The file is kept in memory while the service runs (`ResidentFile`: its pages locked), so that a
read never waits for the disk. Reads over every customer touch the whole file at random, and a
machine that reclaims file pages left untouched for a minute (Linux's DAMON `pageout` scheme)
sent them to the disk from the event loop: 20-100 ms stalls of every request in flight.

A role that hides or masks something reads a view guarded. Guarded on the read
(`c360.serve.guarded_views`), a view is parsed, guarded and written again on the role's first
read of each customer, which costs a third of the rest of the read. So for a prepared role (by
default, one whose policy changes every view: `Service._prepared_roles`) the model keeps every
view guarded too, made as the view is rendered and replaced with it, in the same transaction; a
read finds it in one lookup, as fast as the view's own. Both are compressed with a dictionary
trained on the views (`c360.serve.view_codec`): about 600 bytes a view, 540 a guarded one
(750 with the fields it answers with and its key).

A view is the same document `GET /customers/{id}` answers from the store (tested field for field
against `customer_view`), for the customer's current ID. One part depends on the clock — web
visits in the last 30 days — so the view keeps the visit times of the 30 days before it was built
and recounts them when it is read.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from c360.project.view import _INSIGHTS, _TIMELINE_COLUMNS, high_value_line
from c360.serve.resident import ResidentFile
from c360.serve.view_codec import ViewCodec
from c360.store import DuckDBStore
from c360.store.duckdb_store import now

__all__ = ["VIEWS_FILE", "Prepare", "Prepared", "ReadModel", "Stored"]

VIEWS_FILE = ".c360-views.sqlite"
_FORMAT = 6  # bump when the document (or the file) changes shape
_BATCH = 20_000
_TIME = "%Y-%m-%dT%H:%M:%S"
# A view as kept: its JSON compressed (`ViewCodec`), and the times of its web visits (JSON) or
# None.
Stored = tuple[bytes, str | None]
# A view guarded for a role: its JSON, the fields it answers with (for the audit log), and the
# times of the view's web visits (JSON) or None.
Prepared = tuple[bytes, tuple[str, ...], str | None]
_ONE = "SELECT doc, visits FROM views WHERE customer_id = ?"
# Each prepared role's guarded views are a table of their own (`_table`), the size of `views`: a
# lookup in one table of every role's took 2-3 µs more (its index and its rows five times as
# many, one more page to read on each side).
_GUARDED = "SELECT doc, fields, visits FROM {table} WHERE customer_id = ?"
# What guards a view (the parsed document) for a prepared role.
Prepare = Callable[[dict[str, Any]], tuple[bytes, Sequence[str]]]


def _table(role: str) -> str:
    """The table of a prepared role's guarded views (a quoted name: a role may be named anything
    its policy allows)."""
    return '"prepared/' + role.replace('"', '""') + '"'


def _create_guarded(db: sqlite3.Connection, role: str) -> None:
    db.execute(f"DROP TABLE IF EXISTS {_table(role)}")
    db.execute(f"CREATE TABLE {_table(role)} (customer_id TEXT NOT NULL, doc BLOB, fields TEXT,"
               " visits TEXT)")  # fmt: skip


def _index_guarded(db: sqlite3.Connection, role: str) -> None:
    """Indexed once filled: an index made at once is made faster than one kept up row by row."""
    db.execute(f'CREATE UNIQUE INDEX {_table(role)[:-1]}/id" ON {_table(role)} (customer_id)')


def _id_list(ids: Sequence[str]) -> str:
    return ", ".join("'" + i.replace("'", "''") + "'" for i in ids)


def _documents_sql(
    since: str,
    high_value: float | None,
    only: Sequence[str] | None = None,
    record_ids: Sequence[str] = (),
) -> str:
    """One row per current customer (or those of `only`, whose records have `record_ids`): its
    id, the view as JSON text, and its visits since `since` (the start of the 30 days before
    the build).

    For a few customers every table is filtered by one lone `IN` list, which DuckDB answers
    through the column's index; any other filter beside it would make it scan the table."""
    mine = "" if only is None else f" AND customer_id IN ({_id_list(only) or 'NULL'})"
    tied = "customer_id IS NOT NULL" if only is None else mine.removeprefix(" AND ")
    records = (
        "records"
        if only is None
        else f"(SELECT * FROM records WHERE record_id IN ({_id_list(record_ids) or 'NULL'}))"
    )
    event = ", ".join(
        f"'{c}': coalesce(json(attributes), '{{}}'::JSON)" if c == "attributes" else f"'{c}': {c}"
        for c in _TIMELINE_COLUMNS
    )
    line = "NULL" if high_value is None else repr(float(high_value))
    return f"""
    WITH
    g AS (SELECT customer_id, list({{'field': field, 'value': value, 'source': source,
                 'record_id': record_id, 'updated_at': updated_at, 'rule': rule}}
                 ORDER BY field) AS golden
          FROM golden WHERE true{mine} GROUP BY customer_id),
    p AS (SELECT customer_id, list({{'kind': kind, 'value': value, 'preferred': preferred,
                 'sources': sources}} ORDER BY kind, preferred DESC, value) AS contact_points
          FROM contact_points WHERE true{mine} GROUP BY customer_id),
    r AS (SELECT l.customer_id, list({{'source': l.source, 'record_id': l.record_id,
                 'evidence': json(l.evidence), 'updated_at': r.updated_at, 'raw': json(r.raw)}}
                 ORDER BY l.source, l.record_id) AS records
          FROM links l LEFT JOIN {records} r USING (source, record_id)
          WHERE true{mine.replace("customer_id", "l.customer_id")} GROUP BY l.customer_id),
    e AS (SELECT customer_id, {_INSIGHTS.replace("?", repr(since))},
                 list({{{event}}} ORDER BY occurred_at DESC NULLS LAST, source, event_id)[1:50]
                   AS timeline,
                 list(occurred_at ORDER BY occurred_at) FILTER (
                   WHERE type = 'web_visit' AND occurred_at >= {since!r}) AS recent_visits
          FROM events WHERE {tied} GROUP BY customer_id)
    SELECT c.customer_id,
           CAST(to_json({{
             'asked': c.customer_id, 'customer_id': c.customer_id, 'other_ids': [],
             'redirects': [], 'created_at': CASE WHEN microsecond(c.created_at) % 1000000 = 0
                                 THEN strftime(c.created_at, '%Y-%m-%dT%H:%M:%S')
                                 ELSE strftime(c.created_at, '%Y-%m-%dT%H:%M:%S.%f') END,
             'golden': coalesce(g.golden, []), 'contact_points': coalesce(p.contact_points, []),
             'records': coalesce(r.records, []), 'timeline': coalesce(e.timeline, []),
             'insights': {{
               'lifetime_value': round(coalesce(e.ltv, 0), 2)::DOUBLE,
               'orders': coalesce(e.orders, 0), 'last_order': e.last_order,
               'open_cases': coalesce(e.open_cases, 0),
               'last_service_contact': e.last_service,
               'emails_opened': coalesce(e.opened, 0), 'emails_clicked': coalesce(e.clicked, 0),
               'unsubscribed': coalesce(e.unsubscribed, false),
               'web_visits_30d': coalesce(e.visits, 0),
               'flags': list_filter([
                 CASE WHEN coalesce(e.open_cases, 0) > 0 THEN 'open case' END,
                 CASE WHEN {line} IS NOT NULL AND coalesce(e.ltv, 0) > 0
                      AND e.ltv >= {line} THEN 'high value' END,
                 CASE WHEN coalesce(e.unsubscribed, false) THEN 'unsubscribed' END], lambda x: x IS NOT NULL)
             }}
           }}) AS VARCHAR) AS doc,
           CAST(to_json(coalesce(e.recent_visits, [])) AS VARCHAR) AS visits
    FROM customers c LEFT JOIN g USING (customer_id) LEFT JOIN p USING (customer_id)
    LEFT JOIN r USING (customer_id) LEFT JOIN e USING (customer_id)
    WHERE true{mine.replace("customer_id", "c.customer_id")}
    """


class ReadModel:
    """The views of one project; `get` is safe from any thread."""

    def __init__(self, root: Path, prepared: Mapping[str, tuple[str, Prepare]] | None = None):
        """`prepared`: for each role whose views are kept guarded, its policy (a text that
        changes when the policy does, and the views are guarded again: `prepare`) and what
        guards a view for it."""
        self.path = root / VIEWS_FILE
        self._local = threading.local()
        self._lock = threading.Lock()
        self.resident = ResidentFile(self.path)
        self._codec: ViewCodec | None = None  # the file's, read from it when first needed
        self.prepared = dict(prepared or {})
        # Each prepared role's lookup of a guarded view, by role.
        self._lookups = {role: _GUARDED.format(table=_table(role)) for role in self.prepared}

    def keep_in_memory(self) -> ResidentFile:
        """Lock the file's pages in memory as far as it has grown (all of it the first time;
        after a rebuild, the new file). `locked` says how much, `reason` why not."""
        self.resident.extend()
        return self.resident

    def let_go(self) -> None:
        """Unlock the file's pages (the service closes, or erasure rewrites the file)."""
        self.resident.close()

    def _stamp(self, store: DuckDBStore) -> str:
        run = store.last_run()
        return json.dumps({"format": _FORMAT, "run": run.run_id if run else None,
                           "change": store.last_change()})  # fmt: skip

    def _policies(self) -> str:
        """The prepared roles' policies, as the file records those its guarded views follow."""
        return json.dumps({role: policy for role, (policy, _) in sorted(self.prepared.items())})

    def current(self, store: DuckDBStore) -> bool:
        """Whether the file holds the views of the store's present state."""
        if not self.path.exists():
            return False
        try:
            with sqlite3.connect(self.path) as db:
                row = db.execute("SELECT value FROM meta WHERE key = 'built_from'").fetchone()
        except sqlite3.Error:
            return False
        return row is not None and row[0] == self._stamp(store)

    def build(self, store: DuckDBStore, progress: Callable[[int, int], None] | None = None) -> int:
        """Render every current customer's view from the store; return how many. Written to a
        new file that replaces the old one whole, so a reader never sees half a build."""
        as_of = now()
        since = (as_of - timedelta(days=30)).strftime(_TIME)
        total = store.counts()[0]
        partial = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        partial.unlink(missing_ok=True)
        db = sqlite3.connect(partial)
        try:
            db.execute("PRAGMA journal_mode = OFF")
            db.execute("PRAGMA synchronous = OFF")
            db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
            # A rowid table: a view (~1.2 kB compressed) fits its page, where a WITHOUT ROWID
            # table would spill each one into an overflow page of its own.
            db.execute("CREATE TABLE views (customer_id TEXT NOT NULL, doc BLOB, visits TEXT)")
            for role in self.prepared:
                _create_guarded(db, role)
            reader = store.stream(_documents_sql(since, high_value_line(store)), _BATCH)
            done, codec = 0, None
            for batch in reader:
                ids, docs, visits = (batch.column(i).to_pylist() for i in range(3))
                encoded = [d.encode() for d in docs]
                if codec is None:  # trained on the first batch: a sample of every customer
                    codec = ViewCodec.trained(encoded)
                db.executemany(
                    "INSERT INTO views VALUES (?, ?, ?)",
                    [(i, codec.pack(d), _kept_visits(v))
                     for i, d, v in zip(ids, encoded, visits, strict=True)],
                )  # fmt: skip
                self._insert_guarded(db, zip(ids, encoded, visits, strict=True), self.prepared,
                                     codec)  # fmt: skip
                done += len(ids)
                if progress is not None:
                    progress(done, total)
            db.execute("CREATE UNIQUE INDEX views_id ON views (customer_id)")
            for role in self.prepared:
                _index_guarded(db, role)
            db.execute("INSERT INTO meta VALUES ('built_from', ?)", [self._stamp(store)])
            db.execute("INSERT INTO meta VALUES ('prepared', ?)", [self._policies()])
            db.execute("INSERT INTO meta VALUES ('built_at', ?)", [as_of.strftime(_TIME)])
            codec = codec or ViewCodec(None)  # no customer
            db.execute("INSERT INTO meta VALUES ('dictionary', ?)", [codec.dictionary])
            db.commit()
            db.execute("PRAGMA journal_mode = WAL")  # readers go on while a write refreshes
        finally:
            db.close()
        partial.replace(self.path)
        self._local = threading.local()  # connections to the old file are dropped
        self._codec = codec
        return done

    def refresh(
        self, store: DuckDBStore, customer_ids: Iterable[str], high_value: float | None
    ) -> int:
        """Render again the views of these customers after a write (an ID that is no longer a
        current customer loses its view), with the service's "high value" line; return how
        many views were written."""
        ids = sorted({i for i in customer_ids if i})
        if not ids:
            return 0
        since = (now() - timedelta(days=30)).strftime(_TIME)
        records = store.query(f"SELECT record_id FROM links WHERE customer_id IN ({_id_list(ids)})")
        record_ids = sorted({str(r["record_id"]) for r in records})
        rows = store.query(_documents_sql(since, high_value, ids, record_ids))
        codec = self.codec()
        encoded = [(r["customer_id"], r["doc"].encode(), r["visits"]) for r in rows]
        guarded = self._guarded(encoded, self.prepared, codec)
        with self._lock, sqlite3.connect(self.path) as db:
            db.executemany("DELETE FROM views WHERE customer_id = ?", [(i,) for i in ids])
            db.executemany(
                "INSERT INTO views VALUES (?, ?, ?)",
                [(i, codec.pack(d), _kept_visits(v)) for i, d, v in encoded],
            )
            for role, made in guarded.items():
                db.executemany(f"DELETE FROM {_table(role)} WHERE customer_id = ?",
                               [(i,) for i in ids])  # fmt: skip
                db.executemany(f"INSERT INTO {_table(role)} VALUES (?, ?, ?, ?)", made)
            db.execute("UPDATE meta SET value = ? WHERE key = 'built_from'", [self._stamp(store)])
        self.resident.extend()  # what checkpoints added to the file, once it is enough
        return len(rows)

    def get(self, customer_id: str, at: datetime | None = None) -> bytes | None:
        """The view of a current customer as JSON, or None (not a current ID)."""
        stored = self.stored(customer_id)
        return None if stored is None else self.render(stored, at)

    def prepare(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Bring the guarded views in step with the prepared roles' policies: guard every view
        for a role newly prepared (or whose policy changed), and drop those of a role no longer
        prepared. Return how many views were guarded; none when the file is in step (a build
        guards them with the views)."""
        with self._lock, sqlite3.connect(self.path) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'prepared'").fetchone()
            held: dict[str, str] = json.loads(row[0]) if row is not None else {}
            wanted = json.loads(self._policies())
            stale = [r for r, policy in held.items() if wanted.get(r) != policy]
            missing = {r: self.prepared[r] for r, policy in wanted.items() if held.get(r) != policy}
            if not stale and not missing:
                return 0
            for role in stale:
                db.execute(f"DROP TABLE IF EXISTS {_table(role)}")
            for role in missing:
                _create_guarded(db, role)
            total, done, last = db.execute("SELECT count(*) FROM views").fetchone()[0], 0, 0
            codec = self.codec()
            while missing:
                batch = db.execute(
                    "SELECT rowid, customer_id, doc, visits FROM views WHERE rowid > ?"
                    " ORDER BY rowid LIMIT ?", (last, _BATCH),
                ).fetchall()  # fmt: skip
                if not batch:
                    break
                views = ((i, codec.unpack(doc), v) for _, i, doc, v in batch)
                self._insert_guarded(db, views, missing, codec)
                last, done = batch[-1][0], done + len(batch)
                if progress is not None:
                    progress(done, total)
            for role in missing:
                _index_guarded(db, role)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('prepared', ?)", [self._policies()])
        self.resident.extend()
        return done

    @staticmethod
    def _guarded(
        views: Iterable[tuple[str, bytes, str | None]],
        roles: Mapping[str, tuple[str, Prepare]],
        codec: ViewCodec,
    ) -> dict[str, list[tuple[str, bytes, str, str | None]]]:
        """Rows of each role's table of guarded views for these (customer ID, view JSON,
        visits), each view parsed once."""
        rows: dict[str, list[tuple[str, bytes, str, str | None]]] = {role: [] for role in roles}
        if not roles:
            return rows
        for customer_id, doc, visits in views:
            parsed = orjson.loads(doc)
            for role, (_, prepare) in roles.items():
                body, fields = prepare(parsed)
                rows[role].append((customer_id, codec.pack(body), "\x1f".join(fields),
                                   _kept_visits(visits)))  # fmt: skip
        return rows

    @classmethod
    def _insert_guarded(
        cls,
        db: sqlite3.Connection,
        views: Iterable[tuple[str, bytes, str | None]],
        roles: Mapping[str, tuple[str, Prepare]],
        codec: ViewCodec,
    ) -> None:
        for role, rows in cls._guarded(views, roles, codec).items():
            db.executemany(f"INSERT INTO {_table(role)} VALUES (?, ?, ?, ?)", rows)

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            self._local.db = db
        return db

    def codec(self) -> ViewCodec:
        """What compresses and restores the file's documents (its dictionary is in the file)."""
        codec = self._codec
        if codec is None:
            row = self._db().execute("SELECT value FROM meta WHERE key = 'dictionary'").fetchone()
            codec = self._codec = ViewCodec(None if row is None else row[0])
        return codec

    def stored(self, customer_id: str) -> Stored | None:
        """A current customer's view as kept (compressed, with its visits' times), or None."""
        row = self._db().execute(_ONE, (customer_id,)).fetchone()
        return None if row is None else (row[0], row[1])

    def guarded(self, role: str, customer_id: str) -> Prepared | None:
        """A current customer's view guarded for a prepared `role`, as it was when the view
        was rendered (its visits counted then); None if there is none (not a current
        customer, or the role's views are not prepared)."""
        sql = self._lookups.get(role)
        if sql is None:
            return None
        row = self._db().execute(sql, (customer_id,)).fetchone()
        return None if row is None else (self.codec().unpack(row[0]), _fields(row[1]), row[2])

    def render(self, stored: Stored, at: datetime | None = None) -> bytes:
        """A kept view as JSON, its visits counted as of `at` (now)."""
        doc = self.codec().unpack(stored[0])
        if stored[1] is None:
            return doc
        view: dict[str, Any] = json.loads(doc)
        view["insights"]["web_visits_30d"] = _visits(stored[1], at)
        return json.dumps(view).encode()

    @staticmethod
    def version(stored: Stored, at: datetime | None = None) -> tuple[int, int | None]:
        """What tells one rendering of a view from another, without rendering it: the kept
        bytes, and the visits they count now."""
        return hash(stored[0]), None if stored[1] is None else _visits(stored[1], at)


def _kept_visits(visits: str | None) -> str | None:
    """A view's recent visits as the file keeps them: None for none."""
    return visits if visits != "[]" else None


@functools.lru_cache(maxsize=4096)
def _fields(joined: str) -> tuple[str, ...]:
    """The fields a guarded view answers with, as kept; one tuple for every view with the same."""
    return tuple(joined.split("\x1f")) if joined else ()


def _visits(times: str, at: datetime | None) -> int:
    """Visits age: those still inside the 30 days before `at` (now)."""
    since = ((at or now()) - timedelta(days=30)).strftime(_TIME)
    return sum(1 for v in json.loads(times) if v >= since)
