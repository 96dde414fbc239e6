"""Publishing makes each replaced table equal to the run's, touching only rows that differ."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow as pa

from c360.store import DuckDBStore, RunRecord
from c360.store.schema import SCHEMA_COLUMNS

Link = tuple[str, str, str, str | None]


def _empty(name: str) -> pa.Table:
    return pa.table({c: pa.array([], pa.string()) for c in SCHEMA_COLUMNS[name]})


def _publish(store: DuckDBStore, run_id: str, links: list[Link]) -> None:
    tables = {
        name: _empty(name)
        for name in (
            "records", "customers", "golden", "contact_points", "pairs", "events",
            "term_frequencies",
        )
    }  # fmt: skip
    tables["match_records"] = pa.table({"source": pa.array([], pa.string())})
    tables["links"] = pa.table(
        {c: [row[i] for row in links] for i, c in enumerate(SCHEMA_COLUMNS["links"])}
    )
    at = datetime(2026, 1, 1)
    run = RunRecord(run_id, at, at, "full", "fingerprint", "", {})
    store.publish(run, tables, _empty("redirects"), _empty("quarantine"))


def test_second_publish_leaves_exactly_the_new_rows(tmp_path: Path) -> None:
    first: list[Link] = [
        ("crm", "1", "C-A", None),
        ("crm", "2", "C-A", "x"),
        ("shop", "9", "C-B", None),
    ]
    second: list[Link] = [
        ("crm", "1", "C-A", None),
        ("crm", "2", "C-B", "x"),
        ("web", "5", "C-C", "e"),
    ]
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        _publish(store, "R1", first)
        _publish(store, "R2", second)
        rows = store.query("SELECT * FROM links ORDER BY source, record_id")
        runs = store.query("SELECT count(*) AS n FROM runs")[0]["n"]
    assert [tuple(r.values()) for r in rows] == sorted(second)
    assert runs == 2
