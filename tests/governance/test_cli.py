"""The policy on the command line: `profile` and `export` show a role what the API would, and
both are audited."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import yaml

from c360.progress import SilentReporter
from c360.project.run import run_project
from tests.project.conftest import c360, write_project
from tests.serve.test_governance import POLICY


def _governed(tmp_path: Path) -> Path:
    root = write_project(tmp_path / "acme")
    path = root / "c360.yaml"
    path.write_text(path.read_text() + yaml.safe_dump({"governance": POLICY}))
    run_project(root, SilentReporter())
    return root


def test_profile_and_export_follow_the_role(tmp_path: Path) -> None:
    root = _governed(tmp_path)
    shown = c360("profile", "--email", "john.smith@example.org", "--json", "--role", "marketing",
                 cwd=root)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    view = json.loads(shown.stdout)
    golden = {g["field"]: g["value"] for g in view["golden"]}
    assert golden["birth_date"] == "1980" and golden["email"] == "j***@example.org"
    assert "phone" not in golden and "555-2671" not in shown.stdout
    assert {e["type"] for e in view["timeline"]} == {"order"}
    table = c360("profile", "--email", "john.smith@example.org", "--role", "marketing", cwd=root)
    assert table.returncode == 0 and "j***@example.org" in table.stdout
    assert "john.smith@example.org" not in table.stdout and "1980-03-14" not in table.stdout

    out = tmp_path / "customers.csv"
    exported = c360("export", "customers", "-o", out, "--role", "analyst", cwd=root)
    assert exported.returncode == 0, exported.stderr
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert set(rows[0]) == {"customer_id", "created_at", "updated_at", "records", "birth_date"}
    assert {r["birth_date"] for r in rows} <= {"", "1980", "1975", "1990", "1962", "1995"}
    events = tmp_path / "events.jsonl"
    assert c360("export", "events", "-o", events, "-f", "jsonl", "--role", "marketing",
                cwd=root).returncode == 0  # fmt: skip
    kinds = {json.loads(line)["type"] for line in events.read_text().splitlines()}
    assert kinds == {"order"}

    audit = [json.loads(line) for line in
             c360("audit", "list", "--json", cwd=root).stdout.splitlines()]  # fmt: skip
    read = next(e for e in audit if e["action"] == "customer.read")
    assert read["role"] == "marketing" and read["actor"].startswith("cli:")
    assert "birth_date" in read["fields"] and "phone" not in read["fields"]
    assert [e["detail"].get("what") for e in audit if e["action"] == "export"] == [
        "customers", "events"]  # fmt: skip


def test_role_mistakes_on_the_command_line_are_clear(tmp_path: Path) -> None:
    root = _governed(tmp_path)
    unknown = c360("profile", "--email", "john.smith@example.org", "--role", "boss", cwd=root)
    assert unknown.returncode == 2 and "role 'boss' is not declared" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    hidden = c360("profile", "--phone", "(415) 555-2671", "--role", "analyst", cwd=root)
    assert hidden.returncode == 2 and "may not search by phone" in hidden.stderr
