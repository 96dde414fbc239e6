"""The demo company: files, truth, determinism, and a project file that fits the data."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from c360.demo import DemoTruth, generate_company
from c360.demo.pools import CALL_CENTRE_PHONE
from c360.project.config import load_project

PEOPLE = 500

HEADERS = {
    "crm_contacts.csv": [
        "contact_id", "first_name", "last_name", "email", "phone", "mobile", "company", "street",
        "city", "state", "zip", "created_at", "modified_at",
    ],
    "service_requesters.csv": ["requester_id", "full_name", "email", "phone", "updated"],
    "marketing_subscribers.csv": [
        "subscriber_id", "email", "first_name", "last_name", "opted_in", "updated_at",
    ],
    "shop_customers.csv": [
        "customer_no", "name", "email", "phone", "birth_date", "address", "city", "postcode",
        "last_login",
    ],
    "shop_orders.csv": [
        "order_id", "customer_no", "ordered_at", "status", "total", "currency", "items",
    ],
    "service_cases.csv": [
        "case_id", "requester_id", "opened_at", "status", "subject", "channel", "priority",
    ],
    "email_events.csv": ["event_id", "email", "event", "campaign", "occurred_at"],
    "web_visits.csv": ["visit_id", "email", "page", "occurred_at", "duration_s", "device"],
}  # fmt: skip
PEOPLE_FILES = {
    "crm": "crm_contacts.csv",
    "service": "service_requesters.csv",
    "marketing": "marketing_subscribers.csv",
    "shop": "shop_customers.csv",
}
EVENT_FILES = {
    "orders": "shop_orders.csv",
    "cases": "service_cases.csv",
    "email_events": "email_events.csv",
    "web_visits": "web_visits.csv",
}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh))


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.csv"))}


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> DemoTruth:
    return generate_company(tmp_path_factory.mktemp("demo"), people=PEOPLE, seed=7)


def test_every_file_is_written_with_its_systems_columns(company: DemoTruth) -> None:
    for name, header in HEADERS.items():
        assert _header(company.folder / "data" / name) == header, name
    assert _header(company.truth_file) == ["source", "record_id", "person_id"]
    assert company.config_file.is_file()


def test_truth_names_every_people_record_exactly_once(company: DemoTruth) -> None:
    truth = Counter((r["source"], r["record_id"]) for r in _rows(company.truth_file))
    ids = {"crm": "contact_id", "service": "requester_id"}
    ids |= {"marketing": "subscriber_id", "shop": "customer_no"}
    records = Counter(
        (source, row[ids[source]])
        for source, name in PEOPLE_FILES.items()
        for row in _rows(company.folder / "data" / name)
    )
    assert max(records.values()) == 1, "a record id repeats inside a system"
    assert truth == records
    assert len({r["person_id"] for r in _rows(company.truth_file)}) == PEOPLE


def test_the_counts_match_the_files(company: DemoTruth) -> None:
    data = company.folder / "data"
    assert company.people == PEOPLE
    assert company.records == {s: len(_rows(data / f)) for s, f in PEOPLE_FILES.items()}
    assert company.events == {s: len(_rows(data / f)) for s, f in EVENT_FILES.items()}
    assert company.total_records == len(_rows(company.truth_file))


def test_the_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    generate_company(tmp_path / "a", people=PEOPLE, seed=3)
    generate_company(tmp_path / "b", people=PEOPLE, seed=3)
    generate_company(tmp_path / "c", people=PEOPLE, seed=4)
    first, again = _snapshot(tmp_path / "a"), _snapshot(tmp_path / "b")
    assert first == again
    assert (tmp_path / "a" / "c360.yaml").read_bytes() == (
        tmp_path / "b" / "c360.yaml"
    ).read_bytes()
    other = _snapshot(tmp_path / "c")
    assert first.keys() == other.keys()
    assert all(first[name] != other[name] for name in first)


def test_the_project_file_loads_and_names_only_columns_that_exist(company: DemoTruth) -> None:
    config = load_project(company.config_file)
    assert config.project == "demo"
    assert [s.name for s in config.people] == list(PEOPLE_FILES)
    assert [e.name for e in config.events] == list(EVENT_FILES)
    for source in config.people:
        assert source.file is not None
        header = _header(company.folder / source.file)
        named = [source.id, source.updated_at, *source.fields]
        assert [c for c in named if c not in header] == [], source.name
    for event in config.events:
        assert event.file is not None
        header = _header(company.folder / event.file)
        link = event.person
        named = [event.id, event.occurred_at, event.status, event.amount, *event.attributes]
        named += [link.record_id, link.email, link.phone]
        assert [c for c in named if c is not None and c not in header] == [], event.name


def test_persons_spread_over_systems_and_repeat_inside_one(company: DemoTruth) -> None:
    systems: defaultdict[str, list[str]] = defaultdict(list)
    for row in _rows(company.truth_file):
        systems[row["person_id"]].append(row["source"])
    in_several = sum(len(set(s)) >= 2 for s in systems.values())
    repeated = sum(len(s) > len(set(s)) for s in systems.values())
    assert in_several > PEOPLE * 0.3
    assert PEOPLE * 0.02 < repeated < PEOPLE * 0.2


def test_event_keys_point_at_records_that_exist(company: DemoTruth) -> None:
    data = company.folder / "data"
    customer_nos = {r["customer_no"] for r in _rows(data / "shop_customers.csv")}
    requester_ids = {r["requester_id"] for r in _rows(data / "service_requesters.csv")}
    assert {r["customer_no"] for r in _rows(data / "shop_orders.csv")} <= customer_nos
    assert {r["requester_id"] for r in _rows(data / "service_cases.csv")} <= requester_ids


def test_some_web_visits_tie_to_nobody_on_purpose(company: DemoTruth) -> None:
    visits = _rows(company.folder / "data" / "web_visits.csv")
    anonymous = sum(1 for v in visits if not v["email"])
    assert anonymous == company.unresolvable_web_visits > 0
    assert anonymous / len(visits) < 0.05


def test_sign_in_systems_hold_one_record_per_email(company: DemoTruth) -> None:
    for source in ("service", "marketing", "shop"):
        emails = Counter(
            r["email"].lower() for r in _rows(company.folder / "data" / PEOPLE_FILES[source])
        )
        assert max(emails.values()) == 1, source


def test_the_call_centre_line_is_the_commonest_requester_phone(company: DemoTruth) -> None:
    rows = _rows(company.folder / "data" / "service_requesters.csv")
    phone, holders = Counter(r["phone"] for r in rows if r["phone"]).most_common(1)[0]
    assert phone == CALL_CENTRE_PHONE
    assert holders >= 3


def test_fewer_than_one_person_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        generate_company(tmp_path, people=0)


def test_events_fall_in_the_two_years_before_the_reference_date(company: DemoTruth) -> None:
    data = company.folder / "data"
    columns = {
        "shop_orders.csv": "ordered_at",
        "service_cases.csv": "opened_at",
        "email_events.csv": "occurred_at",
        "web_visits.csv": "occurred_at",
    }
    for name, column in columns.items():
        times = sorted(r[column] for r in _rows(data / name))
        # ISO text sorts as time; the systems differ only after the date.
        assert times[0] >= "2024-11-01", name
        assert times[-1] < "2026-11-01", name
