"""The neighbourhood of a real-time write: the stored records a write can change, and what a run
over them alone must be told about the rest of the store.

An incremental run brings every stored record back and works on the few that changed. A write
through the API changes one record, or a handful; what it can change is bounded:

- a record is only ever compared with records sharing one of its blocking keys, so its pairs
  are with the *holders* of the keys of its new and old versions;
- its customer can only change with the customers of those records, and with every record
  linked to them by a stored pair (clustering works per component of links).

So the run is given the old versions of the records written, every holder of their keys, and
the closure of those under "same customer" and "linked by a stored pair": in that set the
run compares, clusters and builds golden records exactly as over the whole store. Two things
it cannot see from inside are handed to it from the whole store:

- a **hot key** (held by more than `max_block_size` records) selects no pairs; its holders are
  not loaded, and the run nulls it by name;
- a contact value held by more than `MAX_SHARING` customers never enters a golden record.

When the write moves a key across the cap (it becomes hot, or stops being hot), the pairs among
that key's holders change, though none of them was written: the key is bounded (at most
`max_block_size` + the records written), so its holders join the neighbourhood as records to
compare again (`Flip`), with what comparing them needs. When the write moves a contact value
across the sharing limit, golden records change wherever the value is held: `Widen` is raised,
and the write is run over the whole store instead.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

import pyarrow as pa

from c360.engines.base import BlockingRule

__all__ = [
    "PAIRS_SCHEMA",
    "Flip",
    "Key",
    "Neighbourhood",
    "NeighbourhoodSource",
    "Row",
    "Widen",
    "gather",
    "key_of",
    "sharing_after",
]

Key = tuple[str, str]  # (source, record id)
Row = dict[str, Any]  # a `match_records` row as Python values
# The `pairs` columns a neighbourhood carries.
PAIRS_SCHEMA = pa.schema([
    ("source_l", pa.string()), ("record_id_l", pa.string()), ("source_r", pa.string()),
    ("record_id_r", pa.string()), ("match_weight", pa.float64()),
    ("match_probability", pa.float64()), ("rule", pa.string()), ("conflict", pa.bool_()),
])  # fmt: skip


class Widen(Exception):
    """The write reaches beyond its neighbourhood: run it over the whole store."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NeighbourhoodSource(Protocol):
    """Point lookups over the stored state (`match_records`, links, pairs) of the last publish.

    Rows come back as Python values: the real-time resolver works on them as they are, and a
    run makes Arrow tables of the few it needs (`Neighbourhood`)."""

    def record_schema(self) -> pa.Schema:
        """The columns of `match_records`."""
        ...

    def records(self, keys: Sequence[Key]) -> list[Row]:
        """The `match_records` rows of these records (those that exist)."""
        ...

    def key_holders(self, rule: int, keys: Sequence[str], limit: int) -> dict[str, list[Key]]:
        """Per blocking key of rule number `rule`, up to `limit` records holding it."""
        ...

    def customers(self, keys: Sequence[Key]) -> dict[Key, str]:
        """The customer of each of these records."""
        ...

    def members(self, customers: Sequence[str]) -> dict[Key, str]:
        """Every record of these customers, with its customer."""
        ...

    def partners(self, keys: Sequence[Key], threshold: float) -> set[Key]:
        """The records a stored pair links to one of these, as clustering takes a link: a rule
        (or a steward) made it, or its probability reaches `threshold` without a hard
        conflict."""
        ...

    def pairs_within(self, keys: Sequence[Key]) -> list[tuple[Any, ...]]:
        """The stored pairs (`PAIRS_SCHEMA` columns) between two of these records, each once."""
        ...

    def customers_holding(self, field: str, values: Sequence[str]) -> dict[str, int]:
        """How many customers hold each of these values of `field` (absent: none)."""
        ...

    def record_count(self) -> int: ...

    def max_row(self, source: str) -> int:
        """The highest `_row` of a source's stored records (-1 when it has none)."""
        ...


@dataclass(frozen=True)
class Flip:
    """A blocking key the write moves across `max_block_size`: the pairs among its holders are
    not the stored ones any more (those it selected go, when it becomes hot; every pair among
    its holders is compared, when it stops being hot)."""

    rule: int  # the blocking rule's number
    key: str  # its lookup text (`key_of`)
    holders: list[Key]  # its holders before the write
    hot: bool  # hot after the write


