"""What an incremental run does differently for a real-time write (`RunContext.writes`).

A write names its records: the run reads nothing else, numbers a new record after the
source's last one (stored records keep their `_row`, so nothing else is rewritten), looks up
only the term frequencies of the values written, and — given a `NeighbourhoodSource` — brings
back only the write's neighbourhood instead of the whole store (see `neighbourhood`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from c360.engines import create_engine
from c360.engines.base import BlockingRule, Engine, GoldenField
from c360.project.identity import Redirect
from c360.project.neighbourhood import (
    Key,
    Neighbourhood,
    NeighbourhoodSource,
    Widen,
    gather,
    sharing_after,
)
from c360.project.state import RunContext, SourceWrite, decisions_print
from c360.sources.files import LoadedSource
from c360.store import Store

__all__ = [
    "broken_promises",
    "engine_for",
    "fresh_records",
    "frozen_tf",
    "seen_after_write",
    "shared_values",
    "write_state",
    "written_ids",
]


def fresh_records(
    engine: Engine, loaded: Sequence[LoadedSource], fields: Sequence[str]
) -> tuple[pa.Table, list[Key]]:
    """The new versions standardised for this run (before `rebase`): their `fields`, and each
    one's (source, id)."""
    present = set(engine.record_columns())
    table = engine.records(None, [f for f in fields if f in present])
    names = [s.spec.name for s in loaded]
    keys = [(names[s], str(i)) for s, i in
            zip(table.column("_src").to_pylist(), table.column("_id").to_pylist(), strict=True)]  # fmt: skip
    return table, keys


def frozen_tf(store: Store, fresh: pa.Table, tf_fields: Sequence[str]) -> pa.Table:
    """The stored term frequencies of the values the fresh records hold."""
    fields, values = [], []
    for f in tf_fields:
        if f not in fresh.column_names:
            continue
        for v in sorted({v for v in fresh.column(f).to_pylist() if v is not None}):
            fields.append(f)
            values.append(v)
    wanted = pa.table(
        {"field": pa.array(fields, pa.string()), "value": pa.array(values, pa.string())}
    )
    return store.matching("term_frequencies", wanted)


def seen_after_write(
    previous: pa.Table, source: str, write: SourceWrite, fresh_ids: Sequence[str], max_row: int
) -> tuple[list[str], list[int]]:
    """Each id the source holds after the write, with its row: stored records keep theirs (less
    the deleted ones), and a new record comes after the source's last (`max_row`)."""
    mine = previous.filter(pc.equal(previous.column("source"), source))
    gone = set(write.deleted)
    ids, rows = [], []
    for i, r in zip(mine.column("_id").to_pylist(), mine.column("_row").to_pylist(), strict=True):
        if i not in gone:
            ids.append(str(i))
            rows.append(int(r))
    stored = set(ids) | gone
    for i in fresh_ids:
        if i not in stored:
            max_row += 1
            ids.append(i)
            rows.append(max_row)
            stored.add(i)
    return ids, rows


def shared_values(
    source: NeighbourhoodSource,
    engine: Engine,
    hood: Neighbourhood,
    previous: pa.Table,
    fields: Sequence[GoldenField],
    max_sharing: int,
) -> pa.Table:
    """(`field`, `value`) of the values held too widely to enter a golden record, judged over
    the whole store; `Widen` when the write moves one across the limit."""
    links = hood.links.rename_columns(["source", "_id", "customer_id"])
    tables = [pa.table({"field": pa.array([], pa.string()), "value": pa.array([], pa.string())})]
    for g in fields:
        if not g.max_sharing or g.field not in previous.column_names:
            continue
        before = (
            previous.select(["source", "_id", g.field])
            .join(links, ["source", "_id"])
            .select([g.field, "customer_id"])
            .rename_columns(["value", "customer_id"])
            .filter(pc.is_valid(pc.field("value")))
            .group_by(["value", "customer_id"])
            .aggregate([])
        )
        after = engine.value_holders(g.field)
        tables.append(sharing_after(source, g.field, before, after, max_sharing))
    return pa.concat_tables(tables)


def written_ids(write: SourceWrite, id_column: str) -> list[str]:
    """The ids a write names: deleted, and upserted (under the source's id column)."""
    ids = write.rows.column(id_column).to_pylist() if id_column in write.rows.column_names else []
    return [*write.deleted, *(str(i) for i in ids if i is not None)]


def write_state(
    ctx: RunContext,
    engine: Engine,
    loaded: list[LoadedSource],
    rules: list[BlockingRule],
    tf_fields: list[str],
    max_block_size: int,
    threshold: float,
) -> tuple[pa.Table, pa.Table, Neighbourhood | None]:
    """For a write, after its records are standardised: the stored records to work with (its
    neighbourhood, or every one), the term frequencies of the values it wrote, and the
    neighbourhood; each written source's rows are numbered (`set_seen`)."""
    assert ctx.writes is not None and ctx.last is not None
    store = ctx.store
    fields = sorted({f for r in rules for f in r.fields} | set(tf_fields))
    fresh, fresh_keys = fresh_records(engine, loaded, fields)
    gone = [(name, i) for name, w in ctx.writes.items() for i in w.deleted]
    hood = None
    if ctx.neighbourhood is not None:
        if decisions_print(store) != ctx.last.metrics.get("decisions"):
            # They take effect wherever their records are: only a run over the store applies them.
            raise Widen("steward decisions were made since the last run")
        hood = gather(ctx.neighbourhood, rules, max_block_size, threshold, fresh,
                      [*fresh_keys, *gone], sorted(ctx.writes))  # fmt: skip
        previous = hood.records
    else:
        stored = store.match_records()
        assert stored is not None
        previous = stored
    for s in loaded:
        name = s.spec.name
        write = ctx.writes[name]
        if hood is not None:
            last_row = hood.max_row[name]
        else:
            mine = pc.filter(previous.column("_row"), pc.equal(previous.column("source"), name))
            last_row = -1 if len(mine) == 0 else int(pc.max(mine).as_py())
        ids, rows = seen_after_write(previous, name, write,
                                     [i for n, i in fresh_keys if n == name], last_row)  # fmt: skip
        engine.set_seen(s.table, ids, rows)
    return previous, frozen_tf(store, fresh, tf_fields), hood


def engine_for(writes: Mapping[str, Any] | None) -> Engine:
    """A write's run is small: one thread, leaving the other cores to the requests a service
    answers meanwhile."""
    return create_engine() if writes is None else create_engine(threads=1)


def broken_promises(
    reserved: Mapping[tuple[str, str], str], customer_of: Mapping[tuple[str, str], str]
) -> list[Redirect]:
    """An ID a write's answer promised but this run did not issue (its record ended in another
    customer) still resolves: to that customer, as a merge."""
    issued = set(customer_of.values())
    out: dict[str, Redirect] = {}
    for key, promised in sorted(reserved.items()):
        if promised not in issued and promised not in out and key in customer_of:
            out[promised] = Redirect(promised, customer_of[key], "merge")
    return list(out.values())
