"""A rerun after changes ends in the same customers as a from-scratch run with the same model.

Today every run recomputes what changed and what did not (it reuses the model and the cache of
standardised values); this test pins the invariant for when reruns do less.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from c360.progress import SilentReporter
from c360.project.run import run_project
from tests.project.conftest import CRM, SHOP, write_project


def _partition(root: Path) -> set[frozenset[tuple[str, str]]]:
    con = duckdb.connect(str(root / "c360.duckdb"), read_only=True)
    rows = con.execute("SELECT source, record_id, customer_id FROM links").fetchall()
    con.close()
    groups: dict[str, set[tuple[str, str]]] = {}
    for source, record_id, customer in rows:
        groups.setdefault(customer, set()).add((source, record_id))
    return {frozenset(g) for g in groups.values()}


def test_rerun_after_changes_equals_a_fresh_run_with_the_same_model(tmp_path: Path) -> None:
    rerun = write_project(tmp_path / "rerun")
    run_project(rerun, SilentReporter())
    fresh = tmp_path / "fresh"
    shutil.copytree(rerun, fresh)
    # The fresh project keeps only the model: no customers, links or cached values.
    con = duckdb.connect(str(fresh / "c360.duckdb"))
    for table in ("links", "customers", "records", "golden", "contact_points", "redirects"):
        con.execute(f"DELETE FROM {table}")
    con.close()
    shutil.rmtree(fresh / ".c360-cache")

    crm = [
        *CRM[:3],
        ["c4", "Aisha", "Khan", "emily.davis@home.us", "206 555 0199", "5 Lake Dr", "2025-06-01"],
    ]
    shop = [*SHOP, ["s10", "Carlos Lopez", "c.lopez@mail.com", "1970-12-25", "2025-04-01"]]
    for root in (rerun, fresh):
        write_project(root, crm=crm, shop=shop)  # c5 deleted, c4 changed, s10 new
        summary = run_project(root, SilentReporter())
        assert summary.model_reused
    assert _partition(rerun) == _partition(fresh)
