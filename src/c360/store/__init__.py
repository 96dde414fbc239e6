"""The store: records, identity graph, golden records, events, runs. Only this package and
`engines` import database drivers."""

from c360.store.base import Decision, RunRecord, Store
from c360.store.duckdb_store import DuckDBStore

__all__ = ["Decision", "DuckDBStore", "RunRecord", "Store"]
