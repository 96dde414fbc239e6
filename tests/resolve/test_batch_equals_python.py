"""Scoring a pair in Python gives the batch engine's match weight (one definition), whether it is
explained or only scored."""

from __future__ import annotations

from pathlib import Path

from c360.config import Criterion, JobConfig, MatchRule
from c360.pipeline import JobSpec, prepare_job, train_on_prepared
from c360.progress import SilentReporter
from c360.resolve.explain import PairScorer, explain_pair
from c360.sources.files import SourceSpec


def test_python_pair_scores_equal_batch_scores(febrl1: Path) -> None:
    spec = JobSpec(
        sources=[SourceSpec.from_path(febrl1, id_column="rec_id")],
        mode="dedupe",
        config=JobConfig(),
    )
    job = prepare_job(spec, SilentReporter())
    model, candidates = train_on_prepared(job, SilentReporter())
    engine = job.engine
    engine.score(model.prior_weight, model.field_weights())
    scored = engine._arrow(  # the batch result, as the engine wrote it
        "SELECT l, r, match_weight FROM scored ORDER BY hash(l, r) LIMIT 400"
    ).to_pylist()
    assert candidates > 400
    fields = [c for c in engine.record_columns() if not c.startswith("_")]
    rids = sorted({row["l"] for row in scored} | {row["r"] for row in scored})
    records = {r["_rid"]: r for r in engine.records(rids, fields).to_pylist()}
    for row in scored:
        explanation = explain_pair(
            model, [], records[row["l"]], records[row["r"]], engine.term_frequency
        )
        assert abs(explanation.match_weight - row["match_weight"]) < 1e-9, row
    # `score` (real-time resolution's) is `explain` without the explanation: the same rule,
    # levels and probability, rules and term frequencies included.
    rules = [
        MatchRule(name="fuzzy name, same postcode", all=[
            Criterion(field="family_name", match="fuzzy", threshold=0.85),
            Criterion(field="postcode", match="exact_normalized")]),
        MatchRule(name="same birth date", all=[Criterion(field="birth_date")]),
    ]  # fmt: skip
    scorer = PairScorer(model, rules)
    held = 0
    for row in scored:
        left, right = records[row["l"]], records[row["r"]]
        why = scorer.explain(left, right, engine.term_frequency)
        rule, levels, probability = scorer.score(left, right, engine.term_frequency)
        assert (rule, levels, probability) == (
            why.rule, [f.level for f in why.fields], why.match_probability
        ), row  # fmt: skip
        held += rule is not None
    assert 0 < held < len(scored)  # both kinds of pair were scored
    engine.close()
