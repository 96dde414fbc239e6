"""`c360 run` end to end on a small company: customers, IDs, decisions, golden records, events."""

from __future__ import annotations

import json
from pathlib import Path

from c360.progress import SilentReporter
from c360.project.run import run_project
from c360.store import DuckDBStore
from tests.project.conftest import CRM, SHOP, c360, write_project


def _links(root: Path) -> dict[tuple[str, str], str]:
    with DuckDBStore(root / "c360.duckdb", read_only=True) as store:
        rows = store.query("SELECT source, record_id, customer_id FROM links")
    return {(r["source"], r["record_id"]): r["customer_id"] for r in rows}


def test_first_run_links_the_same_people_across_systems(project: Path) -> None:
    summary = run_project(project, SilentReporter())
    links = _links(project)
    assert len(links) == len(CRM) + len(SHOP)
    for i in ("1", "2", "3", "5"):
        assert links[("crm", f"c{i}")] == links[("shop", f"s{i}")]
    assert links[("crm", "c4")] != links[("shop", "s9")]
    assert summary.customers == 6
    assert all(cid.startswith("C-") for cid in links.values())
    # Counts balance per source: rows = used + quarantined.
    for s in summary.sources:
        assert s.rows == s.used + s.quarantined, s


def test_events_are_tied_or_quarantined_with_a_reason(project: Path) -> None:
    run_project(project, SilentReporter())
    links = _links(project)
    with DuckDBStore(project / "c360.duckdb", read_only=True) as store:
        events = {r["event_id"]: r["customer_id"] for r in store.query("SELECT * FROM events")}
        reasons = {r["reason"] for r in store.query("SELECT reason FROM quarantine")}
    assert events["o1"] == links[("shop", "s1")]
    assert events["k1"] == links[("crm", "c1")]  # by email, standardised
    # A malformed event is not kept; one whose person is unknown waits, untied, for a later
    # run that knows the person.
    assert "o5" not in events
    assert events["o4"] is None and events["k2"] is None
    assert "points at no known person: s404" in reasons
    assert "points at no known person: nobody@nowhere.example" in reasons
    assert any(r.startswith("column ordered_at: not a date/time") for r in reasons)


def test_rerun_on_the_same_data_changes_no_id(project: Path) -> None:
    run_project(project, SilentReporter())
    before = _links(project)
    summary = run_project(project, SilentReporter())
    assert summary.ids_changed == 0 and summary.new_customers == 0
    assert summary.model_reused
    assert _links(project) == before


def test_merge_keeps_the_older_id_and_the_old_id_resolves(project: Path) -> None:
    # c4 (Aisha Khan) and s9 (Emily Davis) are two customers; a new shop record bridges them?
    # No: bridge two real customers by a steward link instead, the way a merge happens.
    run_project(project, SilentReporter())
    before = _links(project)
    old_a, old_b = before[("crm", "c4")], before[("shop", "s9")]
    result = c360("link", "crm:c4", "shop:s9", cwd=project)
    assert result.returncode == 0, result.stderr
    run_project(project, SilentReporter())
    after = _links(project)
    merged = after[("crm", "c4")]
    assert merged == after[("shop", "s9")]
    assert merged == min(old_a, old_b)  # the older ID (ULIDs sort by time of issue)
    gone = max(old_a, old_b)
    profile = c360("profile", gone, "--json", cwd=project)
    assert profile.returncode == 0, profile.stderr
    view = json.loads(profile.stdout)
    assert view["customer_id"] == merged
    assert view["redirects"][0]["reason"] == "merge"


def test_unlink_splits_and_survives_reruns(project: Path) -> None:
    run_project(project, SilentReporter())
    before = _links(project)
    john = before[("crm", "c1")]
    assert c360("unlink", "crm:c1", "shop:s1", cwd=project).returncode == 0
    for _ in range(2):
        run_project(project, SilentReporter())
        after = _links(project)
        assert after[("crm", "c1")] != after[("shop", "s1")]
    # The ID stays with one part; the other part's ID came with a split redirect.
    assert john in (after[("crm", "c1")], after[("shop", "s1")])
    with DuckDBStore(project / "c360.duckdb", read_only=True) as store:
        reasons = [r["reason"] for r in store.query("SELECT reason FROM redirects")]
    assert "split" in reasons


