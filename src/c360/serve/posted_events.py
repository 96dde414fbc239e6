"""Engagement events posted through the API, tied to their customers as a run ties them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from c360.engines import create_engine
from c360.governance.suppression import contact_key, suppression_key
from c360.model import ColumnMapping, FieldKind
from c360.project.config import EventSource
from c360.project.events import CACHE_DIR, tie_events
from c360.project.state import new_run_id
from c360.project.steps import quarantine_table
from c360.serve.outcomes import UnknownSource
from c360.standardize import ColumnPlan, standardize_columns
from c360.standardize.cache import LookupCache
from c360.store.duckdb_store import now

__all__ = ["EventsResult", "post_events"]


@dataclass(frozen=True)
class EventsResult:
    write_id: str
    stored: int
    # Stored but not tied yet (their person is not known, or not uniquely): (event id, why).
    untied: list[tuple[str, str]]
    # Not stored: (row number in the batch, why).
    refused: list[tuple[int | None, str]]


def post_events(
    writer: Any, source_name: str, rows: Sequence[Mapping[str, str | None]]
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
    # Events of erased people are refused before anything of them is read or standardised.
    erased = [n for n, r in enumerate(rows, 1) if _erased(writer, source, r)]
    kept = [n for n in range(1, len(rows) + 1) if n not in set(erased)]
    gone: list[tuple[int | None, str]] = [(n, _ERASED) for n in erased]
    rows = [rows[n - 1] for n in kept]
    if not rows:
        return EventsResult(new_run_id(now()), 0, [], gone)
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
                given={source.name: table}, suppressed=service.writer.suppressed(),
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
                refused.append((kept[n - 1] if n is not None and 0 < n <= len(kept) else n,
                                r["reason"]))  # fmt: skip
    return EventsResult(write_id, events.num_rows, untied, sorted(
        [*refused, *gone], key=lambda x: (x[0] is None, x[0] or 0)))  # fmt: skip


_ERASED = "names a person who was erased: not stored"


def _erased(writer: Any, source: EventSource, row: Mapping[str, str | None]) -> bool:
    keys, secret = writer.suppressed()
    if not keys:
        return False
    person = source.person
    if person.record_id is not None and person.source is not None:
        value = row.get(person.record_id)
        return value is not None and suppression_key(secret, person.source, value) in keys
    column = person.email or person.phone
    value = row.get(column) if column is not None else None
    return value is not None and contact_key(secret, value) in keys


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
