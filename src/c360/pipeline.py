"""The one place that fixes the order of stages.

    sources ─▶ mapping ─▶ standardize ─▶ resolve ─▶ output
                                          block → compare → train → score → cluster

`run_job` is the whole of `c360 dedupe` and `c360 link`; `prepare_job` stops after
standardisation (for `--show-config` and `explain`).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from c360.config import ConflictConfig, JobConfig
from c360.engines import create_engine
from c360.engines.base import BlockingReport, BlockingRule, Engine, Lookup
from c360.errors import ConfigError, MappingError, ResolveError
from c360.mapping import ColumnProfile, detect_columns
from c360.model import ColumnMapping, FieldKind
from c360.progress import Reporter, timed
from c360.resolve import training
from c360.resolve.blocking import BlockingChoice, choose_blocking
from c360.resolve.clustering import ClusterStats, cluster
from c360.resolve.configure import auto_conflicts, complete_config
from c360.resolve.defaults import ADDRESS_PARTS
from c360.resolve.fellegi_sunter import MatchModel
from c360.resolve.labels import read_labels
from c360.resolve.levels import raw_field, roots_field
from c360.sources.files import LoadedSource, SourceSpec, load_source
from c360.standardize import ColumnPlan, standardize_columns
from c360.standardize.cache import LookupCache
from c360.standardize.plan import field_kinds, plan_columns

__all__ = [
    "BlockingDone",
    "Clustered",
    "FieldsDetected",
    "JobResult",
    "JobSpec",
    "ModelTrained",
    "PreparedJob",
    "SourcesLoaded",
    "prepare_job",
    "run_job",
    "score_pairs",
    "train_on_prepared",
]

Mode = Literal["dedupe", "link"]
_SAMPLE_ROWS = 2_000


@dataclass(frozen=True)
class JobSpec:
    sources: list[SourceSpec]
    mode: Mode
    config: JobConfig
    across_only: bool = False
    output: Path | None = None
    pairs_output: Path | None = None
    quarantine_output: Path | None = None
    model_input: Path | None = None
    model_output: Path | None = None
    labels: Path | None = None
    # A project run keeps each record's raw row, content hash and raw field values (lineage,
    # incremental runs, golden records), and may bring the model of its last run.
    keep_raw: bool = False
    model: MatchModel | None = None
    # What a reused model was trained with, so that a rerun blocks and scores as that run
    # did: the blocking rules it chose and the term frequencies (`field, value, tf`).
    blocking_rules: list[BlockingRule] | None = None
    term_frequencies: pa.Table | None = None
    # An incremental run's stored records per source (`_id`, `_hash`): rows whose content is
    # unchanged are dropped before standardisation (their ids and positions are kept).
    known: dict[str, pa.Table] | None = None
    # Per source, the column plans of an earlier run, used instead of detecting and planning
    # again: for a source read in part (by watermark), whose rows are not a fair sample.
    plans: dict[str, list[ColumnPlan]] | None = None
    # Where standardised values are cached between runs (a project folder's), if anywhere.
    cache_dir: Path | None = None


# --- events the reporter shows ------------------------------------------------------------


@dataclass(frozen=True)
class SourcesLoaded:
    sources: list[LoadedSource]


@dataclass(frozen=True)
class FieldsDetected:
    source: str
    mappings: list[ColumnMapping]


@dataclass(frozen=True)
class Standardized:
    records: int
    flags: dict[tuple[str, str, str], int]


@dataclass(frozen=True)
class BlockingDone:
    choice: BlockingChoice
    reports: list[BlockingReport]
    candidates: int


@dataclass(frozen=True)
class ModelTrained:
    model: MatchModel
    conflicts: list[ConflictConfig]
    reused: bool


@dataclass(frozen=True)
class Clustered:
    records: int
    clusters: int
    links: int
    stats: ClusterStats


@dataclass
class PreparedJob:
    """A job read, mapped and standardised: the engine holds `records`."""

    spec: JobSpec
    engine: Engine
    sources: list[LoadedSource]
    mappings: dict[str, list[ColumnMapping]]
    config: JobConfig
    fields: dict[str, FieldKind]
    n_records: int
    timings: dict[str, float] = field(default_factory=dict)
    blocking: list[BlockingRule] = field(default_factory=list)  # once chosen
    plans: dict[str, list[ColumnPlan]] = field(default_factory=dict)


@dataclass(frozen=True)
class JobResult:
    config: JobConfig
    sources: list[LoadedSource]
    model: MatchModel
    records: int
    clusters: int
    candidates: int
    links: int
    timings: dict[str, float]


# --- stages ---------------------------------------------------------------------------------


def _load(spec: JobSpec, engine: Engine, reporter: Reporter) -> list[LoadedSource]:
    names = [s.name for s in spec.sources]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(
            f"two sources share the name {repeated[0]!r} (files are named by their stem)",
            hint="rename one of the files",
        )
    loaded = []
    with reporter.step("Reading sources", total=len(spec.sources)) as advance:
        for i, source in enumerate(spec.sources):
            loaded.append(load_source(engine, source, i))
            advance(1)
    for s in loaded:
        if s.encoding != "utf-8":
            reporter.warn(f"{s.spec.where or s.spec.name}: not UTF-8; read as {s.encoding}")
    reporter.event(SourcesLoaded(loaded))
    return loaded


def _detect(
    spec: JobSpec, engine: Engine, sources: list[LoadedSource], reporter: Reporter
) -> dict[str, list[ColumnMapping]]:
    all_columns = {c for s in sources for c in s.columns}
    unknown = sorted({c for s in sources for c in s.spec.fields} - all_columns)
    if unknown:
        raise ConfigError(
            f"fields: column {unknown[0]!r} is in no input",
            hint=f"columns are: {', '.join(sorted(all_columns))}",
        )
    mappings = {}
    for s in sources:
        if spec.plans is not None and s.spec.name in spec.plans:
            mappings[s.spec.name] = [p.mapping for p in spec.plans[s.spec.name]]
            continue
        sample = engine.sample_rows(s.table, _SAMPLE_ROWS)
        nulls = engine.null_counts(s.table, s.columns)
        rows = max(s.accepted, 1)
        profiles = [
            ColumnProfile(
                name=c,
                sample=[v for v in sample.column(c).to_pylist() if v is not None],
                null_share=nulls[c] / rows,
            )
            for c in s.columns
        ]
        ignored = [c for c in (s.spec.id_column, s.spec.updated_at) if c is not None]
        found = detect_columns(profiles, ignored, s.spec.fields)
        if not any(m.kind is not FieldKind.IGNORE for m in found):
            raise MappingError(
                f"{s.spec.where or s.spec.name}: no column to match on"
                + (" besides the id column" if s.spec.id_column else ""),
                hint="a file needs at least one usable column (name, email, phone, …)",
            )
        mappings[s.spec.name] = found
        reporter.event(FieldsDetected(s.spec.name, found))
    return mappings


def _standardize(
    spec: JobSpec,
    engine: Engine,
    sources: list[LoadedSource],
    mappings: dict[str, list[ColumnMapping]],
    reporter: Reporter,
) -> tuple[dict[str, FieldKind], int, dict[str, list[ColumnPlan]]]:
    distinct: dict[tuple[str, str], list[str]] = {}

    def values_of(table: str, column: str) -> list[str]:
        if (table, column) not in distinct:
            distinct[(table, column)] = engine.distinct_values(table, column).to_pylist()
        return distinct[(table, column)]

    given = spec.plans or {}
    plans = {
        s.spec.name: given[s.spec.name]
        if s.spec.name in given
        else plan_columns(mappings[s.spec.name], spec.config, partial(values_of, s.table))
        for s in sources
    }
    if spec.known is not None:
        # Planned on every row (as a full run plans), standardised only where rows changed.
        for s in sources:
            if s.spec.name in spec.known:
                engine.drop_unchanged(s.table, s.spec.id_column, spec.known[s.spec.name])
        distinct.clear()
    for s in sources:
        for p in plans[s.spec.name]:
            values_of(s.table, p.mapping.column)
    tasks = [
        (s.table, p, distinct[(s.table, p.mapping.column)])
        for s in sources
        for p in plans[s.spec.name]
    ]
    with reporter.step("Standardising values", total=sum(map(len, distinct.values()))) as advance:
        tables = standardize_columns(
            [(p, values) for _, p, values in tasks],
            spec.config.standardize,
            advance,
            cache=LookupCache(spec.cache_dir) if spec.cache_dir is not None else None,
        )
    lookups = [
        Lookup(table, p.mapping.column, lookup)
        for (table, p, _), lookup in zip(tasks, tables, strict=True)
    ]
    fields: dict[str, FieldKind] = {}
    for s in sources:
        fields.update(field_kinds(plans[s.spec.name]))
    exact_rule_fields = {c.field for r in spec.config.rules for c in r.all if c.match == "exact"}
    raw = [
        (s.table, p.mapping.column, raw_field(p.mapping.field))
        for s in sources
        for p in plans[s.spec.name]
        if spec.keep_raw or p.mapping.field in exact_rule_fields
    ]
    with reporter.step("Building records"):
        n = engine.build_records(
            [(s.table, s.spec.name) for s in sources],
            [s.spec.id_column for s in sources],
            lookups,
            [*fields, *(roots_field(f) for f, k in fields.items() if k is FieldKind.GIVEN_NAME)],
            raw,
            [s.spec.updated_at for s in sources],
            keep_raw=spec.keep_raw,
        )
    parts = [f for f in ADDRESS_PARTS if f in fields]
    if len(parts) >= 2:
        engine.add_composite("address", parts)
        fields["address"] = FieldKind.ADDRESS
    reporter.event(Standardized(n, engine.flag_counts(lookups)))
    return fields, n, plans


def prepare_job(spec: JobSpec, reporter: Reporter, engine: Engine | None = None) -> PreparedJob:
    """Read, map and standardise; return the job ready for resolution."""
    engine = engine or create_engine()
    timings: dict[str, float] = {}
    with timed(timings, "read"):
        sources = _load(spec, engine, reporter)
    with timed(timings, "detect"):
        mappings = _detect(spec, engine, sources, reporter)
    with timed(timings, "standardize"):
        fields, n, plans = _standardize(spec, engine, sources, mappings, reporter)
    config = complete_config(spec.config, fields)
    return PreparedJob(spec, engine, sources, mappings, config, fields, n, timings, plans=plans)


def train_on_prepared(job: PreparedJob, reporter: Reporter) -> tuple[MatchModel, int]:
    """Block, compare and train (or load) the model; returns it with the candidate count."""
    spec, engine, config, timings = job.spec, job.engine, job.config, job.timings
    across_only = spec.mode == "link" and spec.across_only
    assert config.comparisons is not None
    with timed(timings, "block"), reporter.step("Blocking"):
        tf_fields = [c.field for c in config.comparisons if c.term_frequency]
        engine.add_term_frequencies(tf_fields, spec.term_frequencies)
        cap = config.blocking.max_block_size
        if spec.blocking_rules is not None:
            choice = BlockingChoice(list(spec.blocking_rules), [], 0)
        else:
            choice = choose_blocking(
                config.blocking,
                config.rules,
                set(job.fields),
                job.n_records,
                lambda rule: engine.estimate_pairs(rule, cap, across_only),
            )
        job.blocking = choice.rules
        reports = engine.block(choice.rules, cap, across_only)
        candidates = sum(r.pairs for r in reports)
    reporter.event(BlockingDone(choice, reports, candidates))
    if candidates == 0:
        reporter.warn("blocking found no candidate pairs: every record is its own customer")

    with timed(timings, "compare"), reporter.step(f"Comparing {candidates:,} pairs"):
        engine.compare(config.comparisons, [r.all for r in config.rules], tf_fields)

    with timed(timings, "train"), reporter.step("Training the model (u sampling, EM)"):
        if spec.model is not None:
            model = training.check_model(spec.model, config.comparisons, "the last run")
        elif spec.model_input is not None:
            model = training.load_model(spec.model_input, config.comparisons)
        else:
            labelled = None
            if spec.labels is not None:
                labelled = read_labels(
                    spec.labels,
                    [s.spec.name for s in job.sources],
                    engine.find_records,
                    lambda rids: _record_values(engine, rids),
                    config.comparisons,
                )
            model = training.train(
                engine, config, choice.rules, job.n_records, across_only, labelled
            )
        if spec.model_output is not None:
            spec.model_output.write_text(model.to_json(), encoding="utf-8")
    return model, candidates


def score_pairs(engine: Engine, model: MatchModel, conflicts: Sequence[ConflictConfig]) -> None:
    """Score the compared pairs with a model; a conflict holds at the 'else' level of each of
    its comparisons."""
    index = {c.field: i for i, c in enumerate(model.comparisons)}
    engine.score(
        model.prior_weight,
        model.field_weights(),
        [
            [(index[f], len(model.comparisons[index[f]].levels)) for f in c.fields]
            for c in conflicts
        ],
    )


def _record_values(engine: Engine, rids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Standardised values of some records, for scoring them in Python."""
    fields = [c for c in engine.record_columns() if not c.startswith("_")]
    return {int(r["_rid"]): r for r in engine.records(rids, fields).to_pylist()}


