"""What erasing a person asks of the store: statements in one transaction, additions to the
suppression list, and a rewrite of the file that leaves no deleted bytes behind."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb

from c360.store.base import Store
from c360.store.duckdb_store import now

__all__ = ["ErasingMethods", "rewrite_store"]


class ErasingMethods:
    """Erasure's statements, on an open store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        self.store.query("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.store.query("ROLLBACK")
            raise
        self.store.query("COMMIT")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.store.query(sql, params)

    def suppress(self, keys: Sequence[str]) -> None:
        for key in keys:
            self.store.query("INSERT INTO suppressed VALUES (?, ?)", [key, now()])


def rewrite_store(path: Path) -> None:
    """Copy the store into a new file and put it in the old one's place: DuckDB leaves the
    blocks of deleted rows in the file until it reuses them, a fresh copy holds none. The
    store must be closed; the copy is complete before it replaces anything."""
    fresh = path.with_name(f"{path.name}.erasing")
    fresh.unlink(missing_ok=True)
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {_literal(path)} AS old (READ_ONLY)")  # ATTACH takes no parameters
        con.execute(f"ATTACH {_literal(fresh)} AS new")
        con.execute("COPY FROM DATABASE old TO new")
        con.execute("DETACH new")
        con.execute("DETACH old")
    finally:
        con.close()
    os.replace(fresh, path)
    Path(f"{path}.wal").unlink(missing_ok=True)


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"
