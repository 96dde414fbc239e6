"""`c360 run`: ingest every source, resolve, assign stable IDs, build golden records, publish.

The stages of the core (`pipeline.prepare_job`, `train_on_prepared`, clustering) do the
resolution over all people sources as one link job. This module adds what a project needs
around it: the model carried over from the last run (so that a rerun on the same data changes
no ID), steward decisions, ID assignment with redirects, golden records, events tied to their
customers, and one atomic publish to the store.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from c360.config import ConflictConfig, JobConfig
from c360.engines.base import Engine, GoldenField
from c360.model import FieldKind
from c360.pipeline import JobSpec, ModelTrained, PreparedJob, prepare_job, train_on_prepared
from c360.progress import Reporter, timed
from c360.project.config import ProjectConfig, load_project
from c360.project.events import CACHE_DIR, SourceCount, tie_events
from c360.project.identity import assign_customer_ids
from c360.project.lock import project_lock
from c360.project.sources import people_spec
from c360.resolve.clustering import cluster
from c360.resolve.configure import auto_conflicts
from c360.resolve.fellegi_sunter import MatchModel
from c360.store import Decision, DuckDBStore, RunRecord
from c360.store.duckdb_store import now

__all__ = ["RunSummary", "run_project"]

PROJECT_FILE = "c360.yaml"
# Kept for review and explain: pairs the model gave at least this probability.
_KEEP_PAIRS_FROM = 0.05
# A contact point held by more customers than this is a switchboard or a placeholder.
_MAX_SHARING = 5
_RAW_KINDS = {
    FieldKind.GIVEN_NAME, FieldKind.FAMILY_NAME, FieldKind.FULL_NAME, FieldKind.STREET,
    FieldKind.CITY, FieldKind.REGION, FieldKind.COUNTRY, FieldKind.COMPANY, FieldKind.OTHER,
}  # fmt: skip


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    sources: list[SourceCount]
    records: int
    customers: int
    new_customers: int
    redirects: dict[str, int]
    ids_changed: int
    events: int
    quarantined: int
    timings: dict[str, float] = field(default_factory=dict)
    model_reused: bool = False


def _fingerprint(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _job_config(config: ProjectConfig) -> JobConfig:
    m = config.matching
    return JobConfig(
        standardize=config.standardize, rules=m.rules, comparisons=m.comparisons,
        blocking=m.blocking, conflicts=m.conflicts, training=m.training, clustering=m.clustering,
    )  # fmt: skip


def _golden_fields(config: ProjectConfig, kinds: Mapping[str, FieldKind]) -> list[GoldenField]:
    out = []
    for f, kind in kinds.items():
        if kind is FieldKind.ADDRESS:
            continue  # derived for matching; its parts are golden fields of their own
        choice = config.golden.fields.get(f, config.golden.default)
        rule = choice if isinstance(choice, str) else choice.rule
        priority = (
            tuple(choice.sources)
            if not isinstance(choice, str) and choice.sources
            else tuple(config.golden.source_priority)
        )
        contact = kind in (FieldKind.EMAIL, FieldKind.PHONE)
        out.append(
            GoldenField(f, rule, kind in _RAW_KINDS, priority, _MAX_SHARING if contact else None)
        )
    return out


def run_project(
    root: Path,
    reporter: Reporter,
    *,
    retrain: bool = False,
    pause: Callable[[str], None] | None = None,
) -> RunSummary:
    """One run of the project in `root`; publishes atomically or not at all."""
    config = load_project(root / PROJECT_FILE)
    started = now()
    timings: dict[str, float] = {}
    with project_lock(root), DuckDBStore(root / config.store) as store:
        last = store.last_run()
        matching_print = _fingerprint(
            {
                "standardize": config.standardize.model_dump(),
                "matching": config.matching.model_dump(),
            }
        )
        model = None
        if last is not None and not retrain and last.fingerprint == matching_print and last.model:
            model = MatchModel.from_json(last.model)

        with timed(timings, "read"):
            specs, sql_quarantine = [], []
            for source in config.people:
                spec, quarantined = people_spec(root, source)
                specs.append(spec)
                sql_quarantine += [(source.name, row, reason) for row, reason in quarantined]
        job_spec = JobSpec(
            sources=specs,
            mode="link",
            config=_job_config(config),
            keep_raw=True,
            model=model,
            cache_dir=root / CACHE_DIR,
        )
        job = prepare_job(job_spec, reporter)
        engine = job.engine
        if pause:
            pause("prepared")
        model, _ = train_on_prepared(job, reporter)
        assert job.config.comparisons is not None
        conflicts = (
            job.config.conflicts
            if job.config.conflicts is not None
            else auto_conflicts(model, job.fields)
        )
        reporter.event(ModelTrained(model, conflicts, job_spec.model is not None))
        _score(job, model, conflicts)
        with timed(timings, "decide"):
            _apply_decisions(engine, job, store.decisions())
        with timed(timings, "cluster"), reporter.step("Clustering"):
            cluster_of, _stats = cluster(
                job.n_records,
                engine.linked_pairs(job.config.clustering.threshold),
                engine.pairs_within,
                job.config.clustering.threshold,
                job.config.clustering.min_mean_probability,
                prior_weight=model.prior_weight,
            )
        if pause:
            pause("clustered")

        with timed(timings, "identify"), reporter.step("Assigning customer IDs"):
            records = engine.records(None, [])
            names = [s.spec.name for s in job.sources]
            keys = [
                (names[src], rid)
                for src, rid in zip(
                    records.column("_src").to_pylist(),
                    records.column("_id").to_pylist(),
                    strict=True,
                )
            ]
            # Columns, not row dicts: a million links are read in a second, not ten.
            links = store.table("links")
            link_keys = zip(
                links.column("source").to_pylist(),
                links.column("record_id").to_pylist(),
                strict=True,
            )
            previous = dict(zip(link_keys, links.column("customer_id").to_pylist(), strict=True))
            known = store.table("customers")
            known_ids = known.column("customer_id").to_pylist()
            issued = dict(zip(known_ids, known.column("created_at").to_pylist(), strict=True))
            last_changed = dict(zip(known_ids, known.column("updated_at").to_pylist(), strict=True))
            labels = cluster_of.tolist()
            assignment = assign_customer_ids(dict(zip(keys, labels, strict=True)), previous, issued)
            customer_ids = [assignment.customer_of[label] for label in labels]
            engine.set_customers(records.column("_rid").to_numpy(), customer_ids)

        with timed(timings, "golden"), reporter.step("Building golden records"):
            golden = engine.golden_records(_golden_fields(config, job.fields), names)
            kinds = {
                f: ("email" if k is FieldKind.EMAIL else "phone")
                for f, k in job.fields.items()
                if k in (FieldKind.EMAIL, FieldKind.PHONE)
            }
            points = engine.contact_points(kinds, golden)

        with timed(timings, "events"), reporter.step("Tying events to customers"):
            events, event_quarantine, event_counts = tie_events(root, config, engine, names)

        run_id = f"R-{started:%Y%m%dT%H%M%S}-{_fingerprint(str(time.time_ns()))[:6]}"
        customers = _customers_table(customer_ids, keys, previous, issued, last_changed, started)
        quarantine = _quarantine_table(run_id, job, sql_quarantine, event_quarantine)
        redirects = pa.table(
            {
                "old_id": pa.array([r.old_id for r in assignment.redirects], pa.string()),
                "new_id": pa.array([r.new_id for r in assignment.redirects], pa.string()),
                "reason": pa.array([r.reason for r in assignment.redirects], pa.string()),
                "redirected_at": pa.array(
                    [started] * len(assignment.redirects), pa.timestamp("us")
                ),
                "run_id": pa.array([run_id] * len(assignment.redirects), pa.string()),
            }
        )
        rule_names = [r.name for r in job.config.rules]
        # Standardised values, nickname roots and raw values: what explain and review need.
        std_fields = [
            f for f in engine.record_columns() if not f.startswith("_") and not f.endswith("__tf")
        ]
        redirect_counts = {
            reason: sum(1 for x in assignment.redirects if x.reason == reason)
            for reason in ("merge", "split", "deleted")
        }
        ids_changed = sum(
            1 for k, c in zip(keys, customer_ids, strict=True) if previous.get(k, c) != c
        )
        metrics = {
            "records": job.n_records,
            "customers": len(set(customer_ids)),
            "new_customers": len(assignment.new_ids),
            "ids_changed": ids_changed,
            "redirects": {
                r: sum(1 for x in assignment.redirects if x.reason == r)
                for r in ("merge", "split", "deleted")
            },
            "events": events.num_rows,
            "quarantined": quarantine.num_rows,
            "conflicts": [c.fields for c in conflicts],
            "timings": timings | job.timings,
        }
        with timed(timings, "publish"), reporter.step("Publishing"):
            store.publish(
                RunRecord(run_id, started, now(), "full", matching_print, model.to_json(), metrics),
                {
                    "records": engine.store_records(std_fields),
                    "links": engine.store_links(rule_names),
                    "customers": customers,
                    "golden": golden,
                    "contact_points": points,
                    "pairs": engine.store_pairs(_KEEP_PAIRS_FROM, rule_names),
                    "events": events,
                },
                redirects,
                quarantine,
                pause=pause,
            )
        engine.close()

    counts = [
        SourceCount(s.spec.name, "people", s.total, s.accepted, len(s.quarantined))
        for s in job.sources
    ] + event_counts
    return RunSummary(
        run_id=run_id,
        sources=counts,
        records=job.n_records,
        customers=len(set(customer_ids)),
        new_customers=len(assignment.new_ids),
        redirects=redirect_counts,
        ids_changed=ids_changed,
        events=events.num_rows,
        quarantined=quarantine.num_rows,
        timings=timings | job.timings,
        model_reused=model is not None and job_spec.model is not None,
    )


def _score(job: PreparedJob, model: MatchModel, conflicts: list[ConflictConfig]) -> None:
    index = {c.field: i for i, c in enumerate(model.comparisons)}
    job.engine.score(
        model.prior_weight,
        model.field_weights(),
        [
            [(index[f], len(model.comparisons[index[f]].levels)) for f in c.fields]
            for c in conflicts
        ],
    )


def _apply_decisions(engine: Engine, job: PreparedJob, decisions: list[Decision]) -> None:
    names = [s.spec.name for s in job.sources]
    keys = [(names.index(d.left[0]), d.left[1]) for d in decisions if d.left[0] in names] + [
        (names.index(d.right[0]), d.right[1]) for d in decisions if d.right[0] in names
    ]
    found = engine.find_records(keys)
    links: list[tuple[int, int]] = []
    unlinks: list[tuple[int, int]] = []
    for d in decisions:
        if d.left[0] not in names or d.right[0] not in names:
            continue  # a source removed from the project: the decision waits for it
        a = found.get((names.index(d.left[0]), d.left[1]))
        b = found.get((names.index(d.right[0]), d.right[1]))
        if a is not None and b is not None:
            (links if d.decision == "link" else unlinks).append((a, b))
    engine.apply_decisions(links, unlinks)


def _customers_table(
    customer_ids: list[str],
    keys: list[tuple[str, str]],
    previous: Mapping[tuple[str, str], str],
    issued: Mapping[str, Any],
    last_changed: Mapping[str, Any],
    at: Any,
) -> pa.Table:
    """One row per customer; `updated_at` moves only when its set of records changed."""
    members: dict[str, set[tuple[str, str]]] = {}
    for key, cid in zip(keys, customer_ids, strict=True):
        members.setdefault(cid, set()).add(key)
    before: dict[str, set[tuple[str, str]]] = {}
    for key, cid in previous.items():
        before.setdefault(cid, set()).add(key)
    ids = sorted(members)
    return pa.table(
        {
            "customer_id": pa.array(ids, pa.string()),
            "created_at": pa.array([issued.get(c, at) for c in ids], pa.timestamp("us")),
            "updated_at": pa.array(
                [at if members[c] != before.get(c) else last_changed.get(c, at) for c in ids],
                pa.timestamp("us"),
            ),
            "records": pa.array([len(members[c]) for c in ids], pa.int32()),
        }
    )


def _quarantine_table(
    run_id: str,
    job: PreparedJob,
    sql_quarantine: list[tuple[str, int, str]],
    events: list[pa.Table],
) -> pa.Table:
    rows: dict[str, list[Any]] = {
        k: [] for k in ("run_id", "source", "line", "row_number", "reason", "raw")
    }

    def add(source: str, line: int | None, row: int | None, reason: str, raw: str | None) -> None:
        for k, v in zip(rows, (run_id, source, line, row, reason, raw), strict=True):
            rows[k].append(v)

    for s in job.sources:
        for q in s.quarantined:
            add(q.source, q.line, q.row, q.reason, q.raw)
    for source, row, reason in sql_quarantine:
        add(source, None, row, reason, None)
    for table in events:
        for r in table.to_pylist():
            add(r["source"], r["line"], r["row_number"], r["reason"], r["raw"])
    schema = pa.schema(
        [("run_id", pa.string()), ("source", pa.string()), ("line", pa.int64()),
         ("row_number", pa.int64()), ("reason", pa.string()), ("raw", pa.string())]
    )  # fmt: skip
    return pa.table(rows, schema=schema)
