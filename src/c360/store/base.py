"""The store interface: what the project layer asks of wherever the published state lives.

The embedded DuckDB file (`DuckDBStore`) is the default; a PostgreSQL store for servers that
several processes share implements the same protocol. Values cross as Arrow tables and the
dataclasses below; `query` takes SQL that both databases run (plain SELECTs with `?`
parameters). Every write is one transaction: `publish` (a full run's state),
`publish_changes` (an incremental run's), `add_decision`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import pyarrow as pa

__all__ = ["Decision", "RunRecord", "Store"]


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    started_at: datetime
    finished_at: datetime
    kind: str  # "full" | "incremental"
    fingerprint: str
    model: str
    metrics: Mapping[str, Any]


@dataclass(frozen=True)
class Decision:
    left: tuple[str, str]
    right: tuple[str, str]
    decision: str  # "link" | "unlink"
    at: datetime
    note: str = ""


class Store(Protocol):
    def close(self) -> None: ...
    def __enter__(self) -> Store: ...
    def __exit__(self, *exc: object) -> None: ...

    # reading
    def table(self, name: str, where: str = "", params: Sequence[Any] = ()) -> pa.Table: ...
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...
    def matching(
        self, name: str, keys: pa.Table, where: str = "", columns: str = "t.*"
    ) -> pa.Table: ...
    def last_run(self) -> RunRecord | None: ...
    def decisions(self) -> list[Decision]: ...
    def resolve_id(self, customer_id: str) -> tuple[list[str], list[dict[str, Any]]]: ...
    def customer_count(self) -> int: ...
    def counts(self) -> tuple[int, int]: ...
    def source_counts(self) -> dict[tuple[str, str], int]: ...
    def changes(self, since: int, limit: int) -> list[dict[str, Any]]: ...
    def last_change(self) -> int: ...

    # what an incremental run starts from
    def has_match_records(self) -> bool: ...
    def match_records(self) -> pa.Table | None: ...
    def known_records(
        self, sources: Sequence[str], only: Mapping[str, Sequence[str]] | None = None
    ) -> dict[str, pa.Table]: ...

    # writing
    def add_decision(self, decision: Decision) -> None: ...
    def publish(
        self,
        run: RunRecord,
        tables: Mapping[str, pa.Table],
        redirects: pa.Table,
        quarantine: pa.Table,
        pause: Any = None,
    ) -> None: ...
    def add_events(self, events: pa.Table, quarantine: pa.Table) -> None: ...
    def publish_changes(
        self,
        run: RunRecord,
        deletes: Sequence[tuple[str, pa.Table]],
        inserts: Mapping[str, pa.Table],
        redirects: pa.Table,
        quarantine: pa.Table,
        pause: Any = None,
        checkpoint: bool = True,
    ) -> None: ...
