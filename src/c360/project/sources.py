"""People and event sources of a project, as the pipeline reads them."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from c360.errors import SourceError
from c360.project.config import EventSource, PeopleSource
from c360.sources.files import SourceSpec

__all__ = ["people_spec", "read_sql_rows"]


def read_sql_rows(
    source: PeopleSource | EventSource, id_column: str
) -> tuple[pa.Table, str, list[tuple[int, str]]]:
    from c360.sources.sql import read_sql

    assert source.sql is not None
    read = read_sql(
        source.sql, source=source.name, id_column=id_column, updated_at=source.updated_at
    )
    where = f"{source.name} ({source.sql.table or 'query'})"
    return read.table, where, read.quarantined


def people_spec(root: Path, source: PeopleSource) -> tuple[SourceSpec, list[tuple[int, str]]]:
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
        return SourceSpec(**{**spec.__dict__, "fields_must_exist": True}), []
    rows, where, quarantined = read_sql_rows(source, source.id)
    spec = SourceSpec(
        name=source.name, rows=rows, where=where, id_column=source.id,
        fields=source.fields, updated_at=source.updated_at, fields_must_exist=True,
    )  # fmt: skip
    return spec, quarantined