@dataclass(frozen=True)
class Neighbourhood:
    rows: list[Row]  # `match_records` rows, ordered by (source, id)
    customer_of: dict[Key, str]  # the customer of each of those that has one
    # Stored pairs between two of those (`PAIRS_SCHEMA`); none when gathered without them.
    pair_rows: list[tuple[Any, ...]]
    hot: list[pa.Table]  # per blocking rule: its hot key values (the rule's fields as columns)
    flips: list[Flip]  # the keys the write moves across the cap
    store_records: int  # records in the whole store before the write
    max_row: dict[str, int]  # per source written: its highest stored `_row`
    schema: pa.Schema  # of `match_records`
    # (rule, key) of every key the write names: its holders before the write (a count of
    # `max_block_size` + 1 + the records written or more means at least that many).
    held: dict[tuple[int, str], int] = field(default_factory=dict)

    # The same as Arrow tables, for a run.

    @property
    def flipped(self) -> list[Key]:
        """The holders of the keys the write moves across the cap."""
        return sorted({k for flip in self.flips for k in flip.holders})

    @cached_property
    def records(self) -> pa.Table:
        return pa.Table.from_pylist(self.rows, schema=self.schema)

    @cached_property
    def links(self) -> pa.Table:
        """(source, record_id, customer_id) of the records."""
        keys = list(self.customer_of)
        return pa.table({
            "source": pa.array([k[0] for k in keys], pa.string()),
            "record_id": pa.array([k[1] for k in keys], pa.string()),
            "customer_id": pa.array(list(self.customer_of.values()), pa.string()),
        })  # fmt: skip

    @cached_property
    def pairs(self) -> pa.Table:
        columns = list(zip(*self.pair_rows, strict=True)) or [()] * len(PAIRS_SCHEMA)
        return pa.Table.from_arrays(
            [pa.array(list(c), f.type) for c, f in zip(columns, PAIRS_SCHEMA, strict=True)],
            schema=PAIRS_SCHEMA,
        )


def key_of(values: Iterable[object]) -> str | None:
    """A blocking key's lookup text (its fields' values as a JSON list, so that no two keys
    share one); None when a field is null (the key selects nothing)."""
    parts = []
    for v in values:
        if v is None:
            return None
        parts.append(str(v))
    return json.dumps(parts, ensure_ascii=False)


def _keys_of(
    columns: dict[str, list[object]], rows: int, rule: BlockingRule
) -> list[tuple[str, tuple[object, ...]]]:
    """(key text, values) of each row (of a table as `columns`) that has the rule's key."""
    if rows == 0:
        return []
    absent = [None] * rows
    out = []
    for values in zip(*(columns.get(f, absent) for f in rule.fields), strict=True):
        key = key_of(values)
        if key is not None:
            out.append((key, values))
    return out


def gather(
    source: NeighbourhoodSource,
    rules: Sequence[BlockingRule],
    max_block_size: int,
    threshold: float,
    fresh: pa.Table,
    written: Sequence[Key],
    sources: Sequence[str],
    old: list[Row] | None = None,
    with_pairs: bool = True,
) -> Neighbourhood:
    """The neighbourhood of a write to `sources`: `fresh` holds the new versions of the records
    that changed (standardised, with the rules' fields), `written` names those and the deleted
    ones; `old`, when the caller has looked them up already, their stored versions.

    With pairs (a run), the holders of a key the write moves across the cap are compared again
    like the written records: every holder of their keys joins too, and their hot keys are
    named. Without (`with_pairs=False`: the real-time resolver, which reads the pairs it needs
    and keeps the stored ones between those holders that still share a key), only the hot
    keys those holders share are named."""
    if old is None:
        old = source.records(written)
    n_written = len(set(written))
    fields = {f for rule in rules for f in rule.fields}
    fresh_columns = {f: fresh.column(f).to_pylist() for f in fields if f in fresh.column_names}
    old_columns = {f: [r.get(f) for r in old] for f in fields}
    hot: list[dict[str, tuple[object, ...]]] = []  # per rule: key text → values
    judged: list[set[str]] = []  # per rule: the keys whose count the write changes
    holders: set[Key] = set()
    held: dict[tuple[int, str], int] = {}
    flips: list[Flip] = []
    for k, rule in enumerate(rules):
        fresh_keys = _keys_of(fresh_columns, fresh.num_rows, rule)
        old_keys_of = _keys_of(old_columns, len(old), rule)
        new_keys = Counter(key for key, _ in fresh_keys)
        old_keys = Counter(key for key, _ in old_keys_of)
        values = dict(fresh_keys) | dict(old_keys_of)
        hot_values: dict[str, tuple[object, ...]] = {}
        # Enough holders to tell whether a key is hot before the write and after it.
        limit = max_block_size + 1 + n_written
        holding = source.key_holders(k, sorted(values), limit)
        for key in sorted(values):
            found = holding.get(key, [])
            before = held[(k, key)] = len(found)
            if before >= limit:
                hot_values[key] = values[key]  # hot before, and after: it selects nothing
                continue
            after = before - old_keys[key] + new_keys[key]
            if (before > max_block_size) != (after > max_block_size):
                flips.append(Flip(k, key, found, after > max_block_size))
                holders.update(found)
            if after > max_block_size:
                hot_values[key] = values[key]
            else:
                holders.update(found)
        hot.append(hot_values)
        judged.append(set(values))
    if flips:
        holders |= _flipped_keys(source, rules, max_block_size, flips, set(written), hot, judged,
                                 compare=with_pairs)  # fmt: skip
    hot_tables = [
        pa.table({f: pa.array([v[i] for v in by_key.values()], pa.string())
                  for i, f in enumerate(rule.fields)})
        for rule, by_key in zip(rules, hot, strict=True)
    ]  # fmt: skip

    # Closed under "same customer" and "linked by a stored pair".
    inside: set[Key] = set(written) | holders
    customer_of: dict[Key, str] = {}
    seen_customers: set[str] = set()
    frontier = sorted(inside)
    while frontier:
        customer_of.update(source.customers(frontier))
        new_customers = sorted({c for k in frontier if (c := customer_of.get(k))} - seen_customers)
        seen_customers.update(new_customers)
        members = source.members(new_customers)
        customer_of.update(members)
        partners = source.partners(frontier, threshold)
        frontier = sorted((set(members) | partners) - inside)
        inside.update(frontier)

    rows = sorted(source.records(sorted(inside)), key=lambda r: (r["source"], r["_id"]))
    present = [(str(r["source"]), str(r["_id"])) for r in rows]
    return Neighbourhood(
        rows=rows,
        customer_of={k: customer_of[k] for k in present if k in customer_of},
        pair_rows=sorted(source.pairs_within(present), key=lambda p: p[:4]) if with_pairs else [],
        hot=hot_tables,
        flips=flips,
        store_records=source.record_count(),
        max_row={s: source.max_row(s) for s in sources},
        schema=source.record_schema(),
        held=held,
    )


