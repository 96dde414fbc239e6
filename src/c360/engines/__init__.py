"""Engines: where batch work runs. Only this package and `store` import database drivers."""

from c360.engines.base import Engine, EngineCapabilities

__all__ = ["Engine", "EngineCapabilities", "create_engine"]


def create_engine(name: str = "duckdb", **options: object) -> Engine:
    """The engine called `name`; optional engines are imported only when asked for."""
    if name == "duckdb":
        from c360.engines.duckdb.engine import DuckDBEngine

        return DuckDBEngine(**options)  # type: ignore[arg-type]
    from c360.errors import EngineError

    raise EngineError(f"unknown engine {name!r}", hint="the available engine is 'duckdb'")
