"""Writes through the API: source records upserted or deleted, answered in milliseconds,
published by the same run as `c360 run`.

A write goes through three steps:

1. **Resolved in memory** (`Resolver`): the written rows become match records and are
   resolved over their neighbourhood in Python with the batch model, comparisons, clustering
   and ID assignment. That gives the answer: each record's customer ID and what happened
   (new customer, linked, merged, split, retired).
2. **Journalled** (`Journal`): the write is on disk before the answer leaves.
3. **Published** moments later by the exact run (`run_incremental` over the write's
   neighbourhood, looked up in the `MatchIndex`): standardisation, blocking, comparisons,
   clustering, the IDs the answer promised (`RunContext.reserved`), golden records, events
   and the change feed, in one atomic publish. Writes waiting together are published by one
   run. Once published, the customers are checked against the answer; a difference (never
   seen in the tests) is logged and counted in `/metrics` as `c360_write_answers_revised`,
   and the change feed carries what was published.

Consistency: a write whose neighbourhood touches one still waiting to be published (a record,
a blocking key or a customer in common) waits for that publish and is resolved after it, so
every answer is resolved against everything answered before it: two writes about one person
can never make two customers or lose an update. A read of a customer whose write is waiting
waits for its publish (`Pending.wait_for`).

Some writes are published before they are answered, as they were before real-time
resolution: those that move a blocking key or a shared value across its limit (`Widen`; they
run over the whole store), those made while a steward decision since the last run is
unapplied, and all of them when the match index is unusable. `/metrics` counts writes by path
(`c360_writes_total{scope=…}`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from c360.engines import create_engine
from c360.errors import C360Error, StoreError
from c360.model import ColumnMapping, FieldKind
from c360.progress import SilentReporter
from c360.project.config import EventSource, PeopleSource
from c360.project.events import CACHE_DIR, tie_events
from c360.project.incremental import FullRunNeeded, run_incremental
from c360.project.neighbourhood import Key, Widen
from c360.project.run import matching_fingerprint
from c360.project.state import RunContext, SourceWrite, decisions_print, new_run_id
from c360.project.steps import plans_from_json, quarantine_table
from c360.resolve.fellegi_sunter import MatchModel
from c360.serve.journal import Journal, JournalEntry
from c360.serve.match_index import MatchIndex
from c360.serve.resolver import Resolution, Resolver, Token
from c360.standardize import ColumnPlan, standardize_columns
from c360.standardize.cache import LookupCache
from c360.store.duckdb_store import now

log = logging.getLogger(__name__)

__all__ = [
    "EventsResult",
    "NeedsRun",
    "Pending",
    "UnknownSource",
    "WriteRefused",
    "WriteResult",
    "Writer",
    "WritesPaused",
    "post_events",
]

# How long a read waits for the publish of a customer's write before it answers anyway.
READ_WAIT_SECONDS = 30.0
# Answered writes waiting for their publish, at most: past it, a write waits for room. The
# publish keeps up with some 60 records a second on two cores; a longer queue would only
# make the wait for a publish longer.
MAX_WAITING = 500
_PUBLISH_NICENESS = 10


class UnknownSource(C360Error):
    """No people source of that name."""


class NeedsRun(C360Error):
    """The store cannot take a real-time write until `c360 run` has run (again)."""


class WriteRefused(C360Error):
    """The record could not be taken (a bad row); the reason says why."""


class WritesPaused(C360Error):
    """Answered writes could not be published: no write is taken until the service restarts."""


@dataclass(frozen=True)
class WriteResult:
    # The run that published the write; None when it was answered before its publish.
    run_id: str | None
    # Per record written: (source, record id, its customer now — None once deleted).
    records: list[tuple[str, str, str | None]]
    # The change-feed entries: as published (with `seq`), or, answered before the publish,
    # the identity entries it makes (new, merge, split, retired; no `seq` yet).
    changes: list[dict[str, Any]] = field(default_factory=list)
    unchanged: bool = False
    # Records of a batch the run could not take, with why (the others were taken).
    refused: list[str] = field(default_factory=list)
    existed: frozenset[str] = frozenset()  # the ids written that the store held before

    @property
    def published(self) -> bool:
        return self.run_id is not None


class _Reasons(SilentReporter):
    """Keeps why a write could not be incremental."""

    def __init__(self) -> None:
        self.why: str | None = None

    def event(self, event: object) -> None:
        if isinstance(event, FullRunNeeded):
            self.why = event.reason


@dataclass(frozen=True)
class _Waiting:
    entry: JournalEntry
    reads: frozenset[Token]
    writes: frozenset[Token]
    customer_ids: frozenset[str]
    answered: float = field(default_factory=time.monotonic)


def _count(counts: dict[Any, int], items: Iterable[Any], step: int) -> None:
    for item in items:
        n = counts.get(item, 0) + step
        if n:
            counts[item] = n
        else:
            del counts[item]


class Pending:
    """The journalled writes not yet published: what they read and change, and who waits for
    them."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._waiting: dict[int, _Waiting] = {}
        self.reads: dict[Token, int] = {}
        self.writes: dict[Token, int] = {}
        self.customers: dict[str, int] = {}
        # Set when waiting writes cannot be published: nobody waits for them any more (they
        # stay journalled for the next start).
        self.failed = False

    def fail(self) -> None:
        with self._changed:
            self.failed = True
            self._changed.notify_all()

    def add(self, waiting: _Waiting) -> None:
        with self._changed:
            self._waiting[waiting.entry.seq] = waiting
            _count(self.reads, waiting.reads, 1)
            _count(self.writes, waiting.writes, 1)
            _count(self.customers, waiting.customer_ids, 1)
            self._changed.notify_all()

    def remove(self, seqs: Iterable[int]) -> None:
        with self._changed:
            for seq in seqs:
                waiting = self._waiting.pop(seq)
                _count(self.reads, waiting.reads, -1)
                _count(self.writes, waiting.writes, -1)
                _count(self.customers, waiting.customer_ids, -1)
            self._changed.notify_all()

    def _overlap(self, reads: Iterable[Token], writes: Iterable[Token]) -> bool:
        return any(t in self.writes for t in reads) or any(t in self.reads for t in writes)

    def overlaps(self, resolution: Resolution) -> bool:
        """Whether a resolution read what a waiting write changes, or changes what it read."""
        with self._changed:
            return self._overlap(resolution.reads, resolution.writes)

    def wait_clear(self, resolution: Resolution) -> None:
        """Until no waiting write overlaps this resolution."""
        with self._changed:
            self._changed.wait_for(
                lambda: self.failed or not self._overlap(resolution.reads, resolution.writes)
            )

    def batch(self, timeout: float) -> list[_Waiting]:
        """The writes waiting (in journal order), once there are some or `timeout` passed."""
        with self._changed:
            if not self._waiting:
                self._changed.wait(timeout)
            return [self._waiting[s] for s in sorted(self._waiting)]

    def wait_for(self, customer_id: str, timeout: float = READ_WAIT_SECONDS) -> None:
        """Until no waiting write involves this customer."""
        with self._changed:
            self._changed.wait_for(
                lambda: self.failed or customer_id not in self.customers, timeout
            )

    def room(self, most: int) -> bool:
        """Until fewer than `most` writes wait; whether it had to wait."""
        with self._changed:
            if self.failed or len(self._waiting) < most:
                return False
            self._changed.wait_for(lambda: self.failed or len(self._waiting) < most)
            return True

    def drain(self, timeout: float | None = None) -> bool:
        """Until every journalled write is published; False if `timeout` passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: self.failed or not self._waiting, timeout)

    def __len__(self) -> int:
        with self._changed:
            return len(self._waiting)


class Writer:
    def __init__(self, service: Any) -> None:
        self.service = service
        self.journal = Journal(service.root)
        self.pending = Pending()
        self._resolving = threading.Lock()  # one resolution at a time
        self._resolver: Resolver | None = None
        self._resolver_run: str | None = None
        self._plans: dict[str, list[ColumnPlan]] | None = None
        # Moves each time a publish starts and ends applying to the match index: a
        # resolution that saw it move read a mix of two states, and is done again.
        self._epoch = 0
        self._stop = threading.Event()
        self._publisher: threading.Thread | None = None

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Publish what the journal kept from before, then publish writes as they come."""
        left = self.journal.entries()
        if left:
            log.info("publishing %d journalled writes kept from before", len(left))
            try:
                with self.service.write_lock:
                    self._publish(left)
            except C360Error as e:
                raise StoreError(
                    f"{len(left)} writes answered before the service stopped cannot be published:"
                    f" {e}",
                    hint="put back the matching settings they were answered with and serve once"
                    " (that publishes them); change the settings after",
                ) from e
            self.journal.remove([e.seq for e in left])
        self._publisher = threading.Thread(target=self._publish_loop, name="c360-publish",
                                           daemon=True)  # fmt: skip
        self._publisher.start()

    def close(self) -> None:
        """Publish every waiting write, then stop."""
        if self._publisher is not None:
            self.pending.drain()
            self._stop.set()
            self._publisher.join()
            self._publisher = None
        if self._resolver is not None:
            self._resolver.index.close()
        self.journal.close()

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every answered write is published."""
        return self.pending.drain(timeout)

    # --- taking writes ------------------------------------------------------------------------

    def _source(self, name: str) -> PeopleSource:
        for source in self.service.config.people:
            if source.name == name:
                assert isinstance(source, PeopleSource)
                return source
        names = ", ".join(s.name for s in self.service.config.people)
        raise UnknownSource(f"no people source {name!r}", hint=f"people sources: {names}")

    def upsert(
        self, source_name: str, records: Mapping[str, Mapping[str, str | None]]
    ) -> WriteResult:
        """Add or replace records (id → raw columns) of one people source."""
        source = self._source(source_name)
        self._ready()
        rows = self._rows(source, records)
        return self._take(source, SourceWrite(rows), list(records))

    def delete(self, source_name: str, record_id: str) -> WriteResult:
        source = self._source(source_name)
        self._ready()
        if not self._known(source.name, record_id):
            self.drain()  # it may be a record answered but not published yet
            if not self._known(source.name, record_id):
                raise StoreError(f"no record {source_name}:{record_id}",
                                 hint="GET /customers/{id}/records lists a customer's records")  # fmt: skip
        rows = self._rows(source, {})
        return self._take(source, SourceWrite(rows, [record_id]), [record_id])

    def _take(self, source: PeopleSource, write: SourceWrite, keys: list[str]) -> WriteResult:
        if self.pending.failed:
            raise WritesPaused("answered writes could not be published (see the service's log)",
                               hint="restart the service: it publishes them first")  # fmt: skip
        for _ in range(3):
            with self._resolving:
                if self.pending.room(MAX_WAITING):
                    self.service.metrics.waits.labels(reason="full").inc()
                resolution = self._resolve(source, write)
                if resolution is None:
                    break
                if not self.pending.overlaps(resolution):
                    return self._journal(source, write, keys, resolution)
            # It touches a write not yet published: resolved again once that is (the other
            # writes go on meanwhile).
            self.service.metrics.waits.labels(reason="overlap").inc()
            self.pending.wait_clear(resolution)
        # Published before it is answered: after every write answered before it.
        self.drain()
        with self.service.write_lock:
            result = self._write(source, write, keys)
        self.service.metrics.answers.labels(path="published").inc()
        return result

    def _journal(
        self, source: PeopleSource, write: SourceWrite, keys: list[str], resolution: Resolution
    ) -> WriteResult:
        """Answer a resolved write: on disk first, unless it changes nothing."""
        if resolution.unchanged:
            self.service.metrics.answers.labels(path="unchanged").inc()
            return self._answer(resolution, keys, None)
        entry = self.journal.append(source.name, write.rows, write.deleted,
                                    resolution.reserved, resolution.customers)  # fmt: skip
        self.pending.add(
            _Waiting(entry, resolution.reads, resolution.writes, resolution.customer_ids)
        )
        self.service.metrics.waiting.set(len(self.pending))
        self.service.metrics.answers.labels(path="resolved").inc()
        return self._answer(resolution, keys, None)

    def _resolve(self, source: PeopleSource, write: SourceWrite) -> Resolution | None:
        """The write resolved in memory against one state of the match index; None when it
        must be published to be answered."""
        resolver = self._current_resolver()
        if resolver is None:
            return None
        for _ in range(3):
            epoch = self._epoch
            started = time.perf_counter()
            try:
                resolution = resolver.resolve(source.name, write.rows, write.deleted)
                self.service.metrics.resolve_time.observe(time.perf_counter() - started)
            except Widen as widen:
                log.info("write to %s published first: %s", source.name, widen.reason)
                return None
            if epoch == self._epoch and epoch % 2 == 0:
                return resolution
            self.service.metrics.waits.labels(reason="retry").inc()
        return None

    def _current_resolver(self) -> Resolver | None:
        """The resolver for the store's model, while the match index is usable and no steward
        decision waits to be applied by a run over the store (called under `_resolving`)."""
        service = self.service
        index: MatchIndex | None = service.match_index
        if index is None or not index.usable:
            return None
        if self._resolver is None:
            store = service.reader()
            last = store.last_run()
            if last is None or decisions_print(store) != last.metrics.get("decisions"):
                return None
            tf = {(str(r["field"]), str(r["value"])): float(r["tf"])
                  for r in store.table("term_frequencies").to_pylist()}  # fmt: skip
            # Its own connection to the index: the publishing thread writes through the other.
            own = MatchIndex(index.path.parent, index.rules, index.sharing)
            self._resolver = Resolver(service.config, last, own, tf, store.decisions())
        return self._resolver

    def _known(self, source: str, record_id: str) -> bool:
        """Whether the store holds a record (looked up without waiting for a publish)."""
        with self._resolving:  # the resolver's connection serves one thread at a time
            resolver = self._current_resolver()
            if resolver is not None:
                return bool(resolver.index.customers([(source, record_id)]))
        with self.service.write_lock:
            return bool(self._customers_of(source, [record_id]))

    def _answer(self, resolution: Resolution, keys: list[str], run_id: str | None) -> WriteResult:
        source = resolution.source
        return WriteResult(
            run_id,
            [(source, k, resolution.customers.get((source, k))) for k in keys],
            [{"seq": None, "changed_at": None, "run_id": None, **c} for c in resolution.changes],
            unchanged=resolution.unchanged,
            existed=frozenset(i for s, i in resolution.existed if s == source),
        )

    # --- publishing ---------------------------------------------------------------------------

    def _publish_loop(self) -> None:
        # Publishing is background work: the operating system gives the threads answering
        # requests the processor first (on Linux a thread has its own priority).
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _PUBLISH_NICENESS)
        while not self._stop.is_set():
            batch = self.pending.batch(timeout=0.5)
            if not batch:
                continue
            try:
                with self.service.write_lock:
                    self._publish([w.entry for w in batch])
            except Exception:
                # The writes stay journalled: the next start publishes them. Taking more
                # writes meanwhile could publish them out of order.
                log.exception("answered writes could not be published; they stay journalled,"
                              " and writes are paused until the service restarts")  # fmt: skip
                self.pending.fail()
                return
            self.journal.remove([w.entry.seq for w in batch])
            self.pending.remove(w.entry.seq for w in batch)
            metrics = self.service.metrics
            metrics.waiting.set(len(self.pending))
            at = time.monotonic()
            for w in batch:
                metrics.publish_lag.observe(at - w.answered)

    def _publish(self, entries: Sequence[JournalEntry]) -> None:
        """Publish journalled writes with the IDs their answers gave, one run per source and
        set of columns (a stored row keeps the columns it was written with); check the
        customers against the answers."""
        groups: dict[tuple[str, tuple[str, ...]], list[JournalEntry]] = {}
        for e in entries:
            columns = tuple(e.rows.column_names) if e.rows.num_rows else ()
            groups.setdefault((e.source, columns), []).append(e)
        for (name, _), group in groups.items():
            source = self._source(name)
            records: dict[str, dict[str, str | None]] = {}
            deleted: list[str] = []
            reserved: dict[Key, str] = {}
            for e in group:
                id_column = source.id
                for row in e.rows.to_pylist():
                    records[str(row[id_column])] = row
                deleted += e.deleted
                reserved |= e.reserved
            write = SourceWrite(self._rows(source, records), deleted)
            keys = [*records, *deleted]
            result = self._write(source, write, keys, reserved)
            published = {(s, k): c for s, k, c in result.records}
            for e in group:
                revised = {k: (c, published.get(k)) for k, c in e.customers.items()
                           if published.get(k) != c}  # fmt: skip
                if revised:
                    self.service.metrics.revised.inc(len(revised))
                    log.warning("write %d published other customers than answered: %s",
                                e.seq, revised)  # fmt: skip

    def _rows(
        self, source: PeopleSource, records: Mapping[str, Mapping[str, str | None]]
    ) -> pa.Table:
        """The written records as the source's raw rows: its planned columns, its id and
        updated-at columns, the columns its `fields` names, and whatever else the records
        carry."""
        if self._plans is None:
            last = self.service.reader().last_run()
            self._plans = plans_from_json(last.metrics.get("plans", {})) if last else {}
        columns = [p.mapping.column for p in self._plans.get(source.name, [])]
        for extra in (source.id, source.updated_at, *source.fields):
            if extra and extra not in columns:
                columns.append(extra)
        for raw in records.values():
            columns += [c for c in raw if c not in columns]
        data: dict[str, list[str | None]] = {c: [] for c in columns}
        for record_id, raw in records.items():
            given = raw.get(source.id)
            if given is not None and given != record_id:
                raise WriteRefused(
                    f"column {source.id!r} says {given!r}, but the path says {record_id!r}",
                    hint=f"leave {source.id!r} out, or make it the same",
                )
            for c in columns:
                data[c].append(record_id if c == source.id else raw.get(c))
        return pa.table({c: pa.array(v, pa.string()) for c, v in data.items()})

    def _ready(self) -> None:
        """A write needs the model of a published run, trained with today's settings."""
        if self._resolver is not None:
            return  # checked when it was made; the model does not change while serving
        store = self.service.reader()
        last = store.last_run()
        if last is None or not last.model or not store.has_match_records():
            raise NeedsRun("no published run yet", hint="run `c360 run` once before writing")
        if last.fingerprint != matching_fingerprint(self.service.config):
            raise NeedsRun("the matching settings changed since the last run",
                           hint="stop the service, `c360 run`, and serve again")  # fmt: skip

    def _on_publish(self, index: MatchIndex) -> Any:
        def apply(run_id: str, deletes: Any, inserts: Any) -> None:
            self._epoch += 1
            try:
                index.apply(run_id, deletes, inserts)
            finally:
                self._epoch += 1

        return apply

    def _write(
        self,
        source: PeopleSource,
        write: SourceWrite,
        keys: list[str],
        reserved: Mapping[Key, str] | None = None,
    ) -> WriteResult:
        """Publish a write by the exact run (under the service's write lock)."""
        service = self.service
        store, config = service.store, service.config
        index = service.match_index if service.match_index and service.match_index.usable else None
        last = store.last_run()
        assert last is not None
        before = self._customers_of(source.name, keys)
        reasons = _Reasons()

        def context(scoped: bool) -> RunContext:
            return RunContext(service.root, config, store, last, MatchModel.from_json(last.model),
                              matching_fingerprint(config), reasons, None,
                              writes={source.name: write},
                              neighbourhood=index if scoped else None,
                              on_publish=self._on_publish(index) if index is not None else None,
                              reserved=reserved)  # fmt: skip

        try:
            summary = run_incremental(context(index is not None))
            scope = "neighbourhood" if index is not None else "store"
        except Widen as widen:
            # Rare: the write moves a blocking key or a shared value across its limit.
            log.info("write to %s over the whole store: %s", source.name, widen.reason)
            summary = run_incremental(context(False))
            scope = "store"
        if summary is None:
            raise NeedsRun(f"a real-time write cannot be taken now: {reasons.why}",
                           hint="stop the service, `c360 run`, and serve again")  # fmt: skip
        service.metrics.writes.labels(scope=scope).inc()
        quarantined = store.query(
            "SELECT reason FROM quarantine WHERE run_id = ? AND source = ?",
            [summary.run_id, source.name],
        )
        refused = [str(q["reason"]) for q in quarantined]
        if refused and len(refused) >= len(keys):
            raise WriteRefused(f"record not taken: {refused[0]}")
        changes = store.query(
            "SELECT seq, changed_at, kind, customer_id, other_id, run_id FROM changes"
            " WHERE run_id = ? ORDER BY seq",
            [summary.run_id],
        )
        after = self._customers_of(source.name, keys)
        touched = {*before.values(), *after.values()}
        touched |= {c[k] for c in changes for k in ("customer_id", "other_id") if c[k]}
        service.views.refresh(store, {t for t in touched if t}, service.high_value(store))
        service.notify_change()
        return WriteResult(
            summary.run_id,
            [(source.name, k, after.get(k)) for k in keys],
            changes,
            unchanged=summary.changed_records == 0,
            refused=refused,
            existed=frozenset(before),
        )

    def _customers_of(self, source: str, keys: list[str]) -> dict[str, str]:
        index = self.service.match_index
        if index is not None and index.usable:
            found = index.customers([(source, k) for k in keys])
            return {k: c for (_, k), c in found.items()}
        if not keys:
            return {}
        marks = ", ".join("?" for _ in keys)
        rows = self.service.reader().query(
            f"SELECT record_id, customer_id FROM links WHERE source = ? AND record_id IN ({marks})",
            [source, *keys],
        )
        return {str(r["record_id"]): str(r["customer_id"]) for r in rows}


