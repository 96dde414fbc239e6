"""People and event sources of a project, as the pipeline reads them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from c360.errors import SourceError
from c360.project.config import EventSource, PeopleSource
from c360.sources.files import SourceSpec

__all__ = ["PeopleRead", "people_spec", "read_sql_rows", "source_ids"]


@dataclass(frozen=True)
class PeopleRead:
    spec: SourceSpec
    quarantined: list[tuple[int, str]]  # SQL rows that could not be read: (row, reason)
    watermark: str | None = None  # SQL sources with `updated_at`: the newest one read


def read_sql_rows(
    source: PeopleSource | EventSource, id_column: str, since: str | None = None
) -> tuple[pa.Table, str, list[tuple[int, str]], str | None]:
    from c360.sources.sql import read_sql

    assert source.sql is not None
    read = read_sql(
        source.sql, source=source.name, id_column=id_column, updated_at=source.updated_at,
        since=since,
    )  # fmt: skip
    where = f"{source.name} ({source.sql.table or 'query'})"
    return read.table, where, read.quarantined, read.watermark


def source_ids(source: PeopleSource) -> list[str | None]:
    """Every id an SQL source holds now, in the order a full read returns its rows."""
    from c360.sources.sql import read_ids

    assert source.sql is not None
    return read_ids(source.sql, source=source.name, id_column=source.id)


def people_spec(root: Path, source: PeopleSource, since: str | None = None) -> PeopleRead:
    """How to read a people source; an SQL source is read here (`since`: only rows updated
    after this watermark)."""
    if source.file is not None:
        path = root / source.file
        if not path.exists():
            raise SourceError(
                f"source {source.name!r}: file {path} not found",
                hint="restore the file, or fix `file:` in c360.yaml (the last published state is untouched)",
            )
        spec = SourceSpec.from_path(
            path, id_column=source.id, fields=source.fields, name=source.name,
            updated_at=source.updated_at,
        )  # fmt: skip
        return PeopleRead(SourceSpec(**{**spec.__dict__, "fields_must_exist": True}), [])
    rows, where, quarantined, watermark = read_sql_rows(source, source.id, since)
    spec = SourceSpec(
        name=source.name, rows=rows, where=where, id_column=source.id,
        fields=source.fields, updated_at=source.updated_at, fields_must_exist=True,
        partial=since is not None,
    )  # fmt: skip
    return PeopleRead(spec, quarantined, watermark if watermark is not None else since)