def test_golden_record_rules_and_lineage(project: Path) -> None:
    run_project(project, SilentReporter())
    cid = _links(project)[("crm", "c1")]
    with DuckDBStore(project / "c360.duckdb", read_only=True) as store:
        golden = {
            r["field"]: r for r in store.query("SELECT * FROM golden WHERE customer_id = ?", [cid])
        }
        points = store.query("SELECT * FROM contact_points WHERE customer_id = ?", [cid])
    # given_name by source priority: the CRM's "John", not the shop's newer "Johnny".
    assert golden["given_name"]["value"] == "John"
    assert (golden["given_name"]["source"], golden["given_name"]["rule"]) == (
        "crm",
        "source_priority",
    )
    # email by most recent: the shop record (2024-06-01) is newer than the CRM's (2024-01-05).
    assert (
        golden["email"]["source"] == "shop" and golden["email"]["value"] == "john.smith@example.org"
    )
    assert golden["birth_date"]["value"] == "1980-03-14"
    assert [p["value"] for p in points if p["kind"] == "email" and p["preferred"]] == [
        "john.smith@example.org"
    ]


def test_profile_search_and_insights(project: Path) -> None:
    run_project(project, SilentReporter())
    result = c360("profile", "--email", "JOHN.SMITH@example.org", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    view = json.loads(result.stdout)
    assert view["insights"]["lifetime_value"] == 120.5  # the refund does not count
    assert view["insights"]["orders"] == 2 and view["insights"]["open_cases"] == 1
    assert "open case" in view["insights"]["flags"]
    assert [e["event_id"] for e in view["timeline"]] == ["k1", "o2", "o1"]  # newest first
    assert {r["source"] for r in view["records"]} == {"crm", "shop"}
    by_name = c360("profile", "--name", "Maria Garsia", "--json", cwd=project)
    assert json.loads(by_name.stdout)["customer_id"] == _links(project)[("crm", "c2")]
    missing = c360("profile", "C-NOPE", cwd=project)
    assert missing.returncode == 2 and "no customer" in missing.stderr


def test_a_vanished_source_or_renamed_column_leaves_the_store_intact(project: Path) -> None:
    run_project(project, SilentReporter())
    before = _links(project)
    (project / "data" / "shop.csv").rename(project / "data" / "shop.bak")
    result = c360("run", cwd=project)
    assert result.returncode == 2 and "file" in result.stderr and "not found" in result.stderr
    assert _links(project) == before
    (project / "data" / "shop.bak").rename(project / "data" / "shop.csv")
    text = (
        (project / "data" / "shop.csv")
        .read_text()
        .replace("customer_no,name", "customer_no,fullname")
    )
    (project / "data" / "shop.csv").write_text(text)
    result = c360("run", cwd=project)
    assert result.returncode == 2 and "'name'" in result.stderr and "renamed" in result.stderr
    assert _links(project) == before


def test_export_formats(project: Path, tmp_path: Path) -> None:
    run_project(project, SilentReporter())
    for what, fmt in (
        ("customers", "csv"),
        ("links", "parquet"),
        ("events", "jsonl"),
        ("redirects", "csv"),
    ):
        out = tmp_path / f"{what}.{fmt}"
        result = c360("export", what, "--format", fmt, "--output", out, cwd=project)
        assert result.returncode == 0, result.stderr
        assert out.exists()
    header = (tmp_path / "customers.csv").read_text().splitlines()[0]
    assert "customer_id" in header and "given_name" in header


def test_init_writes_a_valid_commented_project(tmp_path: Path) -> None:
    from c360.project.config import load_project

    assert c360("init", cwd=tmp_path).returncode == 0
    text = (tmp_path / "c360.yaml").read_text()
    assert text.count("#") > 20
    assert load_project(tmp_path / "c360.yaml").people[0].name == "crm"
    again = c360("init", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_new_data_changes_only_the_ids_it_must(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p")
    run_project(root, SilentReporter())
    before = _links(root)
    crm = [
        *CRM,
        [
            "c6",
            "Carlos",
            "Lopez",
            "c.lopez@mail.com",
            "713-555-0188",
            "250 Cedar Blvd",
            "2025-01-01",
        ],
    ]
    write_project(root, crm=crm)
    summary = run_project(root, SilentReporter())
    after = _links(root)
    assert all(after[k] == v for k, v in before.items())
    assert summary.new_customers == 1 and summary.ids_changed == 0


def test_most_frequent_and_most_complete(tmp_path: Path) -> None:
    crm = [*CRM, ["c7", "Johnny", "Smith", "john.smith@example.org", "", "", "2023-01-01"]]
    root = write_project(tmp_path / "p", crm=crm)
    text = (
        (root / "c360.yaml")
        .read_text()
        .replace(
            "    given_name: {rule: source_priority}",
            "    given_name: most_frequent\n    family_name: most_complete",
        )
    )
    (root / "c360.yaml").write_text(text)
    run_project(root, SilentReporter())
    links = _links(root)
    cid = links[("crm", "c1")]
    assert links[("crm", "c7")] == cid
    with DuckDBStore(root / "c360.duckdb", read_only=True) as store:
        golden = {
            r["field"]: r for r in store.query("SELECT * FROM golden WHERE customer_id = ?", [cid])
        }
    # "Johnny" twice (shop s1, crm c7) against "John" once.
    assert golden["given_name"]["value"] == "Johnny"
    assert golden["given_name"]["rule"] == "most_frequent"
    # c1 has the most fields filled in (phone and street too).
    assert (golden["family_name"]["source"], golden["family_name"]["record_id"]) == ("crm", "c1")


def test_search_standardises_with_the_project_settings(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p")
    text = (
        (root / "c360.yaml")
        .read_text()
        .replace("project: test\n", "project: test\nstandardize: {email_provider_rules: true}\n")
    )
    (root / "c360.yaml").write_text(text)
    crm = [[*CRM[0][:3], "j.smith+crm@gmail.com", *CRM[0][4:]], *CRM[1:]]
    write_project(root, crm=crm)
    (root / "c360.yaml").write_text(text)
    run_project(root, SilentReporter())
    found = c360("profile", "--email", "J.Smith@GMAIL.com", "--json", cwd=root)
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["customer_id"] == _links(root)[("crm", "c1")]


def test_a_customer_whose_records_are_all_deleted_is_retired_not_lost(project: Path) -> None:
    run_project(project, SilentReporter())
    aisha = _links(project)[("crm", "c4")]  # only record of its customer
    write_project(project, crm=[r for r in CRM if r[0] != "c4"])
    summary = run_project(project, SilentReporter())
    assert summary.redirects["deleted"] == 1
    result = c360("profile", aisha, cwd=project)
    assert result.returncode == 2
    assert f"customer {aisha} was retired" in result.stderr


def test_a_contact_point_shared_by_many_customers_is_nobodys_golden_value(tmp_path: Path) -> None:
    given = ["Ann", "Bo", "Cy", "Di", "Ed", "Flo", "Gus", "Hal"]
    family = ["Lee", "Ng", "Ruiz", "Diaz", "Kim", "Park", "Shaw", "Webb"]
    people = [(g, f) for g in given for f in family][:60]
    crm = [  # a switchboard number on 60 records: more than blocking lets through
        [f"x{i}", g, f, f"{g.lower()}.{f.lower()}@mail.com", "(800) 555-0100", "", "2025-01-01"]
        for i, (g, f) in enumerate(people)
    ]
    root = write_project(tmp_path / "p", crm=[*CRM, *crm])
    run_project(root, SilentReporter())
    with DuckDBStore(root / "c360.duckdb", read_only=True) as store:
        golden = store.query(
            "SELECT count(*) AS n FROM golden WHERE field = 'phone' AND value = '+18005550100'"
        )
        kept = store.query("SELECT count(*) AS n FROM contact_points WHERE value = '+18005550100'")
    assert kept[0]["n"] == 60  # kept as a contact point of each of the 60 customers…
    assert golden[0]["n"] == 0  # …but never anyone's golden phone
