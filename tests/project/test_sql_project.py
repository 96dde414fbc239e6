"""A project whose people source is a table in PostgreSQL or MariaDB (real servers)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import sqlalchemy as sa

from c360.progress import SilentReporter
from c360.project.run import run_project
from c360.store import DuckDBStore
from tests.conftest import write_csv
from tests.sources.test_sql import (  # noqa: F401
    CUSTOMERS,
    backend,
    customers,
    database,
    unreachable,
)

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


def _links(root: Path) -> dict[tuple[str, str], str]:
    with DuckDBStore(root / "c360.duckdb", read_only=True) as store:
        return {
            (r["source"], r["record_id"]): r["customer_id"]
            for r in store.query("SELECT source, record_id, customer_id FROM links")
        }


def _partition(links: dict[tuple[str, str], str]) -> set[frozenset[tuple[str, str]]]:
    groups: dict[str, set[tuple[str, str]]] = {}
    for key, customer in links.items():
        groups.setdefault(customer, set()).add(key)
    return {frozenset(g) for g in groups.values()}


def test_a_sql_source_is_read_by_watermark_and_ends_as_a_full_read(
    customers: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    url = sa.make_url(customers).render_as_string(hide_password=False)
    root = tmp_path / "project"
    root.mkdir()
    (root / "c360.yaml").write_text(PROJECT.format(url=url), encoding="utf-8")
    write_csv(
        root / "web.csv",
        ["web_id", "first_name", "last_name", "birth_date"],
        [["w1", "Maria", "Garcia", "1975-11-02"], ["w2", "Robert", "Johnson", "1962-09-09"]],
    )
    run_project(root, SilentReporter())
    assert ("erp", "C2") in _links(root)

    engine = sa.create_engine(customers)
    with engine.begin() as conn:
        # C2 gains the birth date that links him to w2; C3 is deleted; C4 is new.
        conn.execute(
            CUSTOMERS.update()
            .where(CUSTOMERS.c.id == "C2")
            .values(born=dt.date(1962, 9, 9), updated_at=dt.datetime(2024, 5, 1, 12, 0))
        )
        conn.execute(CUSTOMERS.delete().where(CUSTOMERS.c.id == "C3"))
        conn.execute(
            CUSTOMERS.insert().values(
                id="C4", name="Wei Chen", born=dt.date(1990, 7, 21),
                updated_at=dt.datetime(2024, 5, 2, 9, 0),
            )
        )  # fmt: skip
    engine.dispose()

    summary = run_project(root, SilentReporter())
    assert summary.kind == "incremental"
    erp = next(s for s in summary.sources if s.name == "erp")
    assert erp.rows == 2  # only the rows updated since the last run were read
    links = _links(root)
    assert ("erp", "C3") not in links and ("erp", "C4") in links
    assert links[("erp", "C2")] == links[("web", "w2")]

    full = tmp_path / "full"
    shutil.copytree(root, full)
    assert run_project(full, SilentReporter(), full=True).kind == "full"
    assert _partition(_links(full)) == _partition(links)
