"""The audit log: every read of a customer and every change, append-only and hash-chained.

Each entry records who (the API key's id, or the operating-system user on the command line),
with which role, did what (`action`), to which customer, and which fields were answered —
field names, never values, so that erasing a person leaves their audit entries telling the truth
without holding their data. Entries are chained: an entry's `hash` is the SHA-256 of its own
content and the hash before it, so editing or removing an entry breaks every hash after it, and
`c360 audit verify` finds where. (Cutting entries off the end leaves a shorter, valid chain:
keep the head `c360 audit verify` prints somewhere else, and pass it back with `--head` to
check that it is still there.)

The log is a SQLite file in the project folder (`.c360-audit.sqlite`) beside the store, not in
it: the command line appends to it while `c360 serve` owns the store. Appends from several
processes are serialised by SQLite's write lock, each reading the head it chains to inside its
own transaction. The service queues its entries — reads, and writes through the API — and
has a process of its own (`c360.governance.audit_writer`) write them every `FLUSH_SECONDS` as one
row (`BATCH`), so that no answer waits for a disk sync: a machine that stops in that window loses
them (the write itself is in the journal). The row keeps the batch's JSON as the service encoded
it, and its hash covers those bytes; each entry keeps a `seq` of its own: reading the log lists
them one by one, as if each were a row. At a few thousand reads a second, a row each cost the
writing process 6-8 µs a read, whose bursts every `FLUSH_SECONDS` slowed the requests beside
them; decoding a batch's entries to write their times out and encode them again, 1 µs more. What
is left costs by the flush, not by the entry (a transaction and its disk sync, a message each
way, two processes woken): at 0.05 s, 4-6 µs a read between the writing process and the thread
that hands it the batch; at 0.25 s, about 1. Commands on the command line write theirs, a row
each, before they return.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from c360.governance.audit_writer import AuditWriter

__all__ = ["AUDIT_FILE", "AuditEntry", "AuditLog", "Noted", "Verdict", "local_actor"]

log = logging.getLogger(__name__)

AUDIT_FILE = ".c360-audit.sqlite"
# Reads' entries are written in batches, one every so often: a request's entry is in the log a
# quarter of a second after its answer.
FLUSH_SECONDS = 0.25
_GENESIS = "0" * 64
_COLUMNS = ("seq", "at", "actor", "role", "action", "customer_id", "fields", "detail")
# The service's entries are written a flush at a time, as one row: its action, its actor. The
# entries are in its detail (`entries`, each [at, actor, role, action, customer_id, fields,
# detail]); reading the log lists them, never the row.
BATCH, BATCH_ACTOR = "batch", "c360 serve"


def local_actor() -> str:
    """Who runs a command on this machine, as the audit log names them."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


@dataclass(frozen=True)
class AuditEntry:
    actor: str
    role: str
    action: str
    customer_id: str | None = None
    fields: tuple[str, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="microseconds"))


# An entry as `AuditLog.note` queues it: (time.time(), actor, role, action, customer_id,
# fields, detail or None).
Noted = tuple[float, str, str, str, str | None, Sequence[str], dict[str, Any] | None]


def _stamp(at: float) -> str:
    """`at` (a `time.time()`) as the log writes times: ISO 8601 in UTC, to the microsecond."""
    second, micro = divmod(round(at * 1_000_000), 1_000_000)
    return f"{_second(second)}.{micro:06d}+00:00"


@functools.lru_cache(maxsize=64)
def _second(second: int) -> str:
    """A whole second as ISO 8601 in UTC: worked out once for every entry noted in it."""
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _digest(prev: str, seq: int, e: AuditEntry) -> str:
    """An entry's hash: of the hash before it and its own content."""
    content = orjson.dumps(
        [seq, e.at, e.actor, e.role, e.action, e.customer_id, list(e.fields), e.detail],
        option=orjson.OPT_SORT_KEYS, default=str,
    )  # fmt: skip
    return _chained(prev, content)


def _chained(prev: str, content: bytes) -> str:
    return hashlib.sha256(prev.encode() + b"\n" + content).hexdigest()


