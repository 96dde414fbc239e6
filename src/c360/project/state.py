"""What one run of a project knows and leaves behind for the next: its context, its summary,
and the state it records with the run (fields, blocking rules, sources' file states) so that
the next run can be incremental."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from c360.engines.base import BlockingRule
from c360.model import FieldKind
from c360.progress import Reporter
from c360.project.config import ProjectConfig
from c360.project.events import SourceCount
from c360.project.neighbourhood import NeighbourhoodSource
from c360.project.steps import file_states, fingerprint, sources_fingerprint
from c360.resolve.fellegi_sunter import MatchModel
from c360.sources.files import LoadedSource
from c360.store import RunRecord, Store

__all__ = [
    "STATE_VERSION",
    "RunContext",
    "RunSummary",
    "SourceWrite",
    "blocking_of",
    "customer_times",
    "decisions_print",
    "links_of",
    "new_run_id",
    "source_counts",
    "state_metrics",
]


# What a run records for the next one to be incremental; raised when that changes, so that
# a store written by an earlier version is brought up to date by one full run.
STATE_VERSION = 2


@dataclass(frozen=True)
class SourceWrite:
    """Records written to a people source through the API, for a run to take in as if the
    source had been read: the new and changed rows (raw columns), and the ids deleted."""

    rows: pa.Table
    deleted: list[str] = field(default_factory=list)


@dataclass
class RunContext:
    root: Path
    config: ProjectConfig
    store: Store
    last: RunRecord | None
    model: MatchModel | None  # the last run's, when it still fits the settings
    matching_print: str
    reporter: Reporter
    pause: Callable[[str], None] | None
    # Taken before anything is read: a file changed during the run is read again next time.
    files: dict[str, list[int] | None] = field(default_factory=dict)
    # A real-time write: only these sources changed, by these records; no file is read.
    writes: dict[str, SourceWrite] | None = None
    # With a write: where its neighbourhood is looked up (run over it alone, not the store).
    neighbourhood: NeighbourhoodSource | None = None
    # Told what a publish wrote (run id, deletes, inserts), once it is committed.
    on_publish: (
        Callable[[str, Sequence[tuple[str, pa.Table]], Mapping[str, pa.Table]], None] | None
    ) = None
    # With a write answered before it was published: the customer IDs its answer promised to
    # new customers, by record (`assign_customer_ids(reserved=…)`).
    reserved: Mapping[tuple[str, str], str] | None = None

    def __post_init__(self) -> None:
        if self.writes is not None and self.last is not None:
            # Files stay as the last run saw them: a file changed meanwhile is read next run.
            self.files = dict(self.last.metrics.get("files", {}))
        elif not self.files:
            self.files = file_states(self.root, self.config)


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    sources: list[SourceCount]
    records: int
    customers: int
    new_customers: int
    redirects: dict[str, int]
    ids_changed: int
    events: int | None  # events tied to a customer; not counted for a real-time write
    quarantined: int
    timings: dict[str, float] = field(default_factory=dict)
    model_reused: bool = False
    kind: str = "full"  # "full" | "incremental"
    unchanged: list[str] = field(default_factory=list)  # sources an incremental run skipped
    changed_records: int | None = None  # an incremental run's new, changed and deleted records


def new_run_id(started: datetime) -> str:
    return f"R-{started:%Y%m%dT%H%M%S}-{fingerprint(str(time.time_ns()))[:6]}"


def state_metrics(
    ctx: RunContext,
    fields: Mapping[str, FieldKind],
    blocking: list[BlockingRule],
    mappings: Mapping[str, Mapping[str, str]],
) -> dict[str, Any]:
    """Recorded with a run: what the next run must find unchanged to be incremental
    (`mappings`: per source, column → field)."""
    return {
        "state_version": STATE_VERSION,
        "fields": {f: k.value for f, k in fields.items()},
        "mappings": {s: dict(m) for s, m in mappings.items()},
        "blocking": [list(r.fields) for r in blocking],
        "sources_print": sources_fingerprint(ctx.config),
        "files": ctx.files,
        "decisions": decisions_print(ctx.store),
    }


def decisions_print(store: Store) -> str:
    """Changes when a steward decides anything."""
    return fingerprint([(d.left, d.right, d.decision, str(d.at)) for d in store.decisions()])


def blocking_of(run: RunRecord) -> list[BlockingRule] | None:
    rules = run.metrics.get("blocking")
    return None if rules is None else [BlockingRule(tuple(r)) for r in rules]


def links_of(links: pa.Table) -> dict[tuple[str, str], str]:
    """(source, record id) → customer ID, from a `links` table."""
    keys = zip(
        links.column("source").to_pylist(), links.column("record_id").to_pylist(), strict=True
    )
    return dict(zip(keys, links.column("customer_id").to_pylist(), strict=True))


def customer_times(customers: pa.Table) -> tuple[dict[str, Any], dict[str, Any]]:
    """When each customer ID was issued, and when its set of records last changed."""
    ids = customers.column("customer_id").to_pylist()
    return (
        dict(zip(ids, customers.column("created_at").to_pylist(), strict=True)),
        dict(zip(ids, customers.column("updated_at").to_pylist(), strict=True)),
    )


def source_counts(
    ctx: RunContext, loaded: list[LoadedSource], event_counts: list[SourceCount]
) -> list[SourceCount]:
    """Counts of the sources read; the store's counts for those an incremental run skipped."""
    read = {s.spec.name: s for s in loaded}
    by_event = {c.name: c for c in event_counts}
    stored = ctx.store.source_counts()
    out = []
    for source in ctx.config.people:
        s = read.get(source.name)
        if s is not None:
            out.append(
                SourceCount(
                    source.name,
                    "people",
                    s.total,
                    s.accepted,
                    len(s.quarantined),
                    suppressed=s.suppressed,
                )
            )
        else:
            n = stored.get(("people", source.name), 0)
            out.append(SourceCount(source.name, "people", n, n, 0, unchanged=True))
    for event_source in ctx.config.events:
        c = by_event.get(event_source.name)
        if c is not None:
            out.append(c)
        else:
            n = stored.get(("events", event_source.name), 0)
            out.append(SourceCount(event_source.name, "events", n, n, 0, unchanged=True))
    return out
