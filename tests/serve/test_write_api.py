"""Writes through the API: records upserted and deleted, resolved in real time with the batch
model — and records fed one by one end in the customers a batch run gives."""

from __future__ import annotations

import csv
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import duckdb

from c360.demo import generate_company
from c360.progress import SilentReporter
from c360.project.config import load_project
from c360.project.run import run_project
from c360.serve.journal import waiting_writes
from c360.serve.resident import ResidentFile
from tests.serve.conftest import Served, serve_project

EMILY_AGAIN = {"first_name": "Emily", "last_name": "Davis", "email": "e.davis@other.example",
               "phone": "(212) 555-0199", "street": "9 Hill Rd", "modified": "2025-01-01"}  # fmt: skip


def _put(s: Served, source: str, record_id: str, fields: dict[str, Any], role: str = "writer"):  # type: ignore[no-untyped-def]
    return s.client.put(f"/sources/{source}/records/{record_id}", json={"fields": fields},
                        headers=s.headers(role))  # fmt: skip


def _customer(s: Served, source: str, record_id: str) -> str:
    s.app.state.service.writer.drain()  # answered writes are published a moment later
    return str(s.app.state.service.reader().query(
        "SELECT customer_id FROM links WHERE source = ? AND record_id = ?", [source, record_id]
    )[0]["customer_id"])  # fmt: skip


def test_upsert_links_creates_merges_and_deletes(tmp_path: Path) -> None:
    from tests.project.conftest import write_project

    root = write_project(tmp_path / "acme")
    run_project(root, SilentReporter())
    for s in serve_project(root):
        aisha = _customer(s, "crm", "c4")
        linked = _put(s, "shop", "s10", {"name": "Aisha Khan", "email": "aisha.k@web.io",
                                         "birth_date": "1988-01-01", "last_login": "2025-06-01"})  # fmt: skip
        assert linked.status_code == 200, linked.text
        body = linked.json()
        assert body["outcome"] == "linked" and body["records"][0]["customer_id"] == aisha
        # Where its time went, step by step (W3C Server-Timing, in milliseconds).
        steps = dict(part.strip().split(";dur=") for part in
                     linked.headers["server-timing"].split(","))  # fmt: skip
        assert {"resolve", "resolver", "journal", "app"} <= set(steps)
        assert 0 < float(steps["resolver"]) <= float(steps["resolve"]) <= float(steps["app"])
        view = s.client.get(f"/customers/{aisha}", headers=s.headers()).json()
        assert ("shop", "s10") in {(r["source"], r["record_id"]) for r in view["records"]}

        again = _put(s, "shop", "s10", {"name": "Aisha Khan", "email": "aisha.k@web.io",
                                        "birth_date": "1988-01-01", "last_login": "2025-06-01"})  # fmt: skip
        assert again.json()["outcome"] == "unchanged"

        new = _put(s, "crm", "c20", EMILY_AGAIN).json()
        assert new["outcome"] == "new_customer"
        fresh = new["records"][0]["customer_id"]
        assert s.client.get(f"/customers/{fresh}", headers=s.headers()).status_code == 200

        # The same address and Emily's birth date: the bridge between her two customers.
        emily = _customer(s, "shop", "s9")
        merged = _put(s, "shop", "s21", {"name": "Emily Davis", "email": "e.davis@other.example",
                                         "birth_date": "1995-05-05", "last_login": "2025-04-01"}).json()  # fmt: skip
        assert merged["outcome"] == "merged"
        assert ("merge", emily, fresh) in {(c["kind"], c["customer_id"], c["other_id"])
                                           for c in merged["changes"]}  # fmt: skip
        old = s.client.get(f"/customers/{fresh}", headers=s.headers()).json()
        assert old["customer_id"] == emily and old["redirects"][0]["reason"] == "merge"

        updated = _put(s, "crm", "c20", {**EMILY_AGAIN, "phone": "(212) 555-0142"}).json()
        assert updated["outcome"] == "updated" and updated["records"][0]["customer_id"] == emily

        gone = s.client.delete("/sources/crm/records/c4", headers=s.headers("writer"))
        assert gone.json()["outcome"] == "deleted"  # s10 still holds Aisha
        retired = s.client.delete("/sources/shop/records/s10", headers=s.headers("writer")).json()
        assert retired["outcome"] == "retired" and retired["records"][0]["customer_id"] is None
        assert s.client.get(f"/customers/{aisha}", headers=s.headers()).status_code == 410


