"""Steps of a project run: the project's settings as the core's job, steward decisions, the
tables a publish writes, and clustering only the records an incremental run affects."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from c360.config import JobConfig
from c360.engines.base import Engine, GoldenField, PairsWithin
from c360.model import ColumnMapping, FieldKind
from c360.project.config import ProjectConfig
from c360.project.identity import Redirect
from c360.resolve.clustering import cluster
from c360.sources.files import LoadedSource
from c360.standardize import ColumnPlan
from c360.store import Decision

__all__ = [
    "MAX_SHARING",
    "cluster_affected",
    "concat_keys",
    "contact_kinds",
    "customers_table",
    "decided_pairs",
    "file_states",
    "fingerprint",
    "golden_fields",
    "ids_table",
    "job_config",
    "key_table",
    "plans_from_json",
    "plans_to_json",
    "quarantine_table",
    "record_keys",
    "redirects_table",
    "sources_fingerprint",
]

# A contact point held by more customers than this is a switchboard or a placeholder.
MAX_SHARING = 5
RAW_KINDS = {
    FieldKind.GIVEN_NAME, FieldKind.FAMILY_NAME, FieldKind.FULL_NAME, FieldKind.STREET,
    FieldKind.CITY, FieldKind.REGION, FieldKind.COUNTRY, FieldKind.COMPANY, FieldKind.OTHER,
}  # fmt: skip


def fingerprint(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def job_config(config: ProjectConfig) -> JobConfig:
    m = config.matching
    return JobConfig(
        standardize=config.standardize, rules=m.rules, comparisons=m.comparisons,
        blocking=m.blocking, conflicts=m.conflicts, training=m.training, clustering=m.clustering,
    )  # fmt: skip


def golden_fields(config: ProjectConfig, kinds: Mapping[str, FieldKind]) -> list[GoldenField]:
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
            GoldenField(f, rule, kind in RAW_KINDS, priority, MAX_SHARING if contact else None)
        )
    return out


def decided_pairs(
    engine: Engine, names: list[str], decisions: list[Decision]
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Steward decisions as record pairs of the engine: (links, unlinks)."""
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
    return links, unlinks


