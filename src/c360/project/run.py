"""`c360 run`: ingest every source, resolve, assign stable IDs, build golden records, publish.

The stages of the core (`pipeline.prepare_job`, `train_on_prepared`, clustering) do the
resolution over all people sources as one link job. This module adds what a project needs
around it: the model carried over from the last run (so that a rerun on the same data changes
no ID), steward decisions, ID assignment with redirects, golden records, events tied to their
customers, and one atomic publish to the store.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow.compute as pc

from c360.governance.suppression import suppression
from c360.model import FieldKind
from c360.pipeline import JobSpec, ModelTrained, prepare_job, score_pairs, train_on_prepared
from c360.progress import Reporter, timed
from c360.project.config import ProjectConfig, load_project
from c360.project.erasure import with_suppression
from c360.project.events import CACHE_DIR, SourceCount, tie_events
from c360.project.identity import assign_customer_ids
from c360.project.lock import project_lock
from c360.project.sources import people_spec
from c360.project.state import (
    RunContext,
    RunSummary,
    blocking_of,
    customer_times,
    links_of,
    new_run_id,
    state_metrics,
)
from c360.project.steps import (
    contact_kinds,
    customers_table,
    decided_pairs,
    fingerprint,
    golden_fields,
    job_config,
    plans_to_json,
    quarantine_table,
    redirects_table,
)
from c360.resolve.clustering import cluster
from c360.resolve.configure import auto_conflicts
from c360.resolve.fellegi_sunter import MatchModel
from c360.store import DuckDBStore, RunRecord
from c360.store.duckdb_store import now

__all__ = ["RunSummary", "matching_fingerprint", "run_project"]

PROJECT_FILE = "c360.yaml"


def _run_incremental(ctx: RunContext) -> RunSummary | None:
    from c360.project.incremental import run_incremental

    return run_incremental(ctx)


def matching_fingerprint(config: ProjectConfig) -> str:
    """Changes when a setting that the model depends on changes."""
    return fingerprint(
        {"standardize": config.standardize.model_dump(), "matching": config.matching.model_dump()}
    )


def run_project(
    root: Path,
    reporter: Reporter,
    *,
    retrain: bool = False,
    full: bool = False,
    pause: Callable[[str], None] | None = None,
) -> RunSummary:
    """One run of the project in `root`; publishes atomically or not at all.

    With the model of the last run still valid (same matching settings, same sources), the
    run is incremental: only new, changed and deleted records are compared again, and only
    the customers they touch are rebuilt. `full` (or `retrain`) recomputes everything.
    """
    config = load_project(root / PROJECT_FILE)
    with project_lock(root), DuckDBStore(root / config.store) as store:
        last = store.last_run()
        matching_print = matching_fingerprint(config)
        model = None
        if last is not None and not retrain and last.fingerprint == matching_print and last.model:
            model = MatchModel.from_json(last.model)
        context = RunContext(root, config, store, last, model, matching_print, reporter, pause)
        if model is not None and last is not None and not full:
            summary = _run_incremental(context)
            if summary is not None:
                return summary
        return _run_full(context)


def _run_full(ctx: RunContext) -> RunSummary:
    root, config, store, last, model = ctx.root, ctx.config, ctx.store, ctx.last, ctx.model
    reporter, pause = ctx.reporter, ctx.pause
    started = now()
    timings: dict[str, float] = {}
    with timed(timings, "read"):
        specs, sql_quarantine, watermarks = [], [], {}
        for source in config.people:
            read = people_spec(root, source)
            specs.append(read.spec)
            sql_quarantine += [(source.name, row, reason) for row, reason in read.quarantined]
            watermarks[source.name] = read.watermark
        specs = with_suppression(root, store, specs)
    reused = model is not None and last is not None and "blocking" in last.metrics
    job_spec = JobSpec(
        sources=specs,
        mode="link",
        config=job_config(config),
        keep_raw=True,
        model=model,
        cache_dir=root / CACHE_DIR,
        blocking_rules=blocking_of(last) if reused and last is not None else None,
        term_frequencies=store.table("term_frequencies") if reused else None,
    )
    job = prepare_job(job_spec, reporter)
    engine = job.engine
    if pause:
        pause("prepared")
    model, _ = train_on_prepared(job, reporter)
    conflicts = (
        job.config.conflicts
        if job.config.conflicts is not None
        else auto_conflicts(model, job.fields)
    )
    reporter.event(ModelTrained(model, conflicts, job_spec.model is not None))
    score_pairs(engine, model, conflicts)
    names = [s.spec.name for s in job.sources]
    with timed(timings, "decide"):
        engine.apply_decisions(*decided_pairs(engine, names, store.decisions()))
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
        keys = [
            (names[src], rid)
            for src, rid in zip(
                records.column("_src").to_pylist(), records.column("_id").to_pylist(), strict=True
            )
        ]
        # Columns, not row dicts: a million links are read in a second, not ten.
        previous = links_of(store.table("links"))
        issued, last_changed = customer_times(store.table("customers"))
        labels = cluster_of.tolist()
        assignment = assign_customer_ids(dict(zip(keys, labels, strict=True)), previous, issued)
        customer_ids = [assignment.customer_of[label] for label in labels]
        engine.set_customers(records.column("_rid").to_numpy(), customer_ids)

    with timed(timings, "golden"), reporter.step("Building golden records"):
        golden = engine.golden_records(golden_fields(config, job.fields), names)
        points = engine.contact_points(contact_kinds(job.fields), golden)

    with timed(timings, "events"), reporter.step("Tying events to customers"):
        events, event_quarantine, event_counts = tie_events(
            root, config, engine, names, suppressed=suppression(root, store)
        )

    run_id = new_run_id(started)
    customers = customers_table(customer_ids, keys, previous, issued, last_changed, started)
    quarantine = quarantine_table(run_id, job.sources, sql_quarantine, event_quarantine)
    redirects = redirects_table(assignment.redirects, started, run_id)
    rule_names = [r.name for r in job.config.rules]
    # Standardised values, nickname roots and raw values: what explain and review need.
    std_fields = [
        f for f in engine.record_columns() if not f.startswith("_") and not f.endswith("__tf")
    ]
    redirect_counts = {
        reason: sum(1 for x in assignment.redirects if x.reason == reason)
        for reason in ("merge", "split", "deleted")
    }
    ids_changed = sum(1 for k, c in zip(keys, customer_ids, strict=True) if previous.get(k, c) != c)
    tied = events.filter(pc.is_valid(events.column("customer_id"))).num_rows
    metrics = {
        "records": job.n_records,
        "customers": len(set(customer_ids)),
        "new_customers": len(assignment.new_ids),
        "ids_changed": ids_changed,
        "redirects": redirect_counts,
        "events": tied,
        "quarantined": quarantine.num_rows,
        "conflicts": [c.fields for c in conflicts],
        "timings": timings | job.timings,
        **state_metrics(
            ctx,
            job.fields,
            job.blocking,
            {
                name: {m.column: m.field for m in maps if m.kind is not FieldKind.IGNORE}
                for name, maps in job.mappings.items()
            },
        ),
        "watermarks": watermarks,
        "plans": plans_to_json(job.plans),
    }
    tf_fields = [c.field for c in model.comparisons if c.term_frequency]
    with timed(timings, "publish"), reporter.step("Publishing"):
        store.publish(
            RunRecord(run_id, started, now(), "full", ctx.matching_print, model.to_json(), metrics),
            {
                "records": engine.store_records(std_fields),
                "links": engine.store_links(rule_names),
                "customers": customers,
                "golden": golden,
                "contact_points": points,
                "pairs": engine.store_pairs(rule_names),
                "events": events,
                "term_frequencies": engine.term_frequencies(tf_fields),
                "match_records": engine.stored_records(),
            },
            redirects,
            quarantine,
            pause=pause,
        )
    engine.close()

    counts = [
        SourceCount(
            s.spec.name, "people", s.total, s.accepted, len(s.quarantined), suppressed=s.suppressed
        )
        for s in job.sources
    ] + event_counts
    return RunSummary(
        run_id=run_id,
        kind="full",
        sources=counts,
        records=job.n_records,
        customers=len(set(customer_ids)),
        new_customers=len(assignment.new_ids),
        redirects=redirect_counts,
        ids_changed=ids_changed,
        events=tied,
        quarantined=quarantine.num_rows,
        timings=timings | job.timings,
        model_reused=job_spec.model is not None,
    )
