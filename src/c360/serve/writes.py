"""Writes through the API: source records upserted or deleted, resolved with the batch model.

A write is an incremental run whose only change is the records written (`SourceWrite`): the
same standardisation (the source's recorded column plans), the same blocking, comparisons,
frozen term frequencies, clustering, ID assignment, golden records and atomic publish as
`c360 run`. So a record written through the API ends in the customer a batch run over the same
data gives — by construction, and tested. Writes are taken one at a time (`write_lock`), so two
writes about one person can never make two customers or lose an update. Each is a published
run of kind `realtime`, with its change-feed entries; the views of the customers it changed
are rendered again.

The cost of a write is that of an incremental run: it brings the last state back from the store,
so it grows with the project (well under a second on the demo company; seconds on a million
records).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from c360.errors import C360Error, StoreError
from c360.progress import SilentReporter
from c360.project.config import PeopleSource
from c360.project.incremental import FullRunNeeded, run_incremental
from c360.project.run import matching_fingerprint
from c360.project.state import RunContext, SourceWrite
from c360.project.steps import plans_from_json
from c360.resolve.fellegi_sunter import MatchModel

__all__ = ["NeedsRun", "UnknownSource", "WriteRefused", "WriteResult", "Writer"]


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
            ids = self._ids(source)
            new = [i for i in records if i not in set(ids)]
            rows = self._rows(source, records)
            return self._write(source, SourceWrite(rows, [*ids, *new]), list(records))

    def delete(self, source_name: str, record_id: str) -> WriteResult:
        source = self._source(source_name)
        with self.service.write_lock:
            ids = self._ids(source)
            if record_id not in ids:
                raise StoreError(f"no record {source_name}:{record_id}",
                                 hint="GET /customers?… lists a customer's records")  # fmt: skip
            rows = self._rows(source, {})
            return self._write(source, SourceWrite(rows, [i for i in ids if i != record_id]),
                               [record_id])  # fmt: skip

    def _ids(self, source: PeopleSource) -> list[str]:
        """The source's record ids in the order the last run numbered them."""
        rows = self.service.store.query(
            "SELECT _id FROM match_records WHERE source = ? ORDER BY _row", [source.name]
        )
        return [str(r["_id"]) for r in rows]

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

    def _write(self, source: PeopleSource, write: SourceWrite, keys: list[str]) -> WriteResult:
        service = self.service
        store, config = service.store, service.config
        last = store.last_run()
        if last is None or not last.model:
            raise NeedsRun("no published run yet", hint="run `c360 run` once before writing")
        matching_print = matching_fingerprint(config)
        if last.fingerprint != matching_print:
            raise NeedsRun("the matching settings changed since the last run",
                           hint="stop the service, `c360 run`, and serve again")  # fmt: skip
        before = self._customers_of(source.name, keys)
        reasons = _Reasons()
        ctx = RunContext(service.root, config, store, last, MatchModel.from_json(last.model),
                         matching_print, reasons, None,
                         writes={source.name: write})  # fmt: skip
        summary = run_incremental(ctx)
        if summary is None:
            raise NeedsRun(f"a real-time write cannot be taken now: {reasons.why}",
                           hint="stop the service, `c360 run`, and serve again")  # fmt: skip
        quarantined = store.query(
            "SELECT reason FROM quarantine WHERE run_id = ? AND source = ?",
            [summary.run_id, source.name],
        )
        if quarantined:
            raise WriteRefused(f"record not taken: {quarantined[0]['reason']}")
        changes = store.query(
            "SELECT seq, changed_at, kind, customer_id, other_id, run_id FROM changes"
            " WHERE run_id = ? ORDER BY seq",
            [summary.run_id],
        )
        after = self._customers_of(source.name, keys)
        touched = {*before.values(), *after.values()}
        touched |= {c[k] for c in changes for k in ("customer_id", "other_id") if c[k]}
        service.views.refresh(store, {t for t in touched if t})
        service.notify_change()
        return WriteResult(
            summary.run_id,
            [(source.name, k, after.get(k)) for k in keys],
            changes,
            unchanged=not changes and before == after,
        )

    def _customers_of(self, source: str, keys: list[str]) -> dict[str, str]:
        if not keys:
            return {}
        marks = ", ".join("?" for _ in keys)
        rows = self.service.store.query(
            f"SELECT record_id, customer_id FROM links WHERE source = ? AND record_id IN ({marks})",
            [source, *keys],
        )
        return {str(r["record_id"]): str(r["customer_id"]) for r in rows}
