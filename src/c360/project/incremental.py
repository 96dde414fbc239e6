"""Incremental `c360 run`: only new, changed and deleted records are worked on again.

A run is incremental when the last run's model still fits (same matching settings, same
sources and mappings, nothing asked for `--full`). It then

1. reads again only the sources whose file changed (size or modification time); an SQL source
   with an `updated_at` column is read by watermark (the rows updated since the last run, and
   every id, to see which are gone), one without is read whole. Records are new, changed or
   gone by content hash, and only new and changed rows are standardised;
2. brings back the last run's records and scored pairs from the store, and compares only the
   pairs that touch a changed record (plus records whose blocking key crossed the hot-key cap,
   and the records of steward decisions), with the last run's model, blocking rules and term
   frequencies;
3. clusters again only the customers those records can change: every record of a customer
   that held a changed or deleted record, and everything linked to them. Every other
   component of links is exactly the one the last run clustered, so it keeps its customer;
4. rebuilds golden records and contact points of the customers that changed (and of those
   holding a value that crossed the "shared by too many customers" line), ties again the
   events whose person key moved, and reads again only the event sources that changed;
5. publishes the changes in one transaction.

A real-time write through `c360 serve` is such a run whose only change is the records written
(`RunContext.writes`), over the write's neighbourhood rather than the whole store (see
`write_scope` and `neighbourhood`).

The result is the customers a full run with the same model would give (tested). `c360 run
--full` recomputes everything; `--retrain` trains a new model and implies it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from c360.engines.base import Engine
from c360.model import FieldKind
from c360.pipeline import JobSpec, prepare_job, score_pairs
from c360.progress import timed
from c360.project.erasure import with_suppression
from c360.project.events import CACHE_DIR, retie_moved_events
from c360.project.identity import assign_customer_ids
from c360.project.neighbourhood import Neighbourhood, Widen
from c360.project.sources import people_spec, source_ids
from c360.project.state import (
    STATE_VERSION,
    RunContext,
    RunSummary,
    blocking_of,
    customer_times,
    decisions_print,
    links_of,
    new_run_id,
    source_counts,
    state_metrics,
)
from c360.project.steps import (
    MAX_SHARING,
    cluster_affected,
    concat_keys,
    contact_kinds,
    customers_table,
    decided_pairs,
    golden_fields,
    ids_table,
    job_config,
    key_table,
    plans_from_json,
    plans_to_json,
    quarantine_table,
    record_keys,
    redirects_table,
)
from c360.project.write_scope import (
    broken_promises,
    engine_for,
    shared_values,
    write_state,
    written_ids,
)
from c360.resolve.configure import auto_conflicts, complete_config
from c360.sources.files import LoadedSource, SourceSpec
from c360.store import RunRecord
from c360.store.duckdb_store import now

__all__ = ["FullRunNeeded", "run_incremental"]


@dataclass(frozen=True)
class FullRunNeeded:
    """Shown when a run cannot be incremental, and why."""

    reason: str


def _why_full(ctx: RunContext) -> str | None:
    from c360.project.steps import sources_fingerprint

    last = ctx.last
    assert last is not None
    metrics = last.metrics
    if metrics.get("state_version") != STATE_VERSION:
        return "the last run was made by another version of c360"
    if metrics.get("sources_print") != sources_fingerprint(ctx.config):
        return "sources or golden-record rules changed since the last run"
    if not ctx.store.has_match_records():
        return "the store has no match records yet"
    return None


def _changed(ctx: RunContext, name: str) -> bool:
    assert ctx.last is not None
    state = ctx.files.get(name)
    return state is None or state != ctx.last.metrics["files"].get(name)


def run_incremental(ctx: RunContext) -> RunSummary | None:
    """Run incrementally and publish; None when only a full run will do (said why)."""
    why = _why_full(ctx)
    if why is not None:
        ctx.reporter.event(FullRunNeeded(why))
        return None
    root, config, store, reporter = ctx.root, ctx.config, ctx.store, ctx.reporter
    last, model = ctx.last, ctx.model
    assert last is not None and model is not None
    started = now()
    timings: dict[str, float] = {}
    names = [s.name for s in config.people]
    writes = ctx.writes
    kind = "incremental" if writes is None else "realtime"
    if writes is None:
        reread = [s for s in config.people if _changed(ctx, s.name)]
        events_reread = {s.name for s in config.events if _changed(ctx, s.name)}
    else:
        reread = [s for s in config.people if s.name in writes]
        events_reread = set()
    fields = {f: FieldKind(k) for f, k in last.metrics["fields"].items()}
    rules = blocking_of(last) or []
    if not reread and not events_reread and decisions_print(store) == last.metrics.get("decisions"):
        return _nothing_changed(ctx, started)

    # 1. The sources that changed, read and standardised.
    sql_quarantine: list[tuple[str, int, str]] = []
    loaded: list[LoadedSource] = []
    engine: Engine
    watermarks = dict(last.metrics.get("watermarks", {}))
    stored_plans = plans_from_json(last.metrics.get("plans", {}))
    ids_now: dict[str, list[str | None]] = {}
    with timed(timings, "read"):
        specs = []
        for source in reread:
            if writes is not None:
                write = writes[source.name]
                specs.append(SourceSpec(
                    name=source.name, rows=write.rows, where=f"{source.name} (API)",
                    id_column=source.id, fields=source.fields, updated_at=source.updated_at,
                    partial=True,
                ))  # fmt: skip
                continue
            since = watermarks.get(source.name) if source.sql and source.updated_at else None
            read = people_spec(root, source, since)
            specs.append(read.spec)
            sql_quarantine += [(source.name, row, reason) for row, reason in read.quarantined]
            watermarks[source.name] = read.watermark
            if since is not None:
                # Only rows updated since the last run were read: the ids tell what is gone.
                ids_now[source.name] = source_ids(source)
    specs = with_suppression(root, store, specs)
    if specs:
        known = store.known_records(
            [s.name for s in reread],
            None if writes is None else {s.name: written_ids(writes[s.name], s.id) for s in reread},
        )
        # A source read in part is mapped and planned as the last run did it on every row.
        partial = {name: stored_plans[name] for name in [*ids_now, *(writes or {})]
                   if name in stored_plans}  # fmt: skip
        job = prepare_job(
            JobSpec(sources=specs, mode="link", config=job_config(config), keep_raw=True,
                    model=model, known=known, plans=partial,
                    # a write's few values cost less to standardise than to look up in the cache
                    cache_dir=root / CACHE_DIR if writes is None else None),
            reporter, engine_for(writes),
        )  # fmt: skip
        timings |= job.timings
        engine, loaded = job.engine, job.sources
        for s in loaded:
            if s.spec.name in ids_now:
                engine.set_seen(s.table, ids_now[s.spec.name])
        for name, mappings in job.mappings.items():
            now_mapped = {m.column: m.field for m in mappings if m.kind is not FieldKind.IGNORE}
            if now_mapped != last.metrics["mappings"].get(name):
                engine.close()
                reporter.event(FullRunNeeded(f"the columns of {name!r} map differently now"))
                return None
        if not set(job.fields) <= set(fields):
            engine.close()
            reporter.event(FullRunNeeded("the sources hold fields they did not before"))
            return None
    else:
        engine = engine_for(writes)
    if ctx.pause:
        ctx.pause("prepared")

    jc = complete_config(job_config(config), dict(fields))
    assert jc.comparisons is not None
    conflicts = jc.conflicts if jc.conflicts is not None else auto_conflicts(model, fields)
    rule_names = [r.name for r in jc.rules]
    threshold = jc.clustering.threshold

    # 2. Every current record (a write's neighbourhood); only pairs touching a changed one
    # compared again.
    hood: Neighbourhood | None = None
    try:
        with reporter.step("Comparing what changed"), timed(timings, "load"):
            tf_fields = [c.field for c in jc.comparisons if c.term_frequency]
            if writes is None:
                previous = store.match_records()
                frozen = store.table("term_frequencies") if loaded else None
            else:
                previous, frozen, hood = write_state(ctx, engine, loaded, rules, tf_fields,
                                                     jc.blocking.max_block_size, threshold)  # fmt: skip
            assert previous is not None
            # Stored records keep their term frequencies; the fresh ones look theirs up.
            if loaded:
                engine.add_term_frequencies(tf_fields, frozen)
            deleted = engine.rebase(previous, names, [(s.spec.name, s.table) for s in loaded])
            changed = engine.dirty_count()
            decided = decided_pairs(engine, names, store.decisions())
            if hood is None:  # in a neighbourhood, decided pairs stand as stored
                engine.mark_dirty(sorted({x for pair in (*decided[0], *decided[1]) for x in pair}))
        with timed(timings, "block"):
            if hood is None:
                flips = engine.mark_hot_key_flips(rules, jc.blocking.max_block_size)
            else:  # `gather` found the keys that cross the cap, and brought what blocking needs
                flipped = [(names.index(s), i) for s, i in hood.flipped if s in names]
                found = engine.find_records(flipped)
                engine.mark_dirty(sorted(found.values()))
                flips = len(found)
                engine.key_records(rules)
            candidates = engine.block_dirty(rules, jc.blocking.max_block_size, False,
                                            hood.hot if hood else None)  # fmt: skip
        with timed(timings, "compare"):
            engine.compare(jc.comparisons, [r.all for r in jc.rules], tf_fields)
            score_pairs(engine, model, conflicts)
        with timed(timings, "restore"):
            engine.restore_pairs(hood.pairs if hood else store.table("pairs"), rule_names)
            engine.apply_decisions(*decided)
    except Widen:
        engine.close()
        raise

    # 3. The customers those records can change, clustered again.
    with timed(timings, "cluster"), reporter.step("Clustering what changed"):
        links = hood.links if hood else store.table("links")
        affected = engine.affected(
            links.select(["source", "record_id", "customer_id"]), deleted, threshold
        )
        del links
        labels = cluster_affected(engine, affected, threshold, jc.clustering.min_mean_probability,
                                   model.prior_weight)  # fmt: skip
    if ctx.pause:
        ctx.pause("clustered")

    with timed(timings, "identify"), reporter.step("Assigning customer IDs"):
        keys = record_keys(engine.records(affected.tolist(), []), names)
        gone = list(zip(deleted.column("source").to_pylist(),
                        deleted.column("record_id").to_pylist(), strict=True))  # fmt: skip
        previous_links = links_of(store.matching("links", key_table(keys + gone)))
        old_ids = set(previous_links.values())
        issued, last_changed = customer_times(store.matching("customers", ids_table(old_ids)))
        assignment = assign_customer_ids(
            dict(zip(keys, labels.tolist(), strict=True)), previous_links, issued,
            reserved=ctx.reserved,
        )  # fmt: skip
        customer_ids = [assignment.customer_of[label] for label in labels.tolist()]
        engine.set_customers_delta(affected, customer_ids)
        redirects = assignment.redirects + broken_promises(
            ctx.reserved or {}, dict(zip(keys, customer_ids, strict=True))
        )

    with timed(timings, "golden"), reporter.step("Building golden records"):
        gfields = golden_fields(config, fields)
        shared_now = None
        if hood is None:
            shared = engine.sharing_flips([g.field for g in gfields if g.max_sharing], MAX_SHARING)
        else:  # judged over the whole store; no value crosses the limit, or `Widen`
            assert ctx.neighbourhood is not None
            try:
                shared_now = shared_values(ctx.neighbourhood, engine, hood, previous, gfields,
                                           MAX_SHARING)  # fmt: skip
            except Widen:
                engine.close()
                raise
            shared = pa.array([], pa.string())
        rebuilt = set(customer_ids) | set(shared.to_pylist())
        only = pa.array(sorted(rebuilt), pa.string())
        golden = engine.golden_records(gfields, names, only, shared_now)
        points = engine.contact_points(contact_kinds(fields), golden, only)

    stale = old_ids | rebuilt  # customers whose golden record and contact points are replaced
    with timed(timings, "events"), reporter.step("Tying events to customers"):
        events, retied, event_quarantine, event_counts = retie_moved_events(
            ctx.root, ctx.config, store, engine, names, keys + gone, stale, points, events_reread
        )

    run_id = new_run_id(started)
    quarantine = quarantine_table(run_id, loaded, sql_quarantine, event_quarantine)
    ids_changed = sum(
        1 for k, c in zip(keys, customer_ids, strict=True) if previous_links.get(k, c) != c
    )
    with timed(timings, "publish"), reporter.step("Publishing"):
        std_fields = [
            f for f in engine.record_columns() if not f.startswith("_") and not f.endswith("__tf")
        ]
        changed_keys = engine.flagged_keys("_changed")
        dirty_keys = concat_keys(engine.flagged_keys("_dirty"), deleted)
        deletes = [
            ("records", concat_keys(changed_keys, deleted)),
            ("match_records", concat_keys(engine.flagged_keys("_rewrite"), deleted)
             .rename_columns(["source", "_id"])),
            ("links", key_table(keys + gone)),
            ("customers", ids_table(old_ids | set(customer_ids))),
            ("golden", ids_table(stale)),
            ("contact_points", ids_table(stale)),
            ("pairs", dirty_keys.rename_columns(["source_l", "record_id_l"])),
            ("pairs", dirty_keys.rename_columns(["source_r", "record_id_r"])),
            ("events", pa.table({"source": pa.array(sorted(events_reread), pa.string())})),
            ("events", retied.select(["source", "event_id"])),
        ]  # fmt: skip
        inserts = {
            "records": engine.store_records(std_fields, changed_only=True),
            "match_records": engine.stored_records(rewrite_only=True),
            "links": engine.store_links(rule_names, affected_only=True),
            "customers": customers_table(
                customer_ids, keys, previous_links, issued, last_changed, started
            ),
            "golden": golden,
            "contact_points": points,
            "pairs": engine.store_pairs(rule_names, dirty_only=True),
            "events": pa.concat_tables(
                [events, retied.select(events.schema.names).cast(events.schema)]
            ),
        }
        redirect_counts = {
            reason: sum(1 for x in redirects if x.reason == reason)
            for reason in ("merge", "split", "deleted")
        }
        n_records = engine.n_records
        if hood is not None:  # the neighbourhood's growth, over the whole store's count
            n_records += hood.store_records - previous.num_rows
        metrics: dict[str, Any] = {
            "records": n_records,
            "changed_records": changed,
            "deleted_records": deleted.num_rows,
            "hot_key_flips": flips,
            "candidates": candidates,
            "affected_records": len(affected),
            "new_customers": len(assignment.new_ids),
            "ids_changed": ids_changed,
            "redirects": redirect_counts,
            "quarantined": quarantine.num_rows,
            "timings": timings,
            **state_metrics(ctx, fields, rules, dict(last.metrics["mappings"])
                            | _mappings_of(loaded, job.mappings if specs else {})),
            "watermarks": watermarks,
            "plans": plans_to_json(stored_plans | (job.plans if specs else {})),
        }  # fmt: skip
        store.publish_changes(
            RunRecord(run_id, started, now(), kind, ctx.matching_print, model.to_json(),
                      metrics),
            deletes, inserts, redirects_table(redirects, started, run_id),
            quarantine, pause=ctx.pause, checkpoint=writes is None,
        )  # fmt: skip
        if ctx.on_publish is not None:
            ctx.on_publish(run_id, deletes, inserts)
    engine.close()
    if writes is None:
        customers, tied = store.counts()
        counted = source_counts(ctx, loaded, event_counts)
    else:  # a write answers for its records: store-wide counts (scans) are left to runs
        customers, tied, counted = store.customer_count(), None, []
    return RunSummary(
        run_id=run_id,
        kind=kind,
        sources=counted,
        records=n_records,
        customers=customers,
        new_customers=len(assignment.new_ids),
        redirects=redirect_counts,
        ids_changed=ids_changed,
        events=tied,
        quarantined=quarantine.num_rows,
        timings=timings,
        model_reused=True,
        changed_records=changed + deleted.num_rows,
        unchanged=[s.name for s in [*config.people, *config.events]
                   if s.name not in {r.name for r in reread} | events_reread],
    )  # fmt: skip


def _nothing_changed(ctx: RunContext, started: datetime) -> RunSummary:
    """No source changed and no steward decided anything: a run that publishes only itself."""
    last, model = ctx.last, ctx.model
    assert last is not None and model is not None
    run_id = new_run_id(started)
    fields = {f: FieldKind(k) for f, k in last.metrics["fields"].items()}
    metrics: dict[str, Any] = {
        "changed_records": 0,
        "deleted_records": 0,
        "ids_changed": 0,
        "redirects": {"merge": 0, "split": 0, "deleted": 0},
        **state_metrics(ctx, fields, blocking_of(last) or [], last.metrics["mappings"]),
        "watermarks": last.metrics.get("watermarks", {}),
        "plans": last.metrics.get("plans", {}),
    }
    ctx.store.publish_changes(
        RunRecord(run_id, started, now(), "incremental", ctx.matching_print, model.to_json(),
                  metrics),
        [], {}, redirects_table([], started, run_id), quarantine_table(run_id, [], [], []),
    )  # fmt: skip
    customers, tied = ctx.store.counts()
    return RunSummary(
        run_id=run_id,
        kind="incremental",
        sources=source_counts(ctx, [], []),
        records=sum(n for (kind, _), n in ctx.store.source_counts().items() if kind == "people"),
        customers=customers,
        new_customers=0,
        redirects=metrics["redirects"],
        ids_changed=0,
        events=tied,
        quarantined=0,
        model_reused=True,
        unchanged=[s.name for s in [*ctx.config.people, *ctx.config.events]],
    )


def _mappings_of(loaded: list[LoadedSource], mappings: dict[str, Any]) -> dict[str, Any]:
    return {
        s.spec.name: {m.column: m.field for m in mappings[s.spec.name]
                      if m.kind is not FieldKind.IGNORE}
        for s in loaded
    }  # fmt: skip