@dataclass(frozen=True)
class EventsResult:
    write_id: str
    stored: int
    # Stored but not tied yet (their person is not known, or not uniquely): (event id, why).
    untied: list[tuple[str, str]]
    # Not stored: (row number in the batch, why).
    refused: list[tuple[int | None, str]]


def post_events(
    writer: Writer, source_name: str, rows: Sequence[Mapping[str, str | None]]
) -> EventsResult:
    """Tie posted events to their customers as a run would, and store them (an event with the
    id of a stored one replaces it). Events whose person is not known yet are kept untied:
    the write that brings their person ties them."""
    service = writer.service
    config = service.config
    source = next((e for e in config.events if e.name == source_name), None)
    if source is None:
        names = ", ".join(e.name for e in config.events)
        raise UnknownSource(f"no event source {source_name!r}", hint=f"event sources: {names}")
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    table = pa.table({c: pa.array([r.get(c) for r in rows], pa.string()) for c in columns})
    people = [s.name for s in config.people]
    writer.drain()  # events may name records answered but not yet published
    with service.write_lock:
        store = service.store
        engine = create_engine()
        try:
            keys = _person_keys(store, source, table)
            engine.set_person_keys(people, keys)
            engine.set_contact_points(_contact_points(service, source, table))
            events, quarantined, _ = tie_events(
                service.root, config, engine, people, only={source.name},
                given={source.name: table},
            )  # fmt: skip
        finally:
            engine.close()
        write_id = new_run_id(now())
        before = store.matching("events", events.select(["source", "event_id"]),
                                columns="t.customer_id")  # fmt: skip
        store.add_events(events, quarantine_table(write_id, [], [], quarantined))
        touched = {*before.column("customer_id").to_pylist(),
                   *events.column("customer_id").to_pylist()}  # fmt: skip
        service.views.refresh(store, {t for t in touched if t}, service.high_value(store))
    # A reason row names the event by its place in the batch (1-based): an event that was
    # stored is untied, any other was refused.
    ids = table.column(source.id).to_pylist() if source.id in table.column_names else []
    untied_ids = set(events.filter(pc.is_null(events.column("customer_id")))
                     .column("event_id").to_pylist())  # fmt: skip
    untied: list[tuple[str, str]] = []
    refused: list[tuple[int | None, str]] = []
    for q in quarantined:
        for r in q.to_pylist():
            n = r["row_number"]
            event_id = ids[n - 1] if n is not None and 0 < n <= len(ids) else None
            if event_id in untied_ids:
                untied.append((str(event_id), r["reason"]))
            else:
                refused.append((n, r["reason"]))
    return EventsResult(write_id, events.num_rows, untied, refused)


