"""An incremental run ends in exactly the state a full run with the same model gives.

The demo company is run once; then records are changed, deleted and added in several sources
(emails moved between people, so customers merge and split), an event source changes, and a
copy of the project runs `--full` while the original runs incrementally. Customers, golden
records with their lineage, contact points, events' customers and the IDs kept must agree.
"""

from __future__ import annotations

import csv
import random
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from c360.demo.generator import generate_company
from c360.progress import SilentReporter
from c360.project.run import run_project


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *rows])


def _mutate(root: Path, seed: int) -> None:
    """Change, delete and add records; move emails between people; change an event file."""
    rng = random.Random(seed)
    data = root / "data"
    header, crm = _read(data / "crm_contacts.csv")
    email, modified = header.index("email"), header.index("modified_at")
    for row in rng.sample(crm, len(crm) // 10):
        row[email] = rng.choice(crm)[email]  # two people now share an email (merge or not)
        row[modified] = "2026-11-01T00:00:00Z"
    for row in rng.sample(crm, len(crm) // 20):
        row[header.index("phone")] = f"(206) 555-{rng.randrange(10_000):04d}"
    crm = [r for r in crm if rng.random() > 0.05]  # deleted
    _, shop = _read(data / "shop_customers.csv")
    for i, s in enumerate(rng.sample(shop, 5)):  # new CRM contacts of shop customers
        given, _, family = s[1].partition(" ")
        new = [""] * len(header)
        new[0], new[1], new[2], new[email] = f"NEW{i}", given, family, s[2]
        new[modified] = "2026-11-02T00:00:00Z"
        crm.insert(rng.randrange(len(crm)), new)  # in the middle: later rows move
    _write(data / "crm_contacts.csv", header, crm)

    header, marketing = _read(data / "marketing_subscribers.csv")
    _write(data / "marketing_subscribers.csv", header, marketing[: len(marketing) - 7])

    header, visits = _read(data / "web_visits.csv")
    for i, s in enumerate(shop[:10]):
        visits.append([f"new-visit-{i}", s[2], "/", "2026-11-03T10:00:00Z", "30", "mobile"])
    _write(data / "web_visits.csv", header, visits)


def _state(root: Path, issued_before: set[str]) -> dict[str, Any]:
    """The published state with customer IDs replaced by their members (new IDs are random),
    except IDs issued before the run, which must be kept the same way by both runs."""
    con = duckdb.connect(str(root / "c360.duckdb"), read_only=True)
    members: dict[str, set[tuple[str, str]]] = {}
    for source, record_id, customer in con.execute(
        "SELECT source, record_id, customer_id FROM links"
    ).fetchall():
        members.setdefault(customer, set()).add((source, record_id))
    group = {c: frozenset(m) for c, m in members.items()}

    def who(customer: str | None) -> Any:
        return None if customer is None else group[customer]

    state = {
        "customers": set(group.values()),
        "kept_ids": {group[c]: c for c in group if c in issued_before},
        "golden": {
            (who(c), f): (v, s, r, u, rule)
            for c, f, v, s, r, u, rule in con.execute(
                "SELECT customer_id, field, value, source, record_id, updated_at, rule FROM golden"
            ).fetchall()
        },
        "contact_points": {
            (who(c), k, v, p, s)
            for c, k, v, p, s in con.execute("SELECT * FROM contact_points").fetchall()
        },
        "events": {
            (s, e): who(c)
            for s, e, c in con.execute(
                "SELECT source, event_id, customer_id FROM events"
            ).fetchall()
        },
        "customer_rows": {
            (who(c), n)
            for c, n in con.execute("SELECT customer_id, records FROM customers").fetchall()
        },
        "pairs": con.execute(
            "SELECT source_l, record_id_l, source_r, record_id_r, round(match_weight, 9), rule,"
            " conflict FROM pairs ORDER BY ALL"
        ).fetchall(),
    }
    con.close()
    return state


def _issued(root: Path) -> set[str]:
    con = duckdb.connect(str(root / "c360.duckdb"), read_only=True)
    ids = {r[0] for r in con.execute("SELECT customer_id FROM customers").fetchall()}
    con.close()
    return ids


@pytest.mark.parametrize("max_block_size", [None, 4])
def test_incremental_run_equals_a_full_run(tmp_path: Path, max_block_size: int | None) -> None:
    inc = tmp_path / "incremental"
    generate_company(inc, people=400, seed=3)
    if max_block_size is not None:  # small: keys cross the hot-key cap either way
        config = inc / "c360.yaml"
        text = config.read_text(encoding="utf-8")
        assert "max_block_size: 50\n" in text
        config.write_text(
            text.replace("max_block_size: 50\n", f"max_block_size: {max_block_size}\n"),
            encoding="utf-8",
        )
    first = run_project(inc, SilentReporter())
    assert first.kind == "full"
    issued = _issued(inc)
    _mutate(inc, seed=11)
    full = tmp_path / "full"
    shutil.copytree(inc, full)

    incremental = run_project(inc, SilentReporter())
    rerun = run_project(full, SilentReporter(), full=True)
    assert incremental.kind == "incremental" and rerun.kind == "full"
    assert {"service", "shop", "orders", "cases", "email_events"} <= set(incremental.unchanged)
    assert incremental.ids_changed > 0  # the changes did move records between customers
    if max_block_size is not None:
        con = duckdb.connect(str(inc / "c360.duckdb"), read_only=True)
        (metrics,) = con.execute(
            "SELECT metrics FROM runs WHERE kind = 'incremental'"
        ).fetchone() or ("",)
        con.close()
        assert '"hot_key_flips": 0,' not in metrics  # records were dirtied by crossing the cap

    a, b = _state(inc, issued), _state(full, issued)
    for key in a:
        assert a[key] == b[key], key
    assert incremental.customers == rerun.customers
    assert incremental.redirects == rerun.redirects
    assert incremental.events == rerun.events


def test_no_change_rerun_is_incremental_and_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "company"
    generate_company(root, people=150, seed=5)
    run_project(root, SilentReporter())
    before = _state(root, _issued(root))
    summary = run_project(root, SilentReporter())
    assert summary.kind == "incremental"
    assert summary.ids_changed == 0 and summary.new_customers == 0
    assert set(summary.unchanged) == {"crm", "service", "marketing", "shop", "orders", "cases",
                                      "email_events", "web_visits"}  # fmt: skip
    assert _state(root, _issued(root)) == before


def test_changed_settings_make_a_full_run(tmp_path: Path) -> None:
    root = tmp_path / "company"
    generate_company(root, people=100, seed=5)
    run_project(root, SilentReporter())
    config = root / "c360.yaml"
    text = config.read_text(encoding="utf-8")
    assert "threshold: 0.9\n" in text
    config.write_text(text.replace("threshold: 0.9\n", "threshold: 0.95\n"), encoding="utf-8")
    assert run_project(root, SilentReporter()).kind == "full"
    assert run_project(root, SilentReporter()).kind == "incremental"
