"""Writes through the API: source records upserted or deleted, answered in milliseconds,
published by the same run as `c360 run`.

A write goes through three steps:

1. **Resolved in memory** (`Resolver`, in a process of its own: `ResolverProcess`): the
   written rows become match records and are resolved over their neighbourhood in Python with
   the batch model, comparisons, clustering and ID assignment. That gives the answer: each
   record's customer ID and what happened (new customer, linked, merged, split, retired).
2. **Journalled** (`Journal`): the write is on disk before the answer leaves.
3. **Published** moments later by the exact run (`run_incremental` over the write's
   neighbourhood, looked up in the `MatchIndex`): standardisation, blocking, comparisons,
   clustering, the IDs the answer promised (`RunContext.reserved`), golden records, events
   and the change feed, in one atomic publish. Writes waiting together are published by one
   run. Once published, the customers are checked against the answer; a difference (never
   seen in the tests) is logged and counted in `/metrics` as `c360_write_answers_revised`,
   and the change feed carries what was published.

Consistency: a write whose answer rests on what one still waiting to be published changes (a
record it compares or re-clusters, a blocking key or a customer in common), or that changes
what such a write rests on, waits for that publish and is resolved after it, so every answer
is resolved against everything answered before it: two writes about one person can never
make two customers or lose an update. A read of a customer whose write is waiting
waits for its publish (`Pending.wait_for`).

A write that moves a blocking key across `max_block_size` is resolved in memory too: the
holders of that key join its neighbourhood (`neighbourhood.Flip`). One that moves a contact
value across the sharing limit is answered the same way and published over the whole store.
Some writes are published before they are answered, as they were before real-time
resolution: those made while a steward decision since the last run is unapplied, and all of
them when the match index is unusable. `/metrics` counts answers by path
(`c360_write_answers_total{path=…}`) and published runs by scope
(`c360_writes_total{scope=…}`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pyarrow as pa

from c360.errors import C360Error, StoreError
from c360.governance.suppression import suppression, suppression_key
from c360.project.config import PeopleSource
from c360.project.run import matching_fingerprint
from c360.project.state import STATE_VERSION, SourceWrite, decisions_print
from c360.project.steps import plans_from_json, sources_fingerprint
from c360.serve.journal import Journal
from c360.serve.match_index import MatchIndex
from c360.serve.outcomes import NeedsRun, UnknownSource, WriteRefused, WriteResult, WritesPaused
from c360.serve.pending import Pending, Waiting, apart
from c360.serve.publishing import PublishMethods
from c360.serve.resolution import Resolution
from c360.serve.resolver_process import ResolverGone, ResolverInputs, ResolverProcess
from c360.standardize import ColumnPlan

log = logging.getLogger(__name__)

__all__ = [
    "NeedsRun",
    "UnknownSource",
    "WriteRefused",
    "WriteResult",
    "Writer",
    "WritesPaused",
]

# Answered writes waiting for their publish, at most: past it, a write waits for room. The
# publish keeps up with some 25-30 writes a second on two cores; a longer queue would only
# make the wait for a publish longer.
MAX_WAITING = 500


class Writer(PublishMethods):
    """Takes writes: resolves, journals and answers them; publishes them behind
    (`PublishMethods`)."""

    def __init__(self, service: Any) -> None:
        self.service = service
        self.journal = Journal(service.root)
        self.pending = Pending()
        self._resolving = threading.Lock()  # one resolution at a time
        self._resolver: ResolverProcess | None = None
        self._plans: dict[str, list[ColumnPlan]] | None = None
        # Publishes applied to the match index. A resolution reads one snapshot of the index,
        # which the waiting writes (`pending`) describe the rest of; when a publish was
        # applied while it ran, that snapshot may be older than `pending`: it is done again.
        self._applied = 0
        self._stop = threading.Event()
        self._publisher: threading.Thread | None = None
        self._suppressed: tuple[frozenset[str], str] | None = None

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

    def prepare(self) -> None:
        """Start the resolver now rather than at the first write, if writes can be taken, and
        read what every write reads once (the first write took 25 ms more for it)."""
        try:
            self._ready()
        except NeedsRun:
            return  # every write will say why
        self.column_plans()
        self.suppressed()
        self.warm_publishing()
        with self._resolving:
            self._current_resolver()

    def stop_resolving(self) -> None:
        """Stop the resolving process (under `_resolving`); the next write starts another."""
        with self._resolving:
            if self._resolver is not None:
                self._resolver.close()
                self._resolver = None

    def forget_suppressed(self) -> None:
        self._suppressed = None

    def suppressed(self) -> tuple[frozenset[str], str]:
        """Erased people's records and contact values, as keyed hashes, and the key: read at
        start, and again after an erasure while serving."""
        if self._suppressed is None:
            self._suppressed = suppression(self.service.root, self.service.reader())
        return self._suppressed

    def close(self) -> None:
        """Publish every waiting write, then stop."""
        if self._publisher is not None:
            self.pending.drain()
            self._stop.set()
            self._publisher.join()
            self._publisher = None
        if self._resolver is not None:
            self._resolver.close()
            self._resolver = None
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
        keys, secret = self.suppressed()
        erased = [i for i in records if keys and suppression_key(secret, source.name, i) in keys]
        if erased:
            raise WriteRefused(
                f"{source.name}:{erased[0]} belongs to a person who was erased; c360 does not"
                " take their records again", hint="delete the record in its source system",
            )  # fmt: skip
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
        timings: dict[str, float] = {}
        for _ in range(3):
            asked = time.perf_counter()
            with self._resolving:
                if self.pending.room(MAX_WAITING):
                    self.service.metrics.waits.labels(reason="full").inc()
                started = time.perf_counter()
                timings["queue"] = timings.get("queue", 0.0) + started - asked
                resolved = self._resolve(source, write, timings)
                timings["resolve"] = timings.get("resolve", 0.0) + time.perf_counter() - started
                if resolved is None:
                    break
                resolution, applied = resolved
                if self._clear(resolution):
                    # Unless a publish moved the match index meanwhile (then resolved again).
                    if applied == self._applied:
                        result = self._journal(source, write, keys, resolution)
                        return replace(result, timings=timings | result.timings)
                    self.service.metrics.waits.labels(reason="retry").inc()
                    continue
            # It rests on a write not yet published: resolved again once that is (the other
            # writes go on meanwhile). The answer says how long it waited (`overlap`).
            self.service.metrics.waits.labels(reason="overlap").inc()
            if log.isEnabledFor(logging.INFO):
                log.info("a write to %s waits for the publish of earlier writes: both touch %s",
                         source.name, ", ".join(":".join(t) for t in
                                                self.pending.overlapping(resolution)[:5]))  # fmt: skip
            waited = time.perf_counter()
            self.pending.wait_clear(resolution)
            timings["overlap"] = timings.get("overlap", 0.0) + time.perf_counter() - waited
        # Published before it is answered: after every write answered before it.
        started = time.perf_counter()
        self.drain()
        with self.service.write_lock:
            result = self._write(source, write, keys)
        self.service.metrics.answers.labels(path="published").inc()
        return replace(result, timings=timings | {"publish": time.perf_counter() - started})

    def _clear(self, resolution: Resolution) -> bool:
        """Whether a resolution may be answered now: it shares nothing with the writes waiting
        to be published, or only blocking keys, and is `apart` from the writes that move
        them (called under `_resolving`)."""
        shared = self.pending.sharing_keys(resolution)
        if shared is not None and not shared[0]:
            return True
        resolver = self._resolver
        if shared is None or resolver is None:
            return False
        try:
            if not apart(resolution, *shared, resolver.cap, resolver.rule_fields, resolver.links):
                return False
        except ResolverGone as gone:
            log.warning("write to %s waits for the writes it shares keys with: %s",
                        resolution.source, gone)  # fmt: skip
            return False
        self.service.metrics.apart.inc()
        return True

    def _journal(
        self, source: PeopleSource, write: SourceWrite, keys: list[str], resolution: Resolution
    ) -> WriteResult:
        """Answer a resolved write: on disk first, unless it changes nothing."""
        if resolution.unchanged:
            self.service.metrics.answers.labels(path="unchanged").inc()
            return self._answer(resolution, keys)
        started = time.perf_counter()
        entry = self.journal.append(source.name, write.rows, write.deleted,
                                    resolution.reserved, resolution.customers)  # fmt: skip
        journalled = time.perf_counter() - started
        self.service.metrics.journal_time.observe(journalled)
        self.pending.add(Waiting(entry, resolution))
        self.service.metrics.waiting.set(len(self.pending))
        self.service.metrics.answers.labels(path="resolved").inc()
        return replace(self._answer(resolution, keys), timings={"journal": journalled})

    def _resolve(
        self, source: PeopleSource, write: SourceWrite, timings: dict[str, float]
    ) -> tuple[Resolution, int] | None:
        """The write resolved in memory against one state of the match index (and which: the
        publishes applied to it); None when it must be published to be answered. `timings`
        gains the resolving process's own time."""
        resolver = self._current_resolver()
        if resolver is None:
            return None
        for _ in range(3):
            applied = self._applied
            started = time.perf_counter()
            try:
                resolution = resolver.resolve(source.name, write.rows, write.deleted)
                self.service.metrics.resolve_time.observe(time.perf_counter() - started)
                self.service.metrics.index_locked.set(resolver.locked[0])
                timings["resolver"], timings["resolver_cpu"] = resolver.took
            except ResolverGone as gone:
                log.warning("write to %s published first: %s", source.name, gone)
                resolver.close()
                self._resolver = None  # the next write starts another
                return None
            if applied == self._applied:
                return resolution, applied
            self.service.metrics.waits.labels(reason="retry").inc()
        return None

    def _current_resolver(self) -> ResolverProcess | None:
        """The resolver for the store's model, while the match index is usable and no steward
        decision waits to be applied by a run over the store (called under `_resolving`)."""
        if self._resolver is None:
            inputs = self.resolver_inputs()
            if inputs is None:
                return None
            try:
                self._resolver = ResolverProcess(inputs)
            except (ResolverGone, OSError) as e:
                log.warning("no real-time resolution (writes are published before they are"
                            " answered): %s", e)  # fmt: skip
                return None
            locked, why = self._resolver.locked
            self.service.metrics.index_locked.set(locked)
            if why is not None:
                log.info("the match index is read through the page cache, not kept in memory:"
                         " %s", why)  # fmt: skip
        index: MatchIndex | None = self.service.match_index
        return self._resolver if index is not None and index.usable else None

    def resolver_inputs(self) -> ResolverInputs | None:
        """What the resolver is made of; None when writes cannot be resolved in memory (no
        usable match index, or steward decisions a run has not applied yet)."""
        service = self.service
        index: MatchIndex | None = service.match_index
        if index is None or not index.usable:
            return None
        store = service.reader()
        last = store.last_run()
        if last is None or decisions_print(store) != last.metrics.get("decisions"):
            return None
        tf = {(str(r["field"]), str(r["value"])): float(r["tf"])
              for r in store.table("term_frequencies").to_pylist()}  # fmt: skip
        return ResolverInputs(service.config, last, index.path.parent, index.rules,
                              index.sharing, tf, store.decisions())  # fmt: skip

    def _known(self, source: str, record_id: str) -> bool:
        """Whether the store holds a record (looked up without waiting for a publish)."""
        with self._resolving:  # the resolver's connection serves one thread at a time
            resolver = self._current_resolver()
            if resolver is not None:
                return bool(resolver.index.customers([(source, record_id)]))
        with self.service.write_lock:
            return bool(self._customers_of(source, [record_id]))

    def _answer(self, resolution: Resolution, keys: list[str]) -> WriteResult:
        """The answer to a write resolved in memory (its publish follows: no run yet)."""
        source = resolution.source
        return WriteResult(
            None,
            [(source, k, resolution.customers.get((source, k))) for k in keys],
            [{"seq": None, "changed_at": None, "run_id": None, **c} for c in resolution.changes],
            unchanged=resolution.unchanged,
            existed=frozenset(i for s, i in resolution.existed if s == source),
        )

    def column_plans(self) -> dict[str, list[ColumnPlan]]:
        """How the last run read each people source's columns."""
        if self._plans is None:
            last = self.service.reader().last_run()
            self._plans = plans_from_json(last.metrics.get("plans", {})) if last else {}
        return self._plans

    def _rows(
        self, source: PeopleSource, records: Mapping[str, Mapping[str, str | None]]
    ) -> pa.Table:
        """The written records as the source's raw rows: its planned columns, its id and
        updated-at columns, the columns its `fields` names, and whatever else the records
        carry."""
        columns = [p.mapping.column for p in self.column_plans().get(source.name, [])]
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
        # What an incremental run needs besides (`run_incremental`): a write answered now must
        # be publishable by one.
        if last.metrics.get("state_version") != STATE_VERSION or last.metrics.get(
            "sources_print"
        ) != sources_fingerprint(self.service.config):
            raise NeedsRun("the sources, their mappings or the golden-record rules changed since"
                           " the last run",
                           hint="stop the service, `c360 run`, and serve again")  # fmt: skip
