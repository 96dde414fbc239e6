"""Reading query results: the two ways the engine's modules take rows out of DuckDB."""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

__all__ = ["arrow", "first_row"]


def arrow(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> pa.Table:
    """A query's whole result as an Arrow table."""
    return con.sql(sql, params=params).to_arrow_table()


def first_row(result: duckdb.DuckDBPyConnection) -> Any:
    """The first row of an executed statement, consuming it: a half-read result blocks the
    connection for the next statement."""
    rows = result.fetchall()
    return rows[0] if rows else None
