"""Writes through the API: source records upserted or deleted, resolved with the batch model.

A write is an incremental run whose only change is the records written (`SourceWrite`): the
same standardisation (the source's recorded column plans), the same blocking, comparisons,
frozen term frequencies, clustering, ID assignment, golden records and atomic publish as
`c360 run`. So a record written through the API ends in the customer a batch run over the same
data gives — by construction, and tested. Writes are taken one at a time (`write_lock`), so two
writes about one person can never make two customers or lose an update. Each is a published
run of kind `realtime`, with its change-feed entries; the views of the customers it changed
are rendered again.

The run is given the write's neighbourhood, not the whole store (`c360.project.neighbourhood`,
looked up in the service's `MatchIndex`): the holders of the written records' blocking keys,
their customers' records and what stored pairs link to them. So a write's cost does not grow with
the project: about a second on a million records, the fixed cost of some 135 DuckDB statements
(the in-memory run, the publish and the views' refresh). A write that moves a blocking key or a shared
contact value across its limit runs over the whole store instead (seconds; rare, and counted
in `/metrics` as `c360_writes_total{scope="store"}`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
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
from c360.project.neighbourhood import Widen
from c360.project.run import matching_fingerprint
from c360.project.state import RunContext, SourceWrite, new_run_id
from c360.project.steps import plans_from_json, quarantine_table
from c360.resolve.fellegi_sunter import MatchModel
from c360.standardize import ColumnPlan, standardize_columns
from c360.standardize.cache import LookupCache
from c360.store.duckdb_store import now

log = logging.getLogger(__name__)

__all__ = [
    "EventsResult",
    "NeedsRun",
    "UnknownSource",
    "WriteRefused",
    "WriteResult",
    "Writer",
    "post_events",
]


class UnknownSource(C360Error):
    """No people source of that name."""


class NeedsRun(C360Error):
    """The store cannot take a real-time write until `c360 run` has run (again)."""


class WriteRefused(C360Error):
    """The record could not be taken (a bad row); the reason says why."""


@dataclass(frozen=True)
class WriteResult:
    run_id: str
    # Per record written: (source, record id, its customer now — None once deleted).
    records: list[tuple[str, str, str | None]]
    changes: list[dict[str, Any]] = field(default_factory=list)
    unchanged: bool = False
    # Records of a batch the run could not take, with why (the others were taken).
    refused: list[str] = field(default_factory=list)


class _Reasons(SilentReporter):
    """Keeps why a write could not be incremental."""

    def __init__(self) -> None:
        self.why: str | None = None

    def event(self, event: object) -> None:
        if isinstance(event, FullRunNeeded):
            self.why = event.reason


class Writer:
    def __init__(self, service: Any) -> None:
        self.service = service

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
        with self.service.write_lock:
            self._ready()
            rows = self._rows(source, records)
            return self._write(source, SourceWrite(rows), list(records))

    def delete(self, source_name: str, record_id: str) -> WriteResult:
        source = self._source(source_name)
        with self.service.write_lock:
            self._ready()
            if not self._customers_of(source.name, [record_id]):
                raise StoreError(f"no record {source_name}:{record_id}",
                                 hint="GET /customers/{id}/records lists a customer's records")  # fmt: skip
            rows = self._rows(source, {})
            return self._write(source, SourceWrite(rows, [record_id]), [record_id])

    def _rows(
        self, source: PeopleSource, records: Mapping[str, Mapping[str, str | None]]
    ) -> pa.Table:
        """The written records as the source's raw rows: its planned columns, its id and
        updated-at columns, and whatever else the records carry."""
        last = self.service.store.last_run()
        plans = plans_from_json(last.metrics.get("plans", {})).get(source.name, []) if last else []
        columns = [p.mapping.column for p in plans]
        for extra in (source.id, source.updated_at):
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
        store = self.service.store
        last = store.last_run()
        if last is None or not last.model or not store.has_match_records():
            raise NeedsRun("no published run yet", hint="run `c360 run` once before writing")
        if last.fingerprint != matching_fingerprint(self.service.config):
            raise NeedsRun("the matching settings changed since the last run",
                           hint="stop the service, `c360 run`, and serve again")  # fmt: skip

    def _write(self, source: PeopleSource, write: SourceWrite, keys: list[str]) -> WriteResult:
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
                              on_publish=index.apply if index is not None else None)  # fmt: skip

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
        )

    def _customers_of(self, source: str, keys: list[str]) -> dict[str, str]:
        index = self.service.match_index
        if index is not None and index.usable:
            found = index.customers([(source, k) for k in keys])
            return {k: c for (_, k), c in found.items()}
        if not keys:
            return {}
        marks = ", ".join("?" for _ in keys)
        rows = self.service.store.query(
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
