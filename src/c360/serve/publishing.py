"""Publishing answered writes: the exact incremental run, behind the answers.

The writer's publishing thread takes every journalled write waiting, and publishes them with the
same run as `c360 run` (over the union of their neighbourhoods), the customer IDs their answers
promised, and one atomic publish; then it checks the published customers against the answers.
A write that must be published before it is answered takes the same path, under the same lock.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pyarrow as pa

from c360.progress import SilentReporter
from c360.project.config import PeopleSource
from c360.project.incremental import FullRunNeeded, run_incremental
from c360.project.neighbourhood import Key, Widen
from c360.project.run import matching_fingerprint
from c360.project.state import RunContext, SourceWrite
from c360.resolve.fellegi_sunter import MatchModel
from c360.resolve.levels import raw_field
from c360.serve.journal import Journal, JournalEntry
from c360.serve.match_index import MatchIndex
from c360.serve.outcomes import NeedsRun, WriteRefused, WriteResult
from c360.serve.pending import Pending
from c360.standardize import ColumnPlan, standardize_value

log = logging.getLogger(__name__)

__all__ = ["PublishMethods"]

_PUBLISH_NICENESS = 10


class _Reasons(SilentReporter):
    """Keeps why a write could not be incremental."""

    def __init__(self) -> None:
        self.why: str | None = None

    def event(self, event: object) -> None:
        if isinstance(event, FullRunNeeded):
            self.why = event.reason


class PublishMethods:
    """The publishing half of `Writer`."""

    # What the writer has: its service, journal and waiting writes, and how it names a source
    # and builds a write's rows.
    service: Any
    journal: Journal
    pending: Pending
    _stop: threading.Event
    _applied: int
    _source: Callable[[str], PeopleSource]
    _rows: Callable[[PeopleSource, Mapping[str, Mapping[str, str | None]]], pa.Table]
    column_plans: Callable[[], dict[str, list[ColumnPlan]]]

    def warm_publishing(self) -> None:
        """Load now what the first publish loads on first use (the DuckDB engine, Arrow's
        joins, the standardisers' data: nicknames, phone metadata): the publishing thread did
        it while the first writes were answered, and held the interpreter lock from them."""
        import pyarrow.acero  # noqa: F401  (the joins of a neighbourhood's sharing check)

        from c360.engines import create_engine

        create_engine(threads=1).close()
        index: MatchIndex | None = self.service.match_index
        if index is None or not index.usable:
            return
        settings = self.service.config.standardize
        for source, plans in self.column_plans().items():
            try:
                rows = index.records(index.first_records(source, 1))
                for plan in plans:
                    value = rows[0].get(raw_field(plan.mapping.field)) if rows else None
                    if value is not None:
                        standardize_value(plan, str(value), settings)
            except Exception:  # a warm-up that fails costs the first writes their speed only
                log.debug("warming up the standardisers of %s failed", source, exc_info=True)

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

    def _on_publish(self, index: MatchIndex) -> Any:
        def apply(run_id: str, deletes: Any, inserts: Any) -> None:
            try:
                index.apply(run_id, deletes, inserts)
            finally:
                self._applied += 1  # before the writes leave `pending`

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
            # Rare: the write moves a contact value across the sharing limit (or steward
            # decisions wait for a run over the store).
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
