"""The write journal: writes answered but not yet published, kept on disk until they are.

A write is answered as soon as it is resolved in memory (`c360.serve.resolver`) and journalled
here; the exact run publishes it a moment later (`c360.serve.writes`). The journal is a SQLite
file in the project folder (`.c360-journal.sqlite`) whose every append is committed to disk
(`synchronous = FULL`) before the answer leaves. Whatever it still holds when the service
starts — the service stopped, or the machine did, between an answer and its publish — is
published before the first request is served, with the customer IDs the answers promised.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from c360.project.neighbourhood import Key

__all__ = ["JOURNAL_FILE", "Journal", "JournalEntry", "waiting_writes"]

JOURNAL_FILE = ".c360-journal.sqlite"
_CHUNK = 500  # seqs per DELETE


def waiting_writes(root: Path) -> int:
    """How many answered writes the project's journal holds unpublished (0 without one)."""
    path = root / JOURNAL_FILE
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path) as db:
            row = db.execute("SELECT count(*) FROM writes").fetchone()
    except sqlite3.Error:
        return 0  # no journal table yet: nothing was journalled
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class JournalEntry:
    seq: int
    source: str
    rows: pa.Table  # the upserted rows, the source's raw columns as text
    deleted: list[str]
    reserved: dict[Key, str]  # customer IDs the answer promised to new customers
    customers: dict[Key, str | None]  # the answer: each written record's customer
    written_at: str


class Journal:
    def __init__(self, root: Path) -> None:
        self.path = root / JOURNAL_FILE
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")
        # Appends never copy the log back into the file (an append would wait for it);
        # `remove` does, from the publishing thread, on a connection of its own.
        self._db.execute("PRAGMA wal_autocheckpoint = 0")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS writes (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
            " source TEXT NOT NULL, rows TEXT NOT NULL, deleted TEXT NOT NULL,"
            " reserved TEXT NOT NULL, customers TEXT NOT NULL, written_at TEXT NOT NULL)"
        )
        self._checkpoints = sqlite3.connect(self.path, check_same_thread=False,
                                            isolation_level=None)  # fmt: skip

    def append(
        self,
        source: str,
        rows: pa.Table,
        deleted: list[str],
        reserved: dict[Key, str],
        customers: dict[Key, str | None],
    ) -> JournalEntry:
        """Keep a write on disk; it is durable when this returns."""
        at = datetime.now(UTC).isoformat()
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO writes (source, rows, deleted, reserved, customers, written_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [source, json.dumps(rows.to_pylist()), json.dumps(deleted),
                 json.dumps([[*k, c] for k, c in reserved.items()]),
                 json.dumps([[*k, c] for k, c in customers.items()]), at],
            )  # fmt: skip
            seq = cursor.lastrowid
        assert seq is not None
        return JournalEntry(seq, source, rows, deleted, reserved, customers, at)

    def entries(self) -> list[JournalEntry]:
        """Every write not yet published, oldest first."""
        with self._lock:
            found = self._db.execute(
                "SELECT seq, source, rows, deleted, reserved, customers, written_at"
                " FROM writes ORDER BY seq"
            ).fetchall()
        out = []
        for seq, source, rows, deleted, reserved, customers, at in found:
            records = json.loads(rows)
            columns: dict[str, list[str | None]] = {}
            for r in records:
                for c in r:
                    columns.setdefault(c, [])
            table = pa.table({c: pa.array([r.get(c) for r in records], pa.string())
                              for c in columns})  # fmt: skip
            out.append(JournalEntry(
                int(seq), str(source), table, list(json.loads(deleted)),
                {(s, i): c for s, i, c in json.loads(reserved)},
                {(s, i): c for s, i, c in json.loads(customers)}, str(at),
            ))  # fmt: skip
        return out

    def remove(self, seqs: list[int]) -> None:
        """Forget writes that are published: one transaction (one sync to disk), then the
        write-ahead log copied back into the file outside the lock, so that no append pays
        for it."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for part in range(0, len(seqs), _CHUNK):
                    chunk = seqs[part : part + _CHUNK]
                    marks = ", ".join("?" * len(chunk))
                    self._db.execute(f"DELETE FROM writes WHERE seq IN ({marks})", chunk)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        # A passive checkpoint waits for no one and makes no one wait.
        self._checkpoints.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def scrub(self) -> None:
        """Rewrite the file without the bytes of forgotten writes (erasure): SQLite leaves a
        deleted row in its page until the page is reused, and in the write-ahead log."""
        with self._lock:
            self._db.execute("VACUUM")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            self._checkpoints.close()
            self._db.close()
