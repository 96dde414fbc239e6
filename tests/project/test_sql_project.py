"""A project whose people source is a table in PostgreSQL or MariaDB (real servers)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from c360.progress import SilentReporter
from c360.project.run import run_project
from c360.store import DuckDBStore
from tests.conftest import write_csv
from tests.sources.test_sql import backend, customers, database, unreachable  # noqa: F401

PROJECT = """\
project: sql
people:
  - name: erp
    sql: {{url: "{url}", table: customers}}
    id: id
    updated_at: updated_at
    fields: {{name: full_name, balance: ignore, visits: ignore, active: ignore, born: birth_date}}
  - name: web
    file: web.csv
    id: web_id
matching:
  rules:
    - name: same name and birth date
      all: [{{field: given_name}}, {{field: family_name}}, {{field: birth_date}}]
"""


def test_people_from_a_sql_table_link_with_a_file_source(customers: str, tmp_path: Path) -> None:  # noqa: F811
    url = sa.make_url(customers).render_as_string(hide_password=False)
    (tmp_path / "c360.yaml").write_text(PROJECT.format(url=url), encoding="utf-8")
    write_csv(
        tmp_path / "web.csv",
        ["web_id", "first_name", "last_name", "birth_date"],
        [["w1", "Maria", "Garcia", "1975-11-02"], ["w2", "Zoe", "Unal-Li", "1980-03-14"]],
    )
    summary = run_project(tmp_path, SilentReporter())
    counts = {s.name: (s.rows, s.used, s.quarantined) for s in summary.sources}
    assert counts["web"] == (2, 2, 0)
    with DuckDBStore(tmp_path / "c360.duckdb", read_only=True) as store:
        links = {
            (r["source"], r["record_id"]): r["customer_id"]
            for r in store.query("SELECT source, record_id, customer_id FROM links")
        }
        reasons = [r["reason"] for r in store.query("SELECT reason FROM quarantine")]
        raw = store.query("SELECT raw FROM records WHERE source = 'erp' AND record_id = 'C1'")
    assert set(links) >= {("erp", "C1"), ("erp", "C2"), ("erp", "C3"), ("web", "w1")}
    assert links[("erp", "C3")] == links[("web", "w1")]
    assert any("id" in r for r in reasons)  # the row with a NULL id, with its reason
    assert "Zoë" in raw[0]["raw"]  # the raw row is kept as the database had it
