"""Erasure: a person's values leave every file c360 keeps, their IDs still resolve (retired),
the source systems still holding them are named, and a later sync does not bring them back."""

from __future__ import annotations

import json
import os
from pathlib import Path

from c360.progress import SilentReporter
from c360.project.run import run_project
from tests.conftest import write_csv
from tests.project.conftest import CASES, CRM, SHOP, c360, write_project
from tests.serve.conftest import serve_project

# A person whose every value is found nowhere else, so that any byte of it left is a trace.
ZEB_CRM = ["c77", "Zebedee", "Quarrington", "zeb.quarrington@sentinel.example",
           "(305) 555-0177", "41 Vexilla Crescent", "2024-07-07"]  # fmt: skip
ZEB_SHOP = ["s77", "Zebedee Quarrington", "zeb.quarrington@sentinel.example", "1971-08-19",
            "2025-01-02"]  # fmt: skip
TRACES = ["Quarrington", "quarrington", "Zebedee", "zebedee", "zeb.quarrington", "555-0177",
          "3055550177", "Vexilla", "vexilla", "1971-08-19"]  # fmt: skip


def _files(root: Path) -> list[Path]:
    """Every file c360 keeps in the project (not the sources' own data, not c360.yaml)."""
    return [p for p in root.rglob("*") if p.is_file() and "data" not in p.relative_to(root).parts
            and p.name != "c360.yaml"]  # fmt: skip


def _traces(root: Path) -> list[str]:
    found = []
    for path in _files(root):
        data = path.read_bytes()
        found += [f"{path.name}: {t}" for t in TRACES if t.encode() in data]
    return found


def test_erasure_leaves_no_trace_on_disk_and_keeps_the_person_out(tmp_path: Path) -> None:
    root = write_project(tmp_path / "acme", crm=[*CRM, ZEB_CRM], shop=[*SHOP, ZEB_SHOP])
    write_csv(root / "data" / "cases.csv", ["case_id", "email", "opened_at", "status"],
              [*CASES, ["k9", "zeb.quarrington@sentinel.example", "2025-05-01T09:00:00", "open"]])  # fmt: skip
    run_project(root, SilentReporter())
    # Serve once, so that the read model and the match index exist and hold the person too.
    served = c360("subject", "export", "zeb.quarrington@sentinel.example", cwd=root)
    zeb = json.loads(served.stdout)["customer_id"]
    assert {r["record_id"] for r in json.loads(served.stdout)["records"]} == {"c77", "s77"}
    assert _traces(root), "the person must be in the store before the erasure"

    erased = c360("subject", "erase", "zeb.quarrington@sentinel.example", "--yes", cwd=root)
    assert erased.returncode == 0, erased.stderr
    assert "crm: c77" in erased.stdout and "shop: s77" in erased.stdout
    assert _traces(root) == []

    # Their ID still resolves: to nobody, retired.
    gone = c360("profile", zeb, cwd=root)
    assert gone.returncode == 2 and "retired" in gone.stderr
    # The other customers are untouched.
    john = c360("profile", "--email", "john.smith@example.org", "--json", cwd=root)
    assert john.returncode == 0 and len(json.loads(john.stdout)["records"]) == 2

    # Through the API, their records are refused, and an event naming them is not kept whole.
    for s in serve_project(root):
        put = s.client.put("/sources/crm/records/c77", json={"fields": dict(zip(
            ["first_name", "last_name", "email"], ZEB_CRM[1:4], strict=True))},
            headers=s.headers("writer"))  # fmt: skip
        assert put.status_code == 422 and "was erased" in put.json()["detail"]
        posted = s.client.post("/sources/cases/events", headers=s.headers("writer"), json={
            "events": [{"case_id": "k10", "email": ZEB_CRM[3], "opened_at": "2025-06-01T09:00:00",
                        "status": "open"}]})  # fmt: skip
        assert posted.status_code == 200, posted.text
        assert posted.json()["stored"] == 0
        assert posted.json()["refused"] == [{"row": 1, "reason": "names a person who was erased:"
                                                                 " not stored"}]  # fmt: skip
        s.app.state.service.close()  # the project is ours again
    assert _traces(root) == []

    # The next sync reads the same files again: the person's records are dropped unread.
    for name in ("crm.csv", "shop.csv", "cases.csv"):
        os.utime(root / "data" / name)
    rerun = c360("run", cwd=root)
    assert rerun.returncode == 0, rerun.stderr
    assert "erased" in rerun.stderr and "incremental" in rerun.stderr
    again = c360("profile", "--email", "zeb.quarrington@sentinel.example", cwd=root)
    assert again.returncode == 2 and "no customer found" in again.stderr
    full = c360("run", "--full", cwd=root)
    assert full.returncode == 0, full.stderr
    assert "erased" in full.stderr
    assert _traces(root) == []
    audit = c360("audit", "list", "--action", "subject.erase", "--json", cwd=root)
    entry = json.loads(audit.stdout.splitlines()[0])
    assert entry["customer_id"] == zeb and "quarrington" not in audit.stdout.lower()