def _table_rows(entries: Iterable[AuditEntry], seq: int, prev: str) -> list[tuple[Any, ...]]:
    """The audit table's rows for `entries`, a row each, chained to entry `seq` whose hash is
    `prev`."""
    rows = []
    for e in entries:
        seq += 1
        digest = _digest(prev, seq, e)
        rows.append((seq, e.at, e.actor, e.role, e.action, e.customer_id,
                     orjson.dumps(list(e.fields)).decode(),
                     orjson.dumps(e.detail, default=str).decode(), prev, digest))  # fmt: skip
        prev = digest
    return rows


def _batch_row(batch: bytes, size: int, at: str, seq: int, prev: str) -> tuple[Any, ...]:
    """The row holding a flush's `size` entries (`batch`, a JSON array of `Noted`s, kept as
    it came), chained to entry `seq` whose hash is `prev`: numbered by its last entry, timed
    by it (`at`)."""
    last, detail = seq + size, b'{"entries":' + batch + b"}"
    digest = _chained(prev, _batch_content([last, at, BATCH_ACTOR, "-", BATCH, None, []], detail))
    return (last, at, BATCH_ACTOR, "-", BATCH, None, "[]", detail.decode(), prev, digest)


def _batch_content(head: list[Any], detail: bytes) -> bytes:
    """What a batch row's hash is of: its other columns (`seq` to `fields`) and its detail's
    text as it is stored. (That text is not written again from its values, as a row's is: a
    batch is hashed and stored as the service sent it, and whatever changes a byte of it
    changes the hash.)"""
    return orjson.dumps(head)[:-1] + b"," + detail + b"]"


def _batch_entry(seq: int, e: list[Any]) -> dict[str, Any]:
    """An entry of a batch row, as reading the log lists it: its time written out (a batch
    keeps the `time.time()` it was noted at; those written before kept the text)."""
    entry = dict(zip(_COLUMNS, (seq, *e), strict=True))
    if not isinstance(entry["at"], str):
        entry["at"] = _stamp(entry["at"])
    if entry["detail"] is None:
        entry["detail"] = {}
    return entry


@dataclass(frozen=True)
class Verdict:
    ok: bool
    entries: int
    head: str  # `seq:hash` of the last entry (`0:000…` for an empty log)
    problem: str | None = None


