"""The DuckDB engine: in-process, the default."""
