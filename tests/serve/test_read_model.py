"""The service's read model: the view it sends is the view the store gives, field for field."""

from __future__ import annotations

import json
import sqlite3
import zlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.encoders import jsonable_encoder

from c360.demo import generate_company
from c360.progress import SilentReporter
from c360.project.run import run_project
from c360.project.view import customer_view
from c360.serve.read_model import ReadModel
from c360.serve.view_codec import ViewCodec
from c360.store import Decision, DuckDBStore
from c360.store.duckdb_store import now
from tests.project.conftest import write_project


def _from_store(store: DuckDBStore, customer_id: str, at: datetime) -> dict[str, Any]:
    v = customer_view(store, customer_id, as_of=at)
    return dict(jsonable_encoder({
        "asked": v.asked, "customer_id": v.customer_id, "other_ids": v.other_ids,
        "redirects": v.redirects, "created_at": v.created_at, "golden": v.golden,
        "contact_points": v.contact_points, "records": v.records, "timeline": v.timeline,
        "insights": v.insights.__dict__,
    }))  # fmt: skip


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo company, run once."""
    root = tmp_path_factory.mktemp("read-model") / "demo"
    generate_company(root, people=300, seed=11)
    run_project(root, SilentReporter())
    return root


def test_every_view_equals_the_stores_on_the_demo_company(demo: Path) -> None:
    root = demo
    (root / ".c360-views.sqlite").unlink(missing_ok=True)
    with DuckDBStore(root / "c360.duckdb") as store:
        model = ReadModel(root)
        assert not model.current(store)
        built = model.build(store)
        ids = [r["customer_id"] for r in store.query("SELECT customer_id FROM customers")]
        assert built == len(ids) and model.current(store)
        at = now()
        for customer_id in ids:
            ready = model.get(customer_id, at)
            assert ready is not None
            assert json.loads(ready) == _from_store(store, customer_id, at), customer_id
        assert model.get("C-NOT-ISSUED") is None


def test_stale_after_a_publish_and_rebuilt(tmp_path: Path) -> None:
    root = write_project(tmp_path / "acme")
    run_project(root, SilentReporter())
    with DuckDBStore(root / "c360.duckdb") as store:
        model = ReadModel(root)
        model.build(store)
        ids = {r["record_id"]: r["customer_id"] for r in store.query("SELECT * FROM links")}
        store.add_decision(Decision(("crm", "c4"), ("shop", "s9"), "link", now()))
    run_project(root, SilentReporter())  # the two customers merge
    with DuckDBStore(root / "c360.duckdb") as store:
        assert not model.current(store)
        model.build(store)
        merged = {ids["c4"], ids["s9"]}
        present = [i for i in merged if model.get(i) is not None]
        assert len(present) == 1  # the retired ID is no current customer's view any more
        view = json.loads(model.get(present[0]) or b"{}")
        assert {(r["source"], r["record_id"]) for r in view["records"]} == {("crm", "c4"),
                                                                            ("shop", "s9")}  # fmt: skip


def test_web_visits_are_recounted_as_they_age(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = demo
    with DuckDBStore(root / "c360.duckdb") as store:
        (row,) = store.query(
            "SELECT customer_id, max(occurred_at) AS last FROM events WHERE type = 'web_visit'"
            " AND customer_id IS NOT NULL GROUP BY 1 ORDER BY last DESC, customer_id LIMIT 1"
        )
        # Built and read a day after the demo's last visit (its data end at a fixed date).
        last = datetime.fromisoformat(row["last"][:19])
        monkeypatch.setattr("c360.serve.read_model.now", lambda: last + timedelta(days=1))
        model = ReadModel(root)
        model.build(store)
    recent = json.loads(model.get(row["customer_id"]) or b"{}")["insights"]["web_visits_30d"]
    later = last + timedelta(days=31)
    aged = json.loads(model.get(row["customer_id"], later) or b"{}")["insights"]["web_visits_30d"]
    assert recent >= 1 and aged == 0


def test_guarded_views_follow_the_prepared_roles_without_a_rebuild(demo: Path) -> None:
    """A role newly prepared has every view guarded into the file as it is; a changed policy
    guards them again; a role no longer prepared leaves none behind."""

    def marked(mark: str):  # type: ignore[no-untyped-def]
        return lambda doc: (json.dumps({"id": doc["customer_id"], "mark": mark}).encode(), [mark])

    with DuckDBStore(demo / "c360.duckdb") as store:
        if not ReadModel(demo).current(store):
            ReadModel(demo).build(store)
        ids = [r["customer_id"] for r in store.query("SELECT customer_id FROM customers")]
    assert ReadModel(demo).prepare() == 0  # nothing prepared, nothing to do
    one = ReadModel(demo, {"desk": ("policy 1", marked("one"))})
    assert one.prepare() == len(ids) and one.prepare() == 0
    for customer_id in ids:
        stored = one.stored(customer_id)
        assert stored is not None
        mark = json.dumps({"id": customer_id, "mark": "one"}).encode()
        assert one.guarded("desk", customer_id) == (mark, ("one",), stored[1])
    two = ReadModel(demo, {"desk": ("policy 2", marked("two"))})
    assert two.prepare() == len(ids)
    found = two.guarded("desk", ids[0])
    assert found is not None and found[1] == ("two",)
    assert two.guarded("desk", "C-NOT-ISSUED") is None
    # Each role's guarded views are a table of their own, whatever the role is called.
    odd = ReadModel(
        demo, {'desk "2"': ("policy 1", marked("odd")), "desk": ("policy 2", marked("two"))}
    )
    assert odd.prepare() == len(ids)
    found = odd.guarded('desk "2"', ids[0])
    assert found is not None and found[1] == ("odd",)
    gone = ReadModel(demo)
    assert gone.prepare() == 0
    assert gone.guarded("desk", ids[0]) is None and gone.stored(ids[0]) is not None
    with sqlite3.connect(gone.path) as db:  # none left behind
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"meta", "views"}


def test_views_are_compressed_with_a_dictionary_trained_on_them(demo: Path) -> None:
    """The company demo's views take about half what zlib makes of each alone, and come back
    byte for byte; a handful of views, too few to train on, are compressed without one."""
    with DuckDBStore(demo / "c360.duckdb") as store:
        if not ReadModel(demo).current(store):
            ReadModel(demo).build(store)
    model = ReadModel(demo)
    with sqlite3.connect(model.path) as db:
        packed = [r[0] for r in db.execute("SELECT doc FROM views")]
    docs = [model.codec().unpack(p) for p in packed]
    assert model.codec().dictionary is not None
    assert all(orjson.loads(d)["customer_id"] for d in docs)
    assert sum(map(len, packed)) < 0.6 * sum(len(zlib.compress(d, 1)) for d in docs)
    few = ViewCodec.trained(docs[:3])
    assert few.dictionary is None and all(few.unpack(few.pack(d)) == d for d in docs[:50])