def customers_table(
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


def quarantine_table(
    run_id: str,
    sources: list[LoadedSource],
    sql_quarantine: list[tuple[str, int, str]],
    events: list[pa.Table],
) -> pa.Table:
    rows: dict[str, list[Any]] = {
        k: [] for k in ("run_id", "source", "line", "row_number", "reason", "raw")
    }

    def add(source: str, line: int | None, row: int | None, reason: str, raw: str | None) -> None:
        for k, v in zip(rows, (run_id, source, line, row, reason, raw), strict=True):
            rows[k].append(v)

    for s in sources:
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


def contact_kinds(fields: Mapping[str, FieldKind]) -> dict[str, str]:
    """Standardised email and phone fields → the contact point kind they hold."""
    return {
        f: ("email" if k is FieldKind.EMAIL else "phone")
        for f, k in fields.items()
        if k in (FieldKind.EMAIL, FieldKind.PHONE)
    }


def redirects_table(redirects: list[Redirect], at: Any, run_id: str) -> pa.Table:
    return pa.table(
        {
            "old_id": pa.array([r.old_id for r in redirects], pa.string()),
            "new_id": pa.array([r.new_id for r in redirects], pa.string()),
            "reason": pa.array([r.reason for r in redirects], pa.string()),
            "redirected_at": pa.array([at] * len(redirects), pa.timestamp("us")),
            "run_id": pa.array([run_id] * len(redirects), pa.string()),
        }
    )


def sources_fingerprint(config: ProjectConfig) -> str:
    """What the sources are and how they map: an incremental run needs the same."""
    return fingerprint(
        {
            "people": [s.model_dump() for s in config.people],
            "events": [s.model_dump() for s in config.events],
            "golden": config.golden.model_dump(),
        }
    )


def file_states(root: Path, config: ProjectConfig) -> dict[str, list[int] | None]:
    """Size and modification time of each file source (None for SQL sources and missing
    files): a file whose state is unchanged since the last run is not read again."""
    states: dict[str, list[int] | None] = {}
    for source in [*config.people, *config.events]:
        path = root / source.file if source.file is not None else None
        if path is not None and path.exists():
            stat = os.stat(path)
            states[source.name] = [stat.st_size, stat.st_mtime_ns]
        else:
            states[source.name] = None
    return states


def plans_to_json(plans: Mapping[str, list[ColumnPlan]]) -> dict[str, list[dict[str, Any]]]:
    """Column plans as a run records them (the reason text of detection is left out)."""
    return {
        source: [
            {"column": p.mapping.column, "kind": p.mapping.kind.value, "field": p.mapping.field,
             "split_full_name": p.split_full_name, "split_house_number": p.split_house_number,
             "date_order": p.date_order}
            for p in source_plans
        ]
        for source, source_plans in plans.items()
    }  # fmt: skip


def plans_from_json(data: Mapping[str, list[dict[str, Any]]]) -> dict[str, list[ColumnPlan]]:
    return {
        source: [
            ColumnPlan(
                ColumnMapping(p["column"], FieldKind(p["kind"]), p["field"]),
                split_full_name=p["split_full_name"],
                split_house_number=p["split_house_number"],
                date_order=p["date_order"],
            )
            for p in source_plans
        ]
        for source, source_plans in data.items()
    }


def cluster_affected(
    engine: Engine,
    affected: npt.NDArray[np.int64],
    threshold: float,
    min_mean_probability: float,
    prior_weight: float,
) -> npt.NDArray[np.int64]:
    """Cluster the affected records alone; return each one's label (its cluster's smallest
    record index, as a full run names clusters)."""
    n = engine.n_records
    local = np.full(n, -1, dtype=np.int64)
    local[affected] = np.arange(len(affected), dtype=np.int64)
    left, right = engine.linked_pairs(threshold)
    inside = (local[left] >= 0) & (local[right] >= 0)

    def pairs_within(component: npt.NDArray[np.int64]) -> PairsWithin:
        spread = np.full(n, -1, dtype=np.int64)
        spread[affected] = component
        pw = engine.pairs_within(spread)
        return PairsWithin(
            local[pw.left], local[pw.right], pw.probability, pw.ruled, pw.conflict, pw.veto
        )

    cluster_of, _ = cluster(
        len(affected),
        (local[left[inside]], local[right[inside]]),
        pairs_within,
        threshold,
        min_mean_probability,
        prior_weight=prior_weight,
    )
    labels: npt.NDArray[np.int64] = affected[cluster_of]
    return labels


def record_keys(engine_records: pa.Table, names: list[str]) -> list[tuple[str, str]]:
    """(source, record id) of engine records (`_src` indexes `names`)."""
    return [
        (names[s], r)
        for s, r in zip(
            engine_records.column("_src").to_pylist(),
            engine_records.column("_id").to_pylist(),
            strict=True,
        )
    ]


def key_table(
    keys: list[tuple[str, str]], left: str = "source", right: str = "record_id"
) -> pa.Table:
    """(source, record id) keys as a two-column table, for store lookups and deletes."""
    return pa.table(
        {
            left: pa.array([k[0] for k in keys], pa.string()),
            right: pa.array([k[1] for k in keys], pa.string()),
        }
    )


def ids_table(ids: set[str]) -> pa.Table:
    """Customer IDs as a `customer_id` table, sorted."""
    return pa.table({"customer_id": pa.array(sorted(ids), pa.string())})


def concat_keys(a: pa.Table, b: pa.Table) -> pa.Table:
    """Two key tables as one, in the second's schema."""
    return pa.concat_tables([a.cast(b.schema), b])
