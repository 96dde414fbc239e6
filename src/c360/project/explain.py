"""Explaining two records of a project with the model and values of its last run."""

from __future__ import annotations

import json

from c360.errors import StoreError
from c360.explain_view import ExplainedPair
from c360.project.config import ProjectConfig
from c360.resolve.explain import explain_pair
from c360.resolve.fellegi_sunter import MatchModel
from c360.store import Store

__all__ = ["explain_in_store", "parse_record_key"]


def parse_record_key(text: str) -> tuple[str, str]:
    source, sep, record_id = text.partition(":")
    if not sep or not source or not record_id:
        raise StoreError(f"record {text!r}: name it as source:id", hint="e.g. crm:10042")
    return source, record_id


def explain_in_store(store: Store, config: ProjectConfig, left: str, right: str) -> ExplainedPair:
    """Why two records are, or are not, one customer, as the last published run saw them."""
    run = store.last_run()
    if run is None or not run.model:
        raise StoreError("no published run yet", hint="run `c360 run` first")
    model = MatchModel.from_json(run.model)
    values = []
    for text in (left, right):
        source, record_id = parse_record_key(text)
        rows = store.query(
            "SELECT std FROM records WHERE source = ? AND record_id = ?", [source, record_id]
        )
        if not rows:
            raise StoreError(f"record {text!r} is not in the store", hint="check source and id")
        values.append(json.loads(rows[0]["std"]))

    def term_frequency(field: str, value: str) -> float | None:
        # The shares the model scored with, kept beside it; counted afresh for a store
        # written before they were kept.
        kept = store.query(
            "SELECT tf FROM term_frequencies WHERE field = ? AND value = ?", [field, value]
        )
        if kept:
            return float(kept[0]["tf"])
        if store.query("SELECT 1 AS x FROM term_frequencies WHERE field = ? LIMIT 1", [field]):
            return None
        path = "$." + field
        (row,) = store.query(
            "SELECT count(*) FILTER (WHERE json_extract_string(std, ?) = ?) AS hits,"
            " count(json_extract_string(std, ?)) AS total FROM records",
            [path, value, path],
        )
        return row["hits"] / row["total"] if row["total"] else None

    explanation = explain_pair(model, config.matching.rules, values[0], values[1], term_frequency)
    disagree = {f.field for f in explanation.fields if f.label == "else"}
    conflicts = run.metrics.get("conflicts") or []
    conflict = next((tuple(c) for c in conflicts if c and set(c) <= disagree), None)
    return ExplainedPair(left, right, explanation, config.matching.clustering.threshold, conflict)
