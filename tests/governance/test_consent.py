"""Consent: statements per purpose from the command line, the API and events; the latest wins,
history is kept, and refusing processing takes a customer out of insights and exports."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import yaml

from c360.progress import SilentReporter
from c360.project.run import run_project
from tests.project.conftest import c360, write_project
from tests.serve.conftest import serve_project

JOHN = "john.smith@example.org"


def _project(tmp_path: Path) -> Path:
    root = write_project(tmp_path / "acme")
    path = root / "c360.yaml"
    # An open case counts as refusing texts (a stand-in for a platform's unsubscribe events).
    rule = {"source": "cases", "status": "open", "purpose": "sms", "granted": False}
    path.write_text(path.read_text() + yaml.safe_dump({"consent": {"from_events": [rule]}}))
    run_project(root, SilentReporter())
    return root


def test_consent_on_the_command_line(tmp_path: Path) -> None:
    root = _project(tmp_path)
    shown = c360("consent", "show", JOHN, cwd=root)
    assert shown.returncode == 0, shown.stderr
    assert "sms" in shown.stdout and "refused" in shown.stdout and "event k1" in shown.stdout
    done = c360("consent", "set", JOHN, "email_marketing", "--grant", "--note", "web form",
                cwd=root)  # fmt: skip
    assert done.returncode == 0, done.stderr
    refused = c360("consent", "set", JOHN, "processing", "--refuse", cwd=root)
    assert refused.returncode == 0, refused.stderr

    doc = json.loads(c360("subject", "export", JOHN, cwd=root).stdout)
    current = doc["consent"]["current"]
    assert (
        current["email_marketing"]["granted"] and current["email_marketing"]["note"] == "web form"
    )
    assert current["processing"]["granted"] is False and current["sms"]["source"] == "cases"
    assert current["profiling"] is None
    assert len(doc["consent"]["history"]) == 3

    # Refusing processing: no insights, not exported; still resolved as one customer.
    profile = json.loads(c360("profile", "--email", JOHN, "--json", cwd=root).stdout)
    assert profile["insights"] is None and len(profile["records"]) == 2
    out = tmp_path / "customers.csv"
    assert c360("export", "customers", "-o", out, cwd=root).returncode == 0
    with out.open() as fh:
        exported = {r["customer_id"] for r in csv.DictReader(fh)}
    assert doc["customer_id"] not in exported and len(exported) == 5
    # The latest statement wins.
    assert c360("consent", "set", JOHN, "processing", "--grant", cwd=root).returncode == 0
    again = json.loads(c360("profile", "--email", JOHN, "--json", cwd=root).stdout)
    assert again["insights"] is not None

    wrong = c360("consent", "set", JOHN, "telepathy", "--grant", cwd=root)
    assert wrong.returncode == 2 and "unknown consent purpose 'telepathy'" in wrong.stderr


def test_consent_over_the_api(tmp_path: Path) -> None:
    root = _project(tmp_path)
    for s in serve_project(root):
        john = s.client.get("/customers", params={"email": JOHN},
                            headers=s.headers()).json()["customers"][0]["customer_id"]  # fmt: skip
        before = s.client.get(f"/customers/{john}/consent", headers=s.headers()).json()
        assert (
            before["current"]["sms"]["granted"] is False and before["current"]["processing"] is None
        )
        assert s.client.put(f"/customers/{john}/consent/processing", json={"granted": False},
                            headers=s.headers("reader")).status_code == 403  # fmt: skip
        put = s.client.put(f"/customers/{john}/consent/processing",
                           json={"granted": False, "note": "asked by phone"},
                           headers=s.headers("writer"))  # fmt: skip
        assert put.status_code == 200, put.text
        assert put.json()["current"]["processing"]["actor"].startswith("key:")
        view = s.client.get(f"/customers/{john}", headers=s.headers()).json()
        assert view["insights"] is None and view["golden"]
        # Audited with the fields answered, not `*` (all held): the insights were withheld.
        s.app.state.service.audit.flush()
        read = s.app.state.service.audit.entries(customer_id=john, action="customer.read")[-1]
        assert "email" in read["fields"] and not {"*", "insights"} & set(read["fields"])
        bad = s.client.put(f"/customers/{john}/consent/telepathy", json={"granted": True},
                           headers=s.headers("writer"))  # fmt: skip
        assert bad.status_code == 422 and "telepathy" in bad.json()["detail"]
        s.app.state.service.close()
