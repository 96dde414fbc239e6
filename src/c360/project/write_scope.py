"""What an incremental run does differently for a real-time write (`RunContext.writes`).

A write names its records: the run reads nothing else, numbers a new record after the
source's last one (stored records keep their `_row`, so nothing else is rewritten), looks up
only the term frequencies of the values written, and — given a `NeighbourhoodSource` — brings
back only the write's neighbourhood instead of the whole store (see `neighbourhood`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from c360.engines.base import Engine, GoldenField
from c360.project.neighbourhood import Key, Neighbourhood, NeighbourhoodSource, sharing_after
from c360.project.state import SourceWrite
from c360.sources.files import LoadedSource
from c360.store import Store

__all__ = ["fresh_records", "frozen_tf", "seen_after_write", "shared_values"]


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
