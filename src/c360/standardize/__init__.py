"""Standardisation: raw source values → the shared model's comparable values.

One module per kind of value, each backed by a library made for it. The batch path applies a
standardiser to the *distinct* values of a column only (a city column of a million rows has a few
thousand values) and lets the engine join the results back; the real-time path calls the same
functions on one record, so both see the same values.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from c360.config import StandardizeConfig
from c360.model import ColumnMapping, FieldKind
from c360.standardize import addresses, dates, emails, identifiers, names, phones
from c360.standardize.cache import LookupCache
from c360.standardize.text import fold

__all__ = [
    "ColumnPlan",
    "output_fields",
    "standardize_columns",
    "standardize_value",
    "standardize_values",
]


@dataclass(frozen=True)
class ColumnPlan:
    """How one mapped column is standardised in the context of its source's other columns."""

    mapping: ColumnMapping
    split_full_name: bool = False
    split_house_number: bool = False
    date_order: str = "mdy"


def output_fields(plan: ColumnPlan) -> list[str]:
    """The standardised columns a plan produces (list-valued ones end in `__roots`)."""
    f, kind = plan.mapping.field, plan.mapping.kind
    if kind is FieldKind.IGNORE:
        return []
    if kind is FieldKind.GIVEN_NAME:
        return [f, f"{f}__roots"]
    if kind is FieldKind.FULL_NAME and plan.split_full_name:
        return ["given_name", "given_name__roots", "family_name"]
    if kind is FieldKind.STREET and plan.split_house_number:
        return [f, "house_number"]
    return [f]


def standardize_value(plan: ColumnPlan, value: str, settings: StandardizeConfig) -> dict[str, Any]:
    """One raw value standardised: its outputs (`output_fields`) and `flag`."""
    f, kind = plan.mapping.field, plan.mapping.kind
    match kind:
        case FieldKind.GIVEN_NAME:
            given = names.given_name(value)
            return {f: given, f"{f}__roots": names.name_roots(given) if given else None}
        case FieldKind.FAMILY_NAME:
            return {f: names.family_name(value)}
        case FieldKind.FULL_NAME if plan.split_full_name:
            parsed = names.full_name(value)
            g = parsed.given_name
            return {
                "given_name": g,
                "given_name__roots": names.name_roots(g) if g else None,
                "family_name": parsed.family_name,
            }
        case FieldKind.EMAIL:
            e = emails.email(value, provider_rules=settings.email_provider_rules)
            return {f: e.value, "flag": e.flag}
        case FieldKind.PHONE:
            p = phones.phone(value, default_region=settings.default_region)
            return {f: p.value, "flag": p.flag}
        case FieldKind.BIRTH_DATE:
            d = dates.birth_date(value, order=plan.date_order)
            return {f: d.value, "flag": d.flag}
        case FieldKind.STREET:
            parts = addresses.street(value, split_house_number=plan.split_house_number)
            out: dict[str, Any] = {f: parts.street}
            if plan.split_house_number:
                out["house_number"] = parts.house_number
            return out
        case FieldKind.HOUSE_NUMBER:
            return {f: addresses.house_number(value)}
        case FieldKind.CITY:
            return {f: addresses.city(value)}
        case FieldKind.REGION:
            return {f: addresses.region(value)}
        case FieldKind.POSTCODE:
            return {f: addresses.postcode(value)}
        case FieldKind.NATIONAL_ID | FieldKind.CUSTOMER_ID:
            return {f: identifiers.identifier(value)}
        case _:
            return {f: fold(value)}


def standardize_values(
    plan: ColumnPlan,
    values: Sequence[str],
    settings: StandardizeConfig,
    progress: Callable[[int], None] | None = None,
) -> pa.Table:
    """Standardise distinct raw values into a lookup table: `raw`, outputs…, `flag`."""
    fields = output_fields(plan)
    columns: dict[str, list[Any]] = {name: [] for name in ["raw", *fields, "flag"]}
    step = 10_000
    for i, value in enumerate(values):
        out = standardize_value(plan, value, settings)
        columns["raw"].append(value)
        for name in fields:
            columns[name].append(out.get(name))
        columns["flag"].append(out.get("flag"))
        if progress is not None and (i + 1) % step == 0:
            progress(step)
    if progress is not None:
        progress(len(values) % step)
    schema = pa.schema(
        [
            pa.field(name, pa.list_(pa.string()) if name.endswith("__roots") else pa.string())
            for name in columns
        ]
    )
    return pa.table(columns, schema=schema)


