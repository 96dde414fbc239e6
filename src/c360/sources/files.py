"""File sources: CSV, Parquet and JSON Lines, read through the engine with a quarantine.

Counts balance: every row of a file is either a record or a quarantined row with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from c360.engines.base import Engine
from c360.errors import SourceError

__all__ = ["LoadedSource", "QuarantinedRow", "SourceFile", "load_source"]

_FORMATS = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".psv": "csv",
    ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
}  # fmt: skip


@dataclass(frozen=True)
class SourceFile:
    path: Path
    name: str
    fmt: str

    @classmethod
    def from_path(cls, path: Path) -> SourceFile:
        fmt = _FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise SourceError(
                f"{path}: unknown file type {path.suffix!r}",
                hint="use .csv, .tsv, .parquet or .jsonl files",
            )
        return cls(path=path, name=path.stem, fmt=fmt)


@dataclass(frozen=True)
class QuarantinedRow:
    source: str
    line: int | None
    row: int | None
    reason: str
    raw: str = ""


@dataclass(frozen=True)
class LoadedSource:
    file: SourceFile
    table: str
    columns: list[str]
    rows_read: int
    encoding: str
    quarantined: list[QuarantinedRow] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.rows_read - sum(1 for q in self.quarantined if q.row is not None)

    @property
    def total(self) -> int:
        """Rows in the file: accepted plus every quarantined row."""
        return self.accepted + len(self.quarantined)


def load_source(
    engine: Engine, file: SourceFile, index: int, id_column: str | None
) -> LoadedSource:
    table = f"src_{index}"
    report = engine.read_file(file.path, table, file.fmt)
    if id_column is not None and id_column not in report.columns:
        raise SourceError(
            f"{file.path}: no id column {id_column!r}; columns are: {', '.join(report.columns)}",
            hint="pass --id-column with one of these names",
        )
    quarantined = [
        QuarantinedRow(file.name, line=r.line, row=None, reason=r.reason, raw=r.raw)
        for r in report.rejected
    ]
    if id_column is not None:
        quarantined += [
            QuarantinedRow(file.name, line=None, row=row, reason=reason)
            for row, reason in engine.quarantine_ids(table, id_column)
        ]
    loaded = LoadedSource(
        file=file,
        table=table,
        columns=report.columns,
        rows_read=report.rows,
        encoding=report.encoding,
        quarantined=quarantined,
    )
    if loaded.accepted == 0:
        raise SourceError(
            f"{file.path}: none of its {loaded.total} rows could be used",
            hint=(quarantined[0].reason if quarantined else "check the file"),
        )
    return loaded