class AuditLog:
    """Appends to and reads the project's audit log."""

    def __init__(self, root: Path) -> None:
        self.path = root / AUDIT_FILE
        self._lock = threading.Lock()  # the connection: one statement or transaction at a time
        # The queue has a lock of its own, held only to add or take entries: a request never
        # waits for the disk sync of the batch before it.
        self._queue_lock = threading.Lock()
        self._flushing = threading.Lock()
        self._queued: list[Noted] = []
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                   timeout=30)  # fmt: skip
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, at TEXT NOT NULL,"
            " actor TEXT NOT NULL, role TEXT NOT NULL, action TEXT NOT NULL, customer_id TEXT,"
            " fields TEXT NOT NULL, detail TEXT NOT NULL, prev TEXT NOT NULL,"
            " hash TEXT NOT NULL)"
        )
        # No index by customer: a read's entry is appended at the end of the table, where an
        # index by customer would take an insert at a random place of a B-tree that outgrows
        # memory (40 µs an entry under load, as much as the rest of the entry). A question
        # about one customer reads the log through, passing over the batches that do not name
        # them: 0.14 s for 700,000 entries in batches of 250.
        self._db.execute("DROP INDEX IF EXISTS audit_customer")  # logs written before
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        self._writer: AuditWriter | None = None

    # --- writing ------------------------------------------------------------------------------

    def record(self, entry: AuditEntry) -> None:
        """Append now: on disk when this returns (changes)."""
        self.append([entry])

    def note(
        self,
        actor: str,
        role: str,
        action: str,
        customer_id: str | None,
        fields: Sequence[str],
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append the entry these make, timed now, within `FLUSH_SECONDS` (reads, in the
        service; `start` must have run). A request pays for a tuple queued (a fifth of a
        microsecond); the entries are encoded a flush at a time, in one call (a twentieth of a
        microsecond each, against two for an entry encoded alone), and written out of this
        process. No `detail` is kept as null, listed as `{}`: a read's entry holds nothing
        the garbage collector must follow while it is queued."""
        entry = (time.time(), actor, role, action, customer_id, fields, detail)
        with self._queue_lock:
            self._queued.append(entry)

    def start(self) -> None:
        """Write queued entries in the background until `close`: from a process of their own
        (`c360.governance.audit_writer`), or from a thread of this one if it cannot start."""
        if self._writer is None:
            from c360.governance.audit_writer import AuditWriter

            try:
                self._writer = AuditWriter(self.path.parent)
            except Exception as e:  # no process to be had: the service writes it itself
                log.warning("the audit is written by the service itself: %s", e)
        if self._flusher is None:
            self._flusher = threading.Thread(target=self._flush_loop, name="c360-audit",
                                             daemon=True)  # fmt: skip
            self._flusher.start()

    def flush(self) -> None:
        """Write what is queued; in the log when this returns."""
        with self._flushing:  # batches are written in the order they were taken
            with self._queue_lock:
                queued, self._queued = self._queued, []
            if not queued:
                return
            try:
                self._write(queued)
            except BaseException:
                with self._queue_lock:  # kept, ahead of what came since, for the next try
                    self._queued[:0] = queued
                raise

    def _write(self, queued: list[Noted]) -> None:
        batch, size, last_at = orjson.dumps(queued, default=str), len(queued), queued[-1][0]
        if self._writer is not None:
            from c360.governance.audit_writer import WriterGone

            try:
                self._writer.write(batch, size, last_at)
                return
            except WriterGone as gone:
                log.warning("the audit writing process is gone (%s); the service writes the"
                            " audit itself from now on", gone)  # fmt: skip
                self._writer.close()
                self._writer = None
        self.append_batch(batch, size, last_at)

    def _flush_loop(self) -> None:
        while not self._stop.wait(FLUSH_SECONDS):
            try:
                self.flush()
            except sqlite3.Error:
                # A locked or full disk: the entries stay queued and the next round tries again.
                log.exception("audit entries could not be written; retrying")

    def append(self, entries: Sequence[AuditEntry]) -> None:
        """Append `entries` in one transaction, chained to the log's last entry."""
        self._append(lambda seq, prev: _table_rows(entries, seq, prev))

    def append_batch(self, batch: bytes, size: int, last_at: float) -> None:
        """Append the `size` entries of a flush of the service's queue (`batch`, a JSON array
        of `Noted`s; the last one noted at `last_at`) as one row of the log (`BATCH`), whose
        hash covers all of them. Each keeps a `seq` of its own: the row takes the next `size`
        numbers, and is numbered by the last. The batch is stored as it came, not read: its
        entries' times are written out when they are read."""
        if size:
            at = _stamp(last_at)
            self._append(lambda seq, prev: [_batch_row(batch, size, at, seq, prev)])

    def _append(self, rows: Callable[[int, str], list[tuple[Any, ...]]]) -> None:
        """Insert `rows(seq, hash)` of the log's last entry in one transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                last = self._db.execute(
                    "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"
                ).fetchone()
                seq, prev = (int(last[0]), str(last[1])) if last else (0, _GENESIS)
                self._db.executemany(
                    "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows(seq, prev)
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        self._stop.set()
        if self._flusher is not None:
            self._flusher.join(timeout=5)
            self._flusher = None
        try:
            self.flush()
        finally:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            self._db.close()

    # --- reading ------------------------------------------------------------------------------

    def entries(
        self,
        *,
        customer_id: str | None = None,
        action: str | None = None,
        actor: str | None = None,
        since: int = 0,
        limit: int | None = 100,
        customer_ids: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """Entries after `since` (a `seq`), oldest first, filtered by what is given
        (`customer_ids`: about any of these); at most `limit` (None: all). The entries of the
        service's batches are listed one by one, each with its own `seq` and its row's hash."""
        asked = {c: v for c, v in (("customer_id", customer_id), ("action", action),
                                   ("actor", actor)) if v is not None}  # fmt: skip
        ids = set(customer_ids)
        # Rows in `seq` order, read until `limit` entries are found: a row of one entry if it
        # matches; a batch row if its text holds every value asked for (as JSON writes it),
        # its entries then read one by one.
        plain = [f"{c} = ?" for c in asked]
        plain_params: list[Any] = list(asked.values())
        held = ["instr(detail, ?) > 0" for _ in asked]
        held_params: list[Any] = [orjson.dumps(v).decode() for v in asked.values()]
        if ids:
            plain.append(f"customer_id IN ({', '.join('?' * len(ids))})")
            plain_params += list(ids)
            held.append(f"({' OR '.join(['instr(detail, ?) > 0'] * len(ids))})")
            held_params += [orjson.dumps(i).decode() for i in ids]
        params = [since, BATCH, *plain_params, BATCH, *held_params]
        where = (f"seq > ? AND ((action != ? AND {' AND '.join(['1', *plain])})"
                 f" OR (action = ? AND {' AND '.join(['1', *held])}))")  # fmt: skip
        found: list[dict[str, Any]] = []
        # A connection of its own: a question that reads the log through does not hold up
        # the appends (the log's write-ahead journal lets them go on beside it).
        with contextlib.closing(sqlite3.connect(self.path, timeout=30)) as db:
            cursor = db.execute(
                f"SELECT {', '.join(_COLUMNS)}, hash FROM audit WHERE {where} ORDER BY seq", params
            )
            for row in cursor:  # one at a time: a batch row is tens of kB, most go unread
                if row[4] != BATCH:
                    found.append({**dict(zip((*_COLUMNS, "hash"), row, strict=True)),
                                  "fields": json.loads(row[6]), "detail": json.loads(row[7])})  # fmt: skip
                else:
                    batch = orjson.loads(row[7])["entries"]
                    first = int(row[0]) - len(batch) + 1
                    for k, e in enumerate(batch):
                        entry = _batch_entry(first + k, e)
                        if (entry["seq"] > since and all(entry[c] == v for c, v in asked.items())
                                and (not ids or entry["customer_id"] in ids)):  # fmt: skip
                            found.append({**entry, "hash": row[8]})
                if limit is not None and len(found) >= limit:
                    break
        return found if limit is None else found[:limit]

    def verify(self, head: str | None = None) -> Verdict:
        """Walk the chain from the first entry: every hash must be its content's, every entry
        must chain to the one before, and `seq` must have no gap. `head` (`seq:hash`, as an
        earlier verify printed it) must still be in the chain."""
        prev, expected, count = _GENESIS, 1, 0
        seen_head = head is None or head == f"0:{_GENESIS}"  # the head of an empty log
        with self._lock:
            cursor = self._db.execute(
                f"SELECT {', '.join(_COLUMNS)}, prev, hash FROM audit ORDER BY seq"
            )
            for row in _rows(cursor):
                seq = int(row[0])
                detail = json.loads(row[7])
                size = len(detail.get("entries") or ()) if row[4] == BATCH else 1
                if seq - size + 1 != expected:
                    return Verdict(False, count, f"{expected - 1}:{prev}",
                                   f"entry {expected} is missing (the next is"
                                   f" {seq - size + 1})")  # fmt: skip
                if row[8] != prev:
                    return Verdict(False, count, f"{seq - 1}:{prev}",
                                   f"entry {seq} does not chain to the entry before it")  # fmt: skip
                if _row_digest(prev, row, detail) != row[9]:
                    return Verdict(False, count, f"{seq - 1}:{prev}",
                                   f"entry {seq} was changed after it was written")  # fmt: skip
                prev, expected, count = str(row[9]), seq + 1, count + size
                if head == f"{seq}:{prev}":
                    seen_head = True
        current = f"{expected - 1}:{prev}"
        if not seen_head:
            return Verdict(False, count, current,
                           f"the head {head} is not in the chain: entries were cut off the end"
                           " or replaced")  # fmt: skip
        return Verdict(True, count, current)


def _row_digest(prev: str, row: Sequence[Any], detail: dict[str, Any]) -> str:
    """What the hash of a row of the table (its `_COLUMNS`, `detail` read) should be: a batch
    row's over its stored text, any other's over its values."""
    fields = json.loads(row[6])
    if row[4] == BATCH:
        return _chained(prev, _batch_content([int(row[0]), *row[1:6], fields], row[7].encode()))
    entry = AuditEntry(actor=row[2], role=row[3], action=row[4], customer_id=row[5],
                       fields=tuple(fields), detail=detail, at=row[1])  # fmt: skip
    return _digest(prev, int(row[0]), entry)


def _rows(cursor: sqlite3.Cursor) -> Iterable[tuple[Any, ...]]:
    while batch := cursor.fetchmany(10_000):
        yield from batch