# Below this many distinct values in all, starting worker processes costs more than it saves.
PARALLEL_MIN_VALUES = 200_000
_CHUNK = 50_000


def standardize_columns(
    tasks: Sequence[tuple[ColumnPlan, Sequence[str]]],
    settings: StandardizeConfig,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
    cache: LookupCache | None = None,
) -> list[pa.Table]:
    """Standardise the distinct values of many columns: one lookup table per task, in order.

    Large inputs are split into chunks and run on every core: the parsers (phonenumbers,
    email-validator) are pure Python, so threads would not help. Workers are forked from a
    clean server process, never from this one, which holds the engine's threads.
    """
    if cache is not None:
        return _with_cache(tasks, settings, progress, workers, cache)
    total = sum(len(values) for _, values in tasks)
    workers = workers or os.cpu_count() or 1
    if total < PARALLEL_MIN_VALUES or workers < 2:
        return [standardize_values(plan, values, settings, progress) for plan, values in tasks]
    chunks: list[list[pa.Table | None]] = [
        [None] * max(1, -(-len(values) // _CHUNK)) for _, values in tasks
    ]
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: dict[Future[pa.Table], tuple[int, int, int]] = {}
        for t, (plan, values) in enumerate(tasks):
            for c in range(len(chunks[t])):
                part = list(values[c * _CHUNK : (c + 1) * _CHUNK])
                future = pool.submit(standardize_values, plan, part, settings)
                pending[future] = (t, c, len(part))
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                t, c, n = pending.pop(future)
                chunks[t][c] = future.result()
                if progress is not None:
                    progress(n)
    return [pa.concat_tables([c for c in parts if c is not None]) for parts in chunks]


def _with_cache(
    tasks: Sequence[tuple[ColumnPlan, Sequence[str]]],
    settings: StandardizeConfig,
    progress: Callable[[int], None] | None,
    workers: int | None,
    cache: LookupCache,
) -> list[pa.Table]:
    """Standardise only the values the cache has not seen; keep the cache up to date."""
    wanted = [pa.array(list(values), pa.string()) for _, values in tasks]
    # Columns that share a cache file read it once, for all the values they want.
    keys = [cache.key(plan, settings) for plan, _ in tasks]
    plans = dict(zip(keys, (plan for plan, _ in tasks), strict=False))
    hits = {
        key: cache.get(plan, settings, only=pa.concat_arrays(
            [w for k, w in zip(keys, wanted, strict=True) if k == key]))
        for key, plan in plans.items()
    }  # fmt: skip
    known = [_rows_for(hits[k], w) for k, w in zip(keys, wanted, strict=True)]
    missing = []
    for w, table in zip(wanted, known, strict=True):
        unseen = w if table is None else w.filter(pc.invert(pc.is_in(w, value_set=table["raw"])))
        missing.append(unseen.to_pylist())
        if progress is not None:
            progress(len(w) - len(unseen))
    fresh = standardize_columns(
        [(plan, m) for (plan, _), m in zip(tasks, missing, strict=True)],
        settings,
        progress,
        workers,
    )
    out = []
    # Two columns can share a cache file (same kind and options in two sources): a value new
    # to both is added once.
    added: dict[str, list[pa.Array]] = {}
    for (plan, _), key, table, new in zip(tasks, keys, known, fresh, strict=True):
        adding = new
        if added.get(key) and adding.num_rows:
            before = pa.concat_arrays(added[key])
            adding = adding.filter(pc.invert(pc.is_in(adding.column("raw"), value_set=before)))
        if adding.num_rows:
            cache.add(plan, settings, adding)
            added.setdefault(key, []).append(adding.column("raw").combine_chunks())
        out.append(pa.concat_tables([table, new]) if table is not None else new)
    return out


def _rows_for(table: pa.Table | None, values: pa.Array) -> pa.Table | None:
    return None if table is None else table.filter(pc.is_in(table["raw"], value_set=values))