def test_erasure_through_the_api_while_serving(tmp_path: Path) -> None:
    root = write_project(tmp_path / "acme", crm=[*CRM, ZEB_CRM], shop=[*SHOP, ZEB_SHOP])
    run_project(root, SilentReporter())
    for s in serve_project(root):
        found = s.client.get("/customers", params={"email": ZEB_CRM[3]}, headers=s.headers())
        zeb = found.json()["customers"][0]["customer_id"]
        john = s.client.get("/customers", params={"email": "john.smith@example.org"},
                            headers=s.headers()).json()["customers"][0]["customer_id"]  # fmt: skip
        # A write about them through the API: the journal held it, and must forget it whole.
        moved = s.client.put("/sources/crm/records/c77", headers=s.headers("writer"), json={
            "fields": dict(zip(["first_name", "last_name", "email", "phone", "street"],
                               [*ZEB_CRM[1:5], "99 Vexilla Crescent"], strict=True))})  # fmt: skip
        assert moved.status_code == 200, moved.text
        s.app.state.service.writer.drain()
        # A write answered just before is published first, and kept.
        put = s.client.put("/sources/crm/records/c90", headers=s.headers("writer"), json={
            "fields": {"first_name": "Ann", "last_name": "Lee", "email": "ann.lee@example.net"}})  # fmt: skip
        assert put.status_code == 200, put.text
        assert s.client.delete(f"/customers/{zeb}", headers=s.headers("writer")).status_code == 403
        erased = s.client.delete(f"/customers/{zeb}", headers=s.headers("admin"))
        assert erased.status_code == 200, erased.text
        assert erased.json()["still_held"] == {"crm": ["c77"], "shop": ["s77"]}
        assert _traces(root) == []  # while the service runs on the rewritten store
        # The service goes on: reads, searches and writes, on the store opened again.
        assert s.client.get(f"/customers/{zeb}", headers=s.headers()).status_code == 410
        assert s.client.get(f"/customers/{john}", headers=s.headers()).status_code == 200
        ann = s.client.get("/customers", params={"email": "ann.lee@example.net"},
                           headers=s.headers()).json()["customers"]  # fmt: skip
        assert len(ann) == 1
        again = s.client.put("/sources/crm/records/c91", headers=s.headers("writer"), json={
            "fields": {"first_name": "Ann", "last_name": "Lee", "email": "ann.lee@example.net"}})  # fmt: skip
        assert again.status_code == 200 and again.json()["outcome"] in ("linked", "merged")
        refused = s.client.put("/sources/shop/records/s77", headers=s.headers("writer"),
                               json={"fields": {"name": "Zebedee Quarrington"}})  # fmt: skip
        assert refused.status_code == 422
        s.app.state.service.close()
    assert _traces(root) == []
