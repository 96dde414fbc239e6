"""Reading source files into DuckDB tables: CSV (sniffed), Parquet, JSON Lines.

Every value is read as text, trimmed, and '' becomes null: standardisation decides what a value
means, not the reader. A CSV row DuckDB cannot parse (too many or too few fields) is not dropped:
it comes back as a `RejectedRow` with its line number, for the quarantine.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from c360.engines.base import ReadReport, RejectedRow
from c360.engines.duckdb.render import quote
from c360.engines.duckdb.results import first_row
from c360.errors import SourceError

__all__ = ["checked_columns", "load_rows", "read_file"]


def _read_csv(con: duckdb.DuckDBPyConnection, path: Path, view: str, encoding: str) -> str:
    """Register the CSV as `view`; return the rejects table name."""
    rejects, scans = f"{view}__rejects", f"{view}__scans"
    con.execute(f"DROP TABLE IF EXISTS {quote(rejects)}")
    con.execute(f"DROP TABLE IF EXISTS {quote(scans)}")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {quote(view)} AS SELECT * FROM read_csv(?, all_varchar = true,"
        " store_rejects = true, rejects_table = ?, rejects_scan = ?, encoding = ?)",
        [str(path), rejects, scans, encoding],
    )
    return rejects


def _rejected(con: duckdb.DuckDBPyConnection, rejects: str) -> list[tuple[int, str, str, str]]:
    rows = con.execute(
        f"SELECT line, error_type, error_message, csv_line FROM {quote(rejects)} ORDER BY line"
    ).fetchall()
    return [(int(r[0]), str(r[1]), str(r[2]), str(r[3] or "")) for r in rows]


def read_file(con: duckdb.DuckDBPyConnection, path: Path, table: str, fmt: str) -> ReadReport:
    """Load `path` into `table` with a `_row` ordinal (1-based data row) and trimmed text columns."""
    if not path.exists():
        raise SourceError(f"{path}: file not found", hint="check the path and the working folder")
    if path.is_dir():
        raise SourceError(f"{path}: is a folder, expected a file")
    if path.stat().st_size == 0:
        raise SourceError(
            f"{path}: file is empty", hint="export the source again with a header row"
        )
    view = f"{table}__read"
    encoding = "utf-8"
    rejected: list[RejectedRow] = []
    try:
        if fmt == "csv":
            rejects = _read_csv(con, path, view, encoding)
            errors = _rejected(con, rejects)
            if any(e[1] == "INVALID ENCODING" for e in errors):
                # Not UTF-8: Latin-1 decodes every byte, so it is the safe, announced fallback.
                encoding = "latin-1"
                rejects = _read_csv(con, path, view, encoding)
                errors = _rejected(con, rejects)
            rejected = [
                RejectedRow(line=line, reason=f"{kind.lower()}: {message}", raw=raw)
                for line, kind, message, raw in errors
            ]
        elif fmt == "parquet":
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {quote(view)} AS SELECT * FROM read_parquet(?)",
                [str(path)],
            )
        elif fmt == "jsonl":
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {quote(view)} AS SELECT * FROM"
                " read_json(?, format = 'newline_delimited')",
                [str(path)],
            )
        else:
            raise SourceError(
                f"{path}: unsupported format {fmt!r}", hint="use csv, parquet or jsonl"
            )
    except duckdb.Error as e:
        first_line = str(e).strip().splitlines()[0]
        raise SourceError(
            f"{path}: cannot read as {fmt}: {first_line}",
            hint="check the file's format, or convert it to CSV, Parquet or JSON Lines",
        ) from None

    rows = _to_text_table(con, view, table, str(path))
    if rows == 0 and not rejected:
        raise SourceError(f"{path}: no data rows (only a header?)", hint="check the export")
    return ReadReport(
        table=table,
        path=path,
        columns=_columns(con, table),
        rows=rows,
        encoding=encoding,
        rejected=rejected,
    )


def load_rows(con: duckdb.DuckDBPyConnection, rows: pa.Table, table: str, where: str) -> ReadReport:
    """Load rows read elsewhere (a SQL source) exactly as a file's rows are loaded."""
    view = f"{table}__arrow"
    con.register(view, rows)
    try:
        n = _to_text_table(con, view, table, where, drop=False)
    finally:
        con.unregister(view)
    return ReadReport(
        table=table, path=Path(where), columns=_columns(con, table), rows=n, encoding="utf-8"
    )


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [str(r[0]) for r in con.execute(f"DESCRIBE {quote(table)}").fetchall()][1:]


def checked_columns(raw_columns: list[str], where: str) -> list[str]:
    """Column names as c360 keeps them (stripped), or a `SourceError` naming the bad one."""
    columns = [c.strip() for c in raw_columns]
    seen: dict[str, int] = {}
    for i, c in enumerate(columns):
        if not c:
            raise SourceError(
                f"{where}: column {i + 1} has an empty header", hint="name every column"
            )
        if c in seen:
            raise SourceError(
                f"{where}: column name {c!r} appears twice (columns {seen[c] + 1} and {i + 1})",
                hint="rename one of them",
            )
        seen[c] = i
        if c.startswith("_"):
            raise SourceError(
                f"{where}: column {c!r}: names starting with '_' are reserved for c360",
                hint="rename the column, or map it with a config file",
            )
    return columns


def _to_text_table(
    con: duckdb.DuckDBPyConnection, view: str, table: str, where: str, *, drop: bool = True
) -> int:
    """`view` → `table`: names stripped and checked, values as trimmed text, '' as null."""
    described = con.execute(f"DESCRIBE {quote(view)}").fetchall()
    raw_columns = [str(r[0]) for r in described]
    columns = checked_columns(raw_columns, where)
    selects = ", ".join(
        f"nullif(trim(CAST({quote(raw)} AS VARCHAR)), '') AS {quote(name)}"
        for raw, name in zip(raw_columns, columns, strict=True)
    )
    con.execute(
        f"CREATE OR REPLACE TABLE {quote(table)} AS"
        f" SELECT (row_number() OVER ())::BIGINT AS _row, {selects} FROM {quote(view)}"
    )
    if drop:
        con.execute(f"DROP TABLE {quote(view)}")
    (rows,) = first_row(con.execute(f"SELECT count(*) FROM {quote(table)}")) or (0,)
    return int(str(rows))