def run_job(spec: JobSpec, reporter: Reporter) -> JobResult:
    """Run a whole dedupe/link job and write its outputs."""
    job = prepare_job(spec, reporter)
    engine, config, timings = job.engine, job.config, job.timings
    if job.n_records < 2:
        raise ResolveError("fewer than two records: nothing to match")
    model, candidates = train_on_prepared(job, reporter)
    conflicts = (
        config.conflicts if config.conflicts is not None else auto_conflicts(model, job.fields)
    )
    config = config.model_copy(update={"conflicts": conflicts})
    reporter.event(ModelTrained(model, conflicts, spec.model_input is not None))

    with timed(timings, "score"), reporter.step("Scoring pairs"):
        score_pairs(engine, model, conflicts)

    threshold = config.clustering.threshold
    with timed(timings, "cluster"):
        linked = engine.linked_pairs(threshold)
        with reporter.step("Clustering", total=None) as advance:
            cluster_of, stats = cluster(
                job.n_records,
                linked,
                engine.pairs_within,
                threshold,
                config.clustering.min_mean_probability,
                advance,
                prior_weight=model.prior_weight,
            )
    n_clusters = len(set(cluster_of.tolist()))
    reporter.event(Clustered(job.n_records, n_clusters, len(linked[0]), stats))

    with timed(timings, "write"), reporter.step("Writing outputs"):
        with_source = spec.mode == "link"
        if spec.output is not None:
            engine.write_clusters(cluster_of, spec.output, with_source)
        if spec.pairs_output is not None:
            engine.write_pairs(spec.pairs_output, with_source, [r.name for r in config.rules])
        if spec.quarantine_output is not None:
            _write_quarantine(spec.quarantine_output, job.sources)
    engine.close()
    return JobResult(
        config=config,
        sources=job.sources,
        model=model,
        records=job.n_records,
        clusters=n_clusters,
        candidates=candidates,
        links=len(linked[0]),
        timings=timings,
    )


def _write_quarantine(path: Path, sources: list[LoadedSource]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["source", "line", "row", "reason", "raw"])
        for s in sources:
            for q in s.quarantined:
                writer.writerow([q.source, q.line or "", q.row or "", q.reason, q.raw])
