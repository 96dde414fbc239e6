"""The read side of `c360 serve`: keys, the 360 view, search, timeline, records, explain, the
change feed, metrics, and errors as problem details."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from c360.progress import SilentReporter
from c360.project.run import run_project
from c360.serve.keys import KeyRing
from c360.store import Decision, DuckDBStore
from c360.store.duckdb_store import now
from tests.project.conftest import c360, write_project
from tests.serve.conftest import Served, serve_project

PROBLEM = "application/problem+json"


def _customer_of(served: Served, email: str) -> str:
    r = served.client.get("/customers", params={"email": email}, headers=served.headers())
    assert r.status_code == 200, r.text
    (hit,) = r.json()["customers"]
    return str(hit["customer_id"])


def test_health_needs_no_key_and_everything_else_does(served: Served) -> None:
    health = served.client.get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok" and health.json()["last_change"] > 0
    for path in ("/customers?name=john", "/changes", "/metrics", "/explain?a=crm:c1&b=shop:s1"):
        r = served.client.get(path)
        assert r.status_code == 401, path
        assert r.headers["content-type"] == PROBLEM
        assert r.headers["www-authenticate"] == "Bearer"
        assert "c360 keys create" in r.json()["detail"]
    wrong = served.keys["reader"][:-2] + "zz"
    r = served.client.get("/changes", headers={"X-API-Key": wrong})
    assert r.status_code == 401 and "not valid" in r.json()["detail"]
    # The same key as a bearer token.
    r = served.client.get("/changes", headers={"Authorization": f"Bearer {served.keys['reader']}"})
    assert r.status_code == 200
    # A malformed Authorization header is refused, even beside a valid key.
    both = {"X-API-Key": served.keys["reader"], "Authorization": served.keys["reader"]}
    r = served.client.get("/changes", headers=both)
    assert r.status_code == 401 and "Bearer <key>" in r.json()["detail"]


def test_a_revoked_key_is_refused_from_the_next_request(served: Served) -> None:
    ring = KeyRing(served.root)
    text, key = ring.create("reader", ["reader"], note="temporary")
    assert served.client.get("/changes", headers={"X-API-Key": text}).status_code == 200
    ring.revoke(key.key_id)
    assert served.client.get("/changes", headers={"X-API-Key": text}).status_code == 401
    stored = (served.root / ".c360-keys.json").read_text()
    assert text not in stored and key.sha256 in stored  # only the hash is kept
    assert (served.root / ".c360-keys.json").stat().st_mode & 0o077 == 0


def test_search_standardises_contact_points_and_matches_names_fuzzily(served: Served) -> None:
    john = _customer_of(served, " John.Smith@EXAMPLE.org ")
    h = served.headers()
    by_phone = served.client.get("/customers", params={"phone": "415.555.2671"}, headers=h)
    assert [c["customer_id"] for c in by_phone.json()["customers"]] == [john]
    by_name = served.client.get("/customers", params={"name": "Jon Smith"}, headers=h).json()
    assert by_name["customers"][0]["customer_id"] == john
    assert by_name["customers"][0]["family_name"] == "Smith"
    nobody = served.client.get("/customers", params={"email": "no.one@nowhere.example"}, headers=h)
    assert nobody.status_code == 200 and nobody.json()["customers"] == []


@pytest.mark.parametrize(
    "params",
    [{}, {"email": "a@b.example", "name": "x"}, {"email": "not an email"}, {"phone": "12"},
     {"name": "x", "limit": "0"}, {"name": "x", "limit": "many"}],
)  # fmt: skip
def test_bad_searches_are_422_naming_the_field(served: Served, params: dict[str, str]) -> None:
    r = served.client.get("/customers", params=params, headers=served.headers())
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == 422 and body["detail"]
    if "limit" in params:
        assert body["errors"][0]["field"] == "query.limit"


def test_a_query_parameter_given_twice_is_422_naming_it(served: Served) -> None:
    r = served.client.get("/customers?name=Ann&name=Bob&email=a@b.example",
                          headers=served.headers())  # fmt: skip
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    (error,) = r.json()["errors"]
    assert error["field"] == "query.name" and "2 times" in error["message"], error


def test_the_360_view(served: Served) -> None:
    john = _customer_of(served, "john.smith@example.org")
    r = served.client.get(f"/customers/{john}", headers=served.headers())
    assert r.status_code == 200
    view = r.json()
    assert view["customer_id"] == john and view["asked"] == john and view["redirects"] == []
    golden = {g["field"]: g for g in view["golden"]}
    assert golden["given_name"]["value"] == "John"  # source_priority: crm first
    assert golden["given_name"]["source"] == "crm" and golden["given_name"]["rule"]
    assert {(r["source"], r["record_id"]) for r in view["records"]} == {
        ("crm", "c1"),
        ("shop", "s1"),
    }
    assert {p["kind"] for p in view["contact_points"]} >= {"email", "phone"}
    assert [e["event_id"] for e in view["timeline"]] == ["k1", "o2", "o1"]  # newest first
    insights = view["insights"]
    assert insights["lifetime_value"] == 120.5 and insights["orders"] == 2
    assert insights["open_cases"] == 1 and "open case" in insights["flags"]


def test_unknown_customer_is_404_problem(served: Served) -> None:
    for path in ("/customers/C-NOPE", "/customers/C-NOPE/timeline", "/customers/C-NOPE/records"):
        r = served.client.get(path, headers=served.headers())
        assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
        assert "C-NOPE" in r.json()["detail"]


def test_timeline_pages_and_filters(served: Served) -> None:
    john = _customer_of(served, "john.smith@example.org")
    h = served.headers()
    first = served.client.get(f"/customers/{john}/timeline", params={"limit": 2}, headers=h).json()
    assert [e["event_id"] for e in first["events"]] == ["k1", "o2"]
    assert first["next_offset"] == 2
    rest = served.client.get(
        f"/customers/{john}/timeline", params={"limit": 2, "offset": 2}, headers=h
    ).json()
    assert [e["event_id"] for e in rest["events"]] == ["o1"] and rest["next_offset"] is None
    service = served.client.get(
        f"/customers/{john}/timeline", params={"department": "service"}, headers=h
    ).json()
    assert [e["type"] for e in service["events"]] == ["case"]
    window = served.client.get(
        f"/customers/{john}/timeline",
        params={"type": "order", "since": "2025-02-01", "until": "2025-03-01"},
        headers=h,
    ).json()
    assert [e["event_id"] for e in window["events"]] == ["o2"]


def test_records_and_explain(served: Served) -> None:
    john = _customer_of(served, "john.smith@example.org")
    h = served.headers()
    records = served.client.get(f"/customers/{john}/records", headers=h).json()["records"]
    crm = next(r for r in records if r["source"] == "crm")
    assert crm["raw"]["first_name"] == "John"
    r = served.client.get("/explain", params={"a": "crm:c1", "b": "shop:s1"}, headers=h)
    assert r.status_code == 200
    e = r.json()
    assert e["same_customer"] is True and e["match_probability"] > e["threshold"]
    assert {f["field"] for f in e["fields"]} >= {"email", "family_name"}
    apart = served.client.get("/explain", params={"a": "crm:c1", "b": "shop:s2"}, headers=h)
    assert apart.json()["same_customer"] is False
    missing = served.client.get("/explain", params={"a": "crm:c1", "b": "shop:nope"}, headers=h)
    assert missing.status_code == 404 and "shop:nope" in missing.json()["detail"]
    bad = served.client.get("/explain", params={"a": "c1", "b": "shop:s1"}, headers=h)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.a"


def test_change_feed_pages_with_a_cursor(served: Served) -> None:
    h = served.headers()
    page = served.client.get("/changes", params={"limit": 2}, headers=h).json()
    assert [c["seq"] for c in page["changes"]] == [1, 2] and page["next"] == 2
    everything = served.client.get("/changes", params={"since": 0}, headers=h).json()["changes"]
    assert [c["seq"] for c in everything] == list(range(1, len(everything) + 1))
    customers = {c["customer_id"] for c in everything if c["kind"] == "new"}
    assert len(customers) == 6  # every customer of the first run was issued once
    last = everything[-1]["seq"]
    assert served.client.get("/changes", params={"since": last}, headers=h).json() == {
        "changes": [], "next": last}  # fmt: skip


def test_change_stream_sends_server_sent_events(served: Served) -> None:
    events = []
    with served.client.stream(
        "GET", "/changes/stream", params={"since": 3}, headers=served.headers()
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("id: "):
                events.append(int(line[4:]))
            if len(events) == 2:
                break
    assert events == [4, 5]


def test_metrics_in_prometheus_format(served: Served) -> None:
    served.client.get("/health")
    r = served.client.get("/metrics", headers=served.headers())
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert 'c360_http_requests_total{method="GET",route="/health",status="200"}' in r.text
    assert "c360_customers 6.0" in r.text


def test_oversized_body_is_413_problem(served: Served) -> None:
    r = served.client.post("/changes", content=b"x" * (5 * 1024 * 1024), headers=served.headers())
    assert r.status_code == 413 and r.headers["content-type"] == PROBLEM
    assert "bytes" in r.json()["detail"]


def test_other_commands_say_the_project_is_served(served: Served) -> None:
    for args in (["run"], ["profile", "--email", "john.smith@example.org"]):
        done = c360(*args, cwd=served.root)
        assert done.returncode == 2, done.stderr
        assert "being served" in done.stderr and "Traceback" not in done.stderr


def test_an_old_id_answers_with_where_it_went(tmp_path: Path) -> None:
    """A steward links two customers: the younger ID redirects to the older, the feed says so."""
    root = write_project(tmp_path / "acme")
    run_project(root, SilentReporter())
    with DuckDBStore(root / "c360.duckdb") as store:
        ids = {r["record_id"]: r["customer_id"] for r in store.query("SELECT * FROM links")}
        store.add_decision(Decision(("crm", "c4"), ("shop", "s9"), "link", now()))
    run_project(root, SilentReporter())
    for s in serve_project(root):
        views = {i: s.client.get(f"/customers/{i}", headers=s.headers()).json()
                 for i in (ids["c4"], ids["s9"])}  # fmt: skip
        (gone,) = [i for i, v in views.items() if v["customer_id"] != i]
        view = s.client.get(f"/customers/{gone}", headers=s.headers()).json()
        kept = view["customer_id"]
        assert {ids["c4"], ids["s9"]} == {gone, kept}
        assert view["redirects"][0]["reason"] == "merge"
        assert {(r["source"], r["record_id"]) for r in view["records"]} == {("crm", "c4"),
                                                                            ("shop", "s9")}  # fmt: skip
        feed = s.client.get("/changes", params={"since": 6}, headers=s.headers()).json()
        kinds = {(c["kind"], c["customer_id"], c["other_id"]) for c in feed["changes"]}
        assert ("merge", kept, gone) in kinds and ("golden", kept, None) in kinds
        assert json.loads(json.dumps(feed))  # plain JSON


def test_a_retired_id_is_410_with_its_redirect(tmp_path: Path) -> None:
    """Emily's only record is deleted at the source: her ID is retired, and says so."""
    from tests.project.conftest import SHOP

    root = write_project(tmp_path / "acme")
    run_project(root, SilentReporter())
    with DuckDBStore(root / "c360.duckdb") as store:
        (emily,) = [r["customer_id"] for r in store.query(
            "SELECT customer_id FROM links WHERE record_id = 's9'")]  # fmt: skip
    write_project(root, shop=[row for row in SHOP if row[0] != "s9"])
    run_project(root, SilentReporter())
    for s in serve_project(root):
        for path in (f"/customers/{emily}", f"/customers/{emily}/timeline"):
            r = s.client.get(path, headers=s.headers())
            assert r.status_code == 410, r.text
            assert r.headers["content-type"] == PROBLEM and "retired" in r.json()["detail"]
        feed = s.client.get("/changes", params={"since": 6}, headers=s.headers()).json()
        assert ("retired", None, emily) in {
            (c["kind"], c["customer_id"], c["other_id"]) for c in feed["changes"]}  # fmt: skip
