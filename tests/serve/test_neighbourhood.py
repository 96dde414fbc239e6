"""Writes resolved over their neighbourhood end exactly where writes run over the whole store
do, and the match index stays what a fresh build of it would be."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from c360.demo import generate_company
from c360.progress import SilentReporter
from c360.project.run import run_project
from c360.serve.match_index import MATCH_INDEX_FILE, match_index_of
from c360.serve.service import Service
from c360.store import DuckDBStore
from c360.store.base import Decision
from tests.serve.test_write_api import _people_rows

# A small cap, so that a few writes sharing an email make its key hot.
CAP = 3
SHARED = "front.desk@example.net"


def _writes(root: Path) -> list[tuple[str, str, str, dict[str, str] | None]]:
    """(kind, source, id, row): updates, duplicates of known people, deletes, an unchanged
    write, and writes that make one email's blocking key cross the cap, and cross it back."""
    rows = [r for r in _people_rows(root) if r[0] == "crm"]
    out: list[tuple[str, str, str, dict[str, str] | None]] = []
    for k, (source, record_id, row) in enumerate(rows[:4]):
        out.append(("put", source, record_id, row | {"email": f"moved{k}@example.net"}))
    for k, (source, _, row) in enumerate(rows[4:7]):
        out.append(("put", source, f"dup-{k}", row | {"phone": "", "contact_id": f"dup-{k}"}))
    for source, record_id, _ in rows[7:9]:
        out.append(("delete", source, record_id, None))
    source, record_id, row = rows[9]
    out.append(("put", source, record_id, row))
    # Two records of one person that only their email brings together ...
    out.append(("put", "crm", "pair-a", {"first_name": "Annabel", "last_name": "Quist",
                                         "email": SHARED}))  # fmt: skip
    out.append(("put", "crm", "pair-b", {"first_name": "Annabelle", "last_name": "Quiste",
                                         "email": SHARED}))  # fmt: skip
    # ... until two more make the key hot (four holders, the cap at three): they part.
    for k, name in enumerate(["Bo", "Cy", "Di"]):
        out.append(("put", "crm", f"shared-{k}", {"first_name": name, "last_name": f"Q{k}",
                                                  "email": SHARED}))  # fmt: skip
    # Back under the cap: the key selects its holders' pairs again, and they meet again.
    out += [("delete", "crm", "shared-2", None), ("delete", "crm", "shared-1", None)]
    return out


def _project(root: Path) -> Path:
    generate_company(root, people=40, seed=11)
    config = (root / "c360.yaml").read_text()
    (root / "c360.yaml").write_text(config.replace("max_block_size: 50", f"max_block_size: {CAP}"))
    run_project(root, SilentReporter())
    return root


def _counted(service: Service, counter: str, label: str) -> dict[str, float]:
    """A labelled counter's values, once every answered write is published."""
    service.writer.drain()
    return {
        s.labels[label]: s.value
        for m in getattr(service.metrics, counter).collect()
        for s in m.samples
        if s.name.endswith("_total")
    }


def _scopes(service: Service) -> dict[str, float]:
    """How many runs published writes in each scope (neighbourhood, store)."""
    return _counted(service, "writes", "scope")


def _apply(root: Path, scoped: bool) -> dict[str, Any]:
    """Every write of `_writes`; how many were answered by each path, how many records'
    customers the publish revised, and, after each write from pair-b's on, whether pair-a and
    pair-b are one customer once it is published."""
    service = Service(root)
    try:
        if not scoped:
            service.match_index = None
        writer = service.writer
        together: list[bool] = []
        for kind, source, record_id, row in _writes(root):
            if kind == "put":
                assert row is not None
                writer.upsert(source, {record_id: row})
            else:
                writer.delete(source, record_id)
            if together or record_id == "pair-b":
                writer.drain()
                now = writer._customers_of("crm", ["pair-a", "pair-b"])
                together.append(now["pair-a"] == now["pair-b"])
        counts: dict[str, Any] = _counted(service, "answers", "path")
        counts["revised"] = service.metrics.revised._value.get()
        counts["together"] = together
        counts["scopes"] = _scopes(service)
        return counts
    finally:
        service.close()