def _flipped_keys(
    source: NeighbourhoodSource,
    rules: Sequence[BlockingRule],
    max_block_size: int,
    flips: Sequence[Flip],
    written: set[Key],
    hot: list[dict[str, tuple[object, ...]]],
    judged: list[set[str]],
    compare: bool,
) -> set[Key]:
    """The other keys of the records holding a flipped key: each hot one is named in `hot`
    (their counts are the stored ones: the write's own keys were judged already). With
    `compare`, every key of those records counts, and the holders of those that are not hot are
    returned (the records they are compared with); without, only the keys two of them share."""
    flipped = sorted({k for flip in flips for k in flip.holders} - written)
    rows = source.records(flipped)
    columns = {f: [r.get(f) for r in rows] for rule in rules for f in rule.fields}
    partners: set[Key] = set()
    for k, rule in enumerate(rules):
        held = _keys_of(columns, len(rows), rule)
        keys, values = Counter(key for key, _ in held), dict(held)
        wanted = sorted(key for key, n in keys.items()
                        if key not in judged[k] and (compare or n > 1))  # fmt: skip
        if not wanted:
            continue
        holding = source.key_holders(k, wanted, max_block_size + 1)
        for key in wanted:
            found = holding.get(key, [])
            if len(found) > max_block_size:
                hot[k][key] = values[key]
            elif compare:
                partners.update(found)
    return partners


def sharing_after(
    source: NeighbourhoodSource,
    field: str,
    before: pa.Table,
    after: pa.Table,
    max_sharing: int,
) -> pa.Table:
    """The values of `field` that stay shared by more than `max_sharing` customers, judged over
    the whole store; `Widen` when the write moves one across that limit.

    `before` and `after` are (`value`, `customer_id`) of the neighbourhood's records before
    the write (by their stored customers) and after it. Every record of those customers is in
    the neighbourhood, so a value's count after the write is the store's count, less the
    neighbourhood's customers before, plus its customers after.
    """
    values = sorted(
        {*before.column("value").to_pylist(), *after.column("value").to_pylist()} - {None}
    )
    if not values:
        return pa.table({"field": pa.array([], pa.string()), "value": pa.array([], pa.string())})
    stored = source.customers_holding(field, values)
    was = Counter(before.column("value").to_pylist())
    now = Counter(after.column("value").to_pylist())
    shared = []
    for v in values:
        n_before = stored.get(v, 0)
        n_after = n_before - was[v] + now[v]
        if (n_before > max_sharing) != (n_after > max_sharing):
            raise Widen(
                f"{field} {v!r} goes from {n_before} to {n_after} customers, across the"
                f" sharing limit ({max_sharing})"
            )
        if n_after > max_sharing:
            shared.append(v)
    return pa.table(
        {
            "field": pa.array([field] * len(shared), pa.string()),
            "value": pa.array(shared, pa.string()),
        }
    )
