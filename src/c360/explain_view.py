"""Explaining a pair of records of a job: find them, get (or train) the model, score in Python."""

from __future__ import annotations

from dataclasses import dataclass

from c360.errors import ResolveError
from c360.pipeline import JobSpec, prepare_job, train_on_prepared
from c360.progress import Reporter
from c360.resolve import training
from c360.resolve.explain import Explanation, explain_pair

__all__ = ["ExplainedPair", "explain_records"]


@dataclass(frozen=True)
class ExplainedPair:
    left_key: str
    right_key: str
    explanation: Explanation
    threshold: float
    # The hard conflict the pair falls under (fields it disagrees on), if the run had one.
    conflict: tuple[str, ...] | None = None


def _parse_key(key: str, sources: list[str]) -> tuple[int, str]:
    """`source:id` (for link jobs) or a bare id (when there is one source)."""
    if len(sources) > 1:
        source, sep, record_id = key.partition(":")
        if not sep or source not in sources:
            raise ResolveError(
                f"record {key!r}: name it as source:id",
                hint=f"sources are: {', '.join(sources)}",
            )
        return sources.index(source), record_id
    return 0, key


def explain_records(spec: JobSpec, left: str, right: str, reporter: Reporter) -> ExplainedPair:
    """Why `left` and `right` are, or are not, the same customer under this job's model."""
    job = prepare_job(spec, reporter)
    engine, config = job.engine, job.config
    names = [s.spec.name for s in job.sources]
    keys = [_parse_key(left, names), _parse_key(right, names)]
    found = engine.find_records(keys)
    for key, text in zip(keys, (left, right), strict=True):
        if key not in found:
            raise ResolveError(
                f"record {text!r} not found in {names[key[0]]}",
                hint="use the value of the id column (see --id-column)",
            )
    assert config.comparisons is not None
    if spec.model_input is not None:
        engine.add_term_frequencies([c.field for c in config.comparisons if c.term_frequency])
        model = training.load_model(spec.model_input, config.comparisons)
    else:
        model, _ = train_on_prepared(job, reporter)
    fields = [c for c in engine.record_columns() if not c.startswith("_")]
    table = engine.records([found[keys[0]], found[keys[1]]], fields)
    rows = {r["_rid"]: r for r in table.to_pylist()}
    explanation = explain_pair(
        model,
        config.rules,
        rows[found[keys[0]]],
        rows[found[keys[1]]],
        engine.term_frequency,
    )
    engine.close()
    return ExplainedPair(left, right, explanation, config.clustering.threshold)