def _state(root: Path) -> dict[str, Any]:
    """The published state, with customers named by their records (new IDs are random)."""
    con = duckdb.connect(str(root / "c360.duckdb"), read_only=True)
    try:
        links = con.execute("SELECT source, record_id, customer_id FROM links").fetchall()
        members: dict[str, set[tuple[str, str]]] = {}
        for s, r, c in links:
            members.setdefault(c, set()).add((s, r))
        name = {c: frozenset(m) for c, m in members.items()}
        golden = {(name[c], f, v, s, r) for c, f, v, s, r in con.execute(
            "SELECT customer_id, field, value, source, record_id FROM golden").fetchall()}  # fmt: skip
        points = {(name[c], k, v, p) for c, k, v, p in con.execute(
            "SELECT customer_id, kind, value, preferred FROM contact_points").fetchall()}  # fmt: skip
        pairs = {(sl, il, sr, ir, round(w, 9), rule, conflict) for sl, il, sr, ir, w, rule, conflict
                 in con.execute("SELECT source_l, record_id_l, source_r, record_id_r,"
                                " match_weight, rule, conflict FROM pairs").fetchall()}  # fmt: skip
        records = set(con.execute("SELECT * EXCLUDE (given_name__roots) FROM match_records")
                      .fetchall())  # fmt: skip
        events = {(s, e, name.get(c) if c else None) for s, e, c in con.execute(
            "SELECT source, event_id, customer_id FROM events").fetchall()}  # fmt: skip
        old_ids = {c for c in members if not c.startswith("C-")} | {
            c for (c,) in con.execute(
                "SELECT customer_id FROM customers WHERE created_at < (SELECT min(started_at)"
                " FROM runs WHERE kind = 'realtime')").fetchall()
        }  # fmt: skip
        kept = {c: name[c] for c in old_ids if c in name}
        (n_records,) = con.execute(
            "SELECT json_extract(metrics, '$.records')::BIGINT FROM runs"
            " ORDER BY finished_at DESC LIMIT 1"
        ).fetchone() or (None,)
    finally:
        con.close()
    return {"partition": set(name.values()), "golden": golden, "points": points,
            "pairs": pairs, "records": records, "events": events, "kept_ids": kept,
            "n_records": n_records}  # fmt: skip


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    base = _project(tmp_path_factory.mktemp("hood") / "base")
    scoped, whole = base.with_name("scoped"), base.with_name("whole")
    shutil.copytree(base, scoped, ignore=shutil.ignore_patterns(".c360*"))
    shutil.copytree(base, whole, ignore=shutil.ignore_patterns(".c360*"))
    counts = _apply(scoped, scoped=True)
    assert _apply(whole, scoped=False)["together"] == counts["together"]
    return scoped, whole, counts


def test_neighbourhood_writes_end_where_whole_store_writes_do(
    written: tuple[Path, Path, dict[str, Any]],
) -> None:
    scoped, whole, counts = written
    # Every write is resolved in memory and answered before it is published, those that move
    # the email's key across the cap too.
    assert counts.get("resolved", 0) >= 14 and counts.get("published", 0) == 0
    assert counts["revised"] == 0  # every answer was what the run published
    # pair-a and pair-b: one customer, parted when their only key became hot, one again when
    # it cooled down.
    assert counts["together"] == [True, True, False, False, False, True]
    # Published over their neighbourhoods, the crossings included.
    assert set(counts["scopes"]) == {"neighbourhood"}
    con = duckdb.connect(str(scoped / "c360.duckdb"), read_only=True)
    try:
        (flipped,) = con.execute(
            "SELECT count(*) FROM runs WHERE kind = 'realtime'"
            " AND json_extract(metrics, '$.hot_key_flips')::INT > 0"
        ).fetchone() or (0,)
    finally:
        con.close()
    assert flipped >= 2  # the key went hot, and back
    a, b = _state(scoped), _state(whole)
    for part in ("partition", "records", "pairs", "golden", "points", "events", "kept_ids",
                 "n_records"):  # fmt: skip
        assert a[part] == b[part], part