def test_the_resolving_process_keeps_the_match_index_in_memory(
    served: Served, tmp_path: Path
) -> None:
    """Its pages locked, so that no write waits for the disk (`c360.serve.resident`)."""
    (tmp_path / "probe.bin").write_bytes(b"x" * 8192)  # may this machine lock memory?
    probe = ResidentFile(tmp_path / "probe.bin")
    probe.extend()
    probe.close()
    assert _put(served, "shop", "s31", {"name": "Zoe Park"}).status_code == 200
    metrics = served.client.get("/metrics", headers=served.headers()).text
    found = re.search(r"^c360_match_index_locked_bytes (\S+)$", metrics, re.M)
    assert found is not None
    index = served.app.state.service.match_index.path
    if probe.reason is None:
        assert 0 < float(found.group(1)) <= index.stat().st_size
    else:  # this machine does not let a process lock memory: read as before
        assert float(found.group(1)) == 0


def test_write_mistakes_are_4xx(served: Served) -> None:
    fields = {"name": "Zoe Park", "email": "zoe@park.example"}
    assert _put(served, "shop", "s30", fields, role="reader").status_code == 403
    missing = _put(served, "billing", "b1", fields)
    assert missing.status_code == 404 and "people sources: crm, shop" in missing.json()["detail"]
    wrong_id = _put(served, "shop", "s30", {**fields, "customer_no": "s31"})
    assert wrong_id.status_code == 422 and "customer_no" in wrong_id.json()["detail"]
    not_text = served.client.put("/sources/shop/records/s30", json={"fields": {"name": 5}},
                                 headers=served.headers("writer"))  # fmt: skip
    assert not_text.status_code == 422 and not_text.json()["errors"][0]["field"].startswith("body")
    nothing = served.client.delete("/sources/shop/records/nope", headers=served.headers("writer"))
    assert nothing.status_code == 404 and "shop:nope" in nothing.json()["detail"]


def test_concurrent_writes_about_one_person_make_one_customer(tmp_path: Path) -> None:
    from tests.project.conftest import write_project

    root = write_project(tmp_path / "acme")
    run_project(root, SilentReporter())
    for s in serve_project(root):
        answers: list[int] = []
        steps: list[dict[str, float]] = []

        def write(
            i: int, s: Served = s, answers: list[int] = answers,
            steps: list[dict[str, float]] = steps,
        ) -> None:  # fmt: skip
            r = _put(s, "shop", f"z{i}", {"name": "Zoe Park", "email": "zoe.park@mail.example",
                                          "birth_date": "1991-02-03"})  # fmt: skip
            answers.append(r.status_code)
            steps.append({step: float(ms) for step, ms in (
                part.strip().split(";dur=") for part in r.headers["server-timing"].split(","))})  # fmt: skip

        threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert answers == [200] * 6
        # A write that waited for the publish of one it overlaps says how long (`overlap`), as
        # one published before its answer says how long that took (`publish`).
        metrics = s.client.get("/metrics", headers=s.headers()).text
        waited = re.search(r'c360_write_waits_total\{reason="overlap"\} (\S+)', metrics)
        overlapped = [t for t in steps if "overlap" in t]
        assert bool(overlapped) == (waited is not None and float(waited.group(1)) > 0)
        assert all(t["overlap"] > 0 and t["app"] >= t["overlap"] for t in overlapped)
        assert all("resolve" in t or "publish" in t for t in steps)
        customers = {_customer(s, "shop", f"z{i}") for i in range(6)}
        assert len(customers) == 1  # never two customers for one person
        view = s.client.get(f"/customers/{customers.pop()}", headers=s.headers()).json()
        assert len(view["records"]) == 6  # no write lost


def _people_rows(root: Path) -> list[tuple[str, str, dict[str, str]]]:
    config = load_project(root / "c360.yaml")
    out = []
    for source in config.people:
        assert source.file is not None and source.id is not None
        with (root / source.file).open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                out.append((source.name, row[source.id], dict(row)))
    return out


def _partition(rows: list[tuple[str, str, str]]) -> set[frozenset[tuple[str, str]]]:
    groups: dict[str, set[tuple[str, str]]] = {}
    for source, record, customer in rows:
        groups.setdefault(customer, set()).add((source, record))
    return {frozenset(g) for g in groups.values()}


LINKS = "SELECT source, record_id, customer_id FROM links"


