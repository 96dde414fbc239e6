"""File sources: CSV, Parquet and JSON Lines, read through the engine with a quarantine.

Counts balance: every row of a file is either a record or a quarantined row with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from c360.engines.base import Engine
from c360.errors import SourceError
from c360.model import FieldKind

__all__ = ["LoadedSource", "QuarantinedRow", "SourceSpec", "format_of", "load_source"]

_FORMATS = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".psv": "csv",
    ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
}  # fmt: skip


def format_of(path: Path) -> str:
    """The reader for a file, from its extension."""
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise SourceError(
            f"{path}: unknown file type {path.suffix!r}",
            hint="use .csv, .tsv, .parquet or .jsonl files",
        )
    return fmt


@dataclass(frozen=True)
class SourceSpec:
    """One source of people records: a file, or rows already read (e.g. from SQL).

    `fields` maps columns to fields where detection should not decide; `updated_at` names the
    column with each row's last change, if the system has one.
    """

    name: str
    path: Path | None = None
    rows: pa.Table | None = None
    where: str = ""
    id_column: str | None = None
    fields: Mapping[str, FieldKind] = field(default_factory=dict)
    updated_at: str | None = None
    # A project source names its own columns, so a missing one was renamed or dropped; the
    # inputs of one `c360 link` share one mapping, which need not fit each file.
    fields_must_exist: bool = False
    # Only the rows changed since the last read (a watermark read, a write through the API):
    # none at all is a valid answer.
    partial: bool = False
    # Records of erased people, as keyed hashes of source and id (`c360.governance.suppression`),
    # dropped as they are read, and the key.
    suppressed: frozenset[str] = frozenset()
    secret: str = ""

    @classmethod
    def from_path(
        cls,
        path: Path,
        *,
        id_column: str | None = None,
        fields: Mapping[str, FieldKind] | None = None,
        name: str | None = None,
        updated_at: str | None = None,
    ) -> SourceSpec:
        format_of(path)  # fail early on an unknown file type
        return cls(
            name=name or path.stem,
            path=path,
            where=str(path),
            id_column=id_column,
            fields=dict(fields or {}),
            updated_at=updated_at,
        )


@dataclass(frozen=True)
class QuarantinedRow:
    source: str
    line: int | None
    row: int | None
    reason: str
    raw: str = ""


@dataclass(frozen=True)
class LoadedSource:
    spec: SourceSpec
    table: str
    columns: list[str]
    rows_read: int
    encoding: str
    quarantined: list[QuarantinedRow] = field(default_factory=list)
    suppressed: int = 0  # rows of erased people, dropped unread

    @property
    def accepted(self) -> int:
        return (
            self.rows_read - sum(1 for q in self.quarantined if q.row is not None) - self.suppressed
        )

    @property
    def total(self) -> int:
        """Rows in the file: accepted, every quarantined row, and suppressed ones."""
        return self.accepted + len(self.quarantined) + self.suppressed


def load_source(engine: Engine, spec: SourceSpec, index: int) -> LoadedSource:
    """Read one source into the engine as `src_<index>`, quarantining rows it cannot use."""
    table = f"src_{index}"
    if spec.rows is not None:
        report = engine.load_arrow(spec.rows, table, spec.where or spec.name)
    elif spec.path is not None:
        report = engine.read_file(spec.path, table, format_of(spec.path))
    else:
        raise SourceError(f"source {spec.name!r}: nothing to read (no file and no rows)")
    where = spec.where or spec.name
    for role, column in (("id", spec.id_column), ("updated_at", spec.updated_at)):
        if column is not None and column not in report.columns:
            raise SourceError(
                f"{where}: no {role} column {column!r}; columns are: {', '.join(report.columns)}",
                hint="name one of these columns" + (" with --id-column" if role == "id" else ""),
            )
    unknown = sorted(set(spec.fields) - set(report.columns))
    if spec.fields_must_exist and unknown:
        raise SourceError(
            f"{where}: column {unknown[0]!r} from the config is not in the source",
            hint=f"was it renamed? columns are: {', '.join(report.columns)}",
        )
    quarantined = [
        QuarantinedRow(spec.name, line=r.line, row=None, reason=r.reason, raw=r.raw)
        for r in report.rejected
    ]
    if spec.id_column is not None:
        quarantined += [
            QuarantinedRow(spec.name, line=None, row=row, reason=reason)
            for row, reason in engine.quarantine_ids(table, spec.id_column)
        ]
    suppressed = 0
    if spec.suppressed and spec.id_column is not None:
        suppressed = engine.suppress(table, spec.id_column, spec.name, spec.suppressed,
                                     spec.secret)  # fmt: skip
    loaded = LoadedSource(
        spec=spec,
        table=table,
        columns=report.columns,
        rows_read=report.rows,
        encoding=report.encoding,
        quarantined=quarantined,
        suppressed=suppressed,
    )
    if loaded.accepted == 0 and not (spec.partial and loaded.total == 0):
        raise SourceError(
            f"{where}: none of its {loaded.total} rows could be used",
            hint=(quarantined[0].reason if quarantined else "check the source"),
        )
    return loaded
