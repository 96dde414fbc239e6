"""Subject access: everything held about one person, named by any of their identifiers."""

from __future__ import annotations

import json
from pathlib import Path

from c360.progress import SilentReporter
from c360.project.run import run_project
from tests.project.conftest import c360, write_project


def test_subject_export_gathers_everything_about_the_person(tmp_path: Path) -> None:
    root = write_project(tmp_path / "acme")
    run_project(root, SilentReporter())
    out = tmp_path / "john.json"
    done = c360("subject", "export", "JOHN.SMITH@example.org", "-o", out, cwd=root)
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    assert {(r["source"], r["record_id"]) for r in doc["records"]} == {
        ("crm", "c1"),
        ("shop", "s1"),
    }
    shop = next(r for r in doc["records"] if r["source"] == "shop")
    assert shop["raw"]["name"] == "SMITH, Johnny" and shop["evidence"]
    assert {(e["source"], e["event_id"]) for e in doc["events"]} == {
        ("orders", "o1"), ("orders", "o2"), ("cases", "k1")}  # fmt: skip
    golden = {g["field"]: g for g in doc["golden"]}
    assert golden["birth_date"]["value"] == "1980-03-14"
    assert (golden["birth_date"]["source"], golden["birth_date"]["record_id"]) == ("shop", "s1")
    assert doc["ids"] == [doc["customer_id"]] and doc["redirects"] == []

    # By its ID too, on stdout; the first export is in the audit entries about them.
    again = c360("subject", "export", doc["customer_id"], cwd=root)
    assert again.returncode == 0
    second = json.loads(again.stdout)
    assert [e["action"] for e in second["audit"]] == ["subject.export"]
    assert second["records"] == doc["records"]


def test_a_subject_that_cannot_be_found_is_said_so(tmp_path: Path) -> None:
    root = write_project(tmp_path / "acme")
    run_project(root, SilentReporter())
    nobody = c360("subject", "export", "nobody@nowhere.example", cwd=root)
    assert nobody.returncode == 2 and "no customer holds 'nobody@nowhere.example'" in nobody.stderr
    nonsense = c360("subject", "export", "not-a-thing", cwd=root)
    assert (
        nonsense.returncode == 2 and "is not a customer ID, an email or a phone" in nonsense.stderr
    )