def test_records_fed_one_by_one_end_as_the_batch_run(tmp_path: Path) -> None:
    """The demo company's people records, written one at a time through the API into a store
    that holds only the batch run's model, end in exactly the batch run's customers."""
    batch = tmp_path / "batch"
    generate_company(batch, people=30, seed=5)
    run_project(batch, SilentReporter())
    con = duckdb.connect(str(batch / "c360.duckdb"), read_only=True)
    expected = _partition(con.execute(LINKS).fetchall())
    con.close()
    live = tmp_path / "live"
    shutil.copytree(batch, live, ignore=shutil.ignore_patterns(".c360*"))
    con = duckdb.connect(str(live / "c360.duckdb"))
    for table in ("records", "match_records", "links", "customers", "golden", "contact_points",
                  "pairs", "events", "redirects", "changes", "quarantine"):  # fmt: skip
        con.execute(f"DELETE FROM {table}")  # the model, its settings and frequencies stay
    con.close()
    for s in serve_project(live):
        fed = _people_rows(live)
        for source, record_id, row in fed:
            r = _put(s, source, record_id, row)
            assert r.status_code == 200, r.text
        s.app.state.service.writer.drain()
        got = s.app.state.service.reader().query(LINKS)
        assert len(got) == len(fed)
        assert (
            _partition([(r["source"], r["record_id"], r["customer_id"]) for r in got]) == expected
        )


def test_posted_events_are_tied_like_a_runs(tmp_path: Path) -> None:
    from tests.project.conftest import write_project

    root = write_project(tmp_path / "acme")
    run_project(root, SilentReporter())
    for s in serve_project(root):
        john, maria = _customer(s, "crm", "c1"), _customer(s, "crm", "c2")
        posted = s.client.post("/sources/orders/events", headers=s.headers("writer"), json={
            "events": [
                {"order_id": "o100", "customer_no": "s2", "ordered_at": "2025-07-01T10:00:00",
                 "status": "paid", "total": "250"},
                {"order_id": "o101", "customer_no": "s77", "ordered_at": "2025-07-02T10:00:00",
                 "status": "paid", "total": "5"},
                {"order_id": "o102", "customer_no": "s2", "ordered_at": "not a date",
                 "status": "paid", "total": "5"},
            ]})  # fmt: skip
        assert posted.status_code == 200, posted.text
        body = posted.json()
        assert body["stored"] == 2
        assert [u["event_id"] for u in body["untied"]] == ["o101"]
        assert len(body["refused"]) == 1 and "not a date" in body["refused"][0]["reason"]
        assert body["refused"][0]["row"] == 3
        view = s.client.get(f"/customers/{maria}", headers=s.headers()).json()
        assert view["timeline"][0]["event_id"] == "o100"
        assert view["insights"]["lifetime_value"] == round(99.99 + 250, 2)

        case = s.client.post("/sources/cases/events", headers=s.headers("writer"), json={
            "events": [{"case_id": "k9", "email": "JOHN.SMITH@example.org",
                        "opened_at": "2025-08-01T09:00:00", "status": "open"}]})  # fmt: skip
        assert case.json()["stored"] == 1 and case.json()["untied"] == []
        timeline = s.client.get(f"/customers/{john}/timeline", headers=s.headers()).json()
        assert timeline["events"][0]["event_id"] == "k9"

        # The untied order's person arrives: the write that brings it ties the order.
        arrived = _put(s, "shop", "s77", {"name": "Nora Quinn", "email": "nora@quinn.example"})
        nora = arrived.json()["records"][0]["customer_id"]
        view = s.client.get(f"/customers/{nora}", headers=s.headers()).json()
        assert [e["event_id"] for e in view["timeline"]] == ["o101"]

        unknown = s.client.post("/sources/tickets/events", headers=s.headers("writer"),
                                json={"events": [{"id": "1"}]})  # fmt: skip
        assert (
            unknown.status_code == 404
            and "event sources: orders, cases" in unknown.json()["detail"]
        )


def test_writes_are_refused_when_the_sources_changed_since_the_last_run(tmp_path: Path) -> None:
    """A write answered now must be publishable by an incremental run: not after a change to
    the sources, which needs `c360 run` first."""
    from tests.project.conftest import write_project

    root = write_project(tmp_path / "acme")
    run_project(root, SilentReporter())
    config = root / "c360.yaml"
    config.write_text(config.read_text().replace("department: commerce", "department: online"))
    for s in serve_project(root):
        r = _put(s, "shop", "s40", {"name": "Ann Lee", "email": "ann.lee@mail.example"})
        assert r.status_code == 409 and "sources" in r.json()["detail"], r.text
        assert waiting_writes(root) == 0  # nothing answered, nothing kept


def test_a_project_never_run_is_served_but_refuses_writes(tmp_path: Path) -> None:
    from tests.project.conftest import write_project

    root = write_project(tmp_path / "acme")
    for s in serve_project(root):
        assert s.client.get("/health").json()["last_run"] is None
        r = _put(s, "shop", "s1", {"name": "Ann Lee"})
        assert r.status_code == 409 and "c360 run" in r.json()["detail"]
        assert s.client.get("/customers/C-X", headers=s.headers()).status_code == 404