def _person_keys(store: Any, source: EventSource, table: pa.Table) -> pa.Table:
    """(source, record_id, customer_id) of the people records the events name by id."""
    empty = pa.table({"source": pa.array([], pa.string()), "record_id": pa.array([], pa.string()),
                      "customer_id": pa.array([], pa.string())})  # fmt: skip
    column = source.person.record_id
    if column is None or source.person.source is None or column not in table.column_names:
        return empty
    ids = sorted({i for i in table.column(column).to_pylist() if i})
    if not ids:
        return empty
    wanted = pa.table({"source": [source.person.source] * len(ids), "record_id": ids})
    found: pa.Table = store.matching(
        "links", wanted, columns="t.source, t.record_id, t.customer_id"
    )
    return found


def _contact_points(service: Any, source: EventSource, table: pa.Table) -> pa.Table:
    """The stored contact points of the standardised contact values the events carry."""
    column = source.person.email or source.person.phone
    kind = "email" if source.person.email else "phone"
    if column is None or column not in table.column_names or source.person.record_id:
        return service.store.query_arrow("SELECT * FROM contact_points LIMIT 0")
    raw = sorted({v for v in table.column(column).to_pylist() if v})
    field_kind = FieldKind.EMAIL if kind == "email" else FieldKind.PHONE
    (lookup,) = standardize_columns(
        [(ColumnPlan(ColumnMapping(column, field_kind, kind)), raw)], service.config.standardize,
        cache=LookupCache(service.root / CACHE_DIR),
    )  # fmt: skip
    values = sorted({v for v in lookup.column(kind).to_pylist() if v})
    wanted = pa.table({"kind": [kind] * len(values), "value": pa.array(values, pa.string())})
    points: pa.Table = service.store.matching("contact_points", wanted)
    return points