def test_writes_keep_no_copy_of_the_model(written: tuple[Path, Path, dict[str, Any]]) -> None:
    scoped, _, _ = written
    con = duckdb.connect(str(scoped / "c360.duckdb"), read_only=True)
    try:
        kept = con.execute(
            "SELECT kind, model IS NOT NULL FROM runs ORDER BY finished_at"
        ).fetchall()
    finally:
        con.close()
    assert kept[0] == ("full", True)
    assert {k for k, _ in kept[1:]} == {"realtime"} and not any(m for _, m in kept[1:])
    with DuckDBStore(scoped / "c360.duckdb", read_only=True) as store:
        last = store.last_run()
    assert last is not None and last.kind == "realtime" and last.model


def test_match_index_equals_a_fresh_build_after_writes(
    written: tuple[Path, Path, dict[str, Any]], tmp_path: Path
) -> None:
    scoped, _, _ = written
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    service = Service(scoped)  # the index is current: nothing is rebuilt
    try:
        assert service.match_index is not None and service.match_index.current(service.store)
        rebuilt = match_index_of(fresh, service.config, service.store)
        assert rebuilt is not None
        rebuilt.build(service.store)
    finally:
        service.close()
    tables = ("records", "keys", "holders", "links", "pairs")
    with (
        sqlite3.connect(scoped / MATCH_INDEX_FILE) as kept,
        sqlite3.connect(fresh / MATCH_INDEX_FILE) as built,
    ):
        for table in tables:
            assert sorted(kept.execute(f"SELECT * FROM {table}").fetchall(), key=repr) == sorted(
                built.execute(f"SELECT * FROM {table}").fetchall(), key=repr
            ), table
        meta = "SELECT value FROM meta WHERE key = 'records'"
        assert kept.execute(meta).fetchone() == built.execute(meta).fetchone()


def test_a_write_the_index_cannot_take_still_lands_and_later_writes_go_over_the_store(
    tmp_path: Path,
) -> None:
    root = tmp_path / "acme"
    generate_company(root, people=20, seed=3)
    run_project(root, SilentReporter())
    service = Service(root)
    try:
        index = service.match_index
        assert index is not None

        def broken(*_: object) -> None:
            raise sqlite3.OperationalError("disk I/O error")

        index._apply = broken  # type: ignore[method-assign]
        writer = service.writer
        source, record_id, row = _people_rows(root)[0]
        first = writer.upsert(source, {record_id: row | {"email": "new.one@example.net"}})
        writer.drain()
        assert first.records[0][2] is not None and not index.usable
        second = writer.upsert(source, {"later": {"email": "new.one@example.net"}})
        assert second.records[0][2] == first.records[0][2]  # linked by the email, over the store
        counts = _scopes(service)
        assert counts == {"neighbourhood": 1.0, "store": 1.0}
    finally:
        service.close()
    # The index no longer names the store's last run: the next start rebuilds it.
    service = Service(root)
    try:
        assert service.match_index is not None and service.match_index.usable
        assert service.match_index.current(service.store)
    finally:
        service.close()


def test_a_steward_decision_made_since_the_last_run_is_applied_by_a_write_over_the_store(
    tmp_path: Path,
) -> None:
    root = tmp_path / "acme"
    generate_company(root, people=20, seed=3)
    run_project(root, SilentReporter())
    con = duckdb.connect(str(root / "c360.duckdb"), read_only=True)
    (a, b) = con.execute(
        "SELECT l.source, l.record_id FROM links l JOIN (SELECT customer_id FROM links"
        " GROUP BY 1 HAVING count(*) >= 2 LIMIT 1) c USING (customer_id) ORDER BY 1, 2 LIMIT 2"
    ).fetchall()
    con.close()
    with DuckDBStore(root / "c360.duckdb") as store:
        store.add_decision(Decision(a, b, "unlink", datetime(2026, 1, 1), "not the same"))
    service = Service(root)
    try:
        writer = service.writer
        source, record_id, row = _people_rows(root)[-1]
        writer.upsert(source, {record_id: row | {"email": "x.y@example.net"}})
        writer.upsert(source, {record_id: row | {"email": "x.z@example.net"}})
        counts = _scopes(service)
        assert counts == {"store": 1.0, "neighbourhood": 1.0}
        # The unlink took effect at the first write, as a run would have applied it.
        customers = {
            r["record_id"]: r["customer_id"]
            for r in service.store.query(
                "SELECT record_id, customer_id FROM links WHERE record_id IN (?, ?)", [a[1], b[1]]
            )
        }
        assert customers[a[1]] != customers[b[1]]
    finally:
        service.close()
