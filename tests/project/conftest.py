"""A small company, written by hand so that every expected answer is known."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_csv

CRM = [
    ["c1", "John", "Smith", "john.smith@example.org", "(415) 555-2671", "12 Main St", "2024-01-05"],
    ["c2", "Maria", "Garcia", "mgarcia@mail.com", "312-867-5309", "400 Oak Ave", "2024-02-01"],
    ["c3", "Wei", "Chen", "wei.chen@corp.net", "+1 646 555 0134", "88 Pine Rd", "2024-03-01"],
    ["c4", "Aisha", "Khan", "aisha.k@web.io", "206 555 0199", "5 Lake Dr", "2024-04-01"],
    [
        "c5",
        "Robert",
        "Johnson",
        "bob.johnson@post.com",
        "(617) 555-0142",
        "77 Elm St",
        "2023-05-01",
    ],
]
SHOP = [
    ["s1", "SMITH, Johnny", "JOHN.SMITH@EXAMPLE.ORG", "1980-03-14", "2024-06-01"],
    ["s2", "Maria Garcia", "mgarcia@mail.com", "1975-11-02", "2023-01-01"],
    ["s3", "Wei Chen", "wei.chen@corp.net", "1990-07-21", "2025-01-01"],
    ["s5", "Bob Johnson", "bob.johnson@post.com", "1962-09-09", "2025-02-01"],
    ["s9", "Emily Davis", "emily.davis@home.us", "1995-05-05", "2025-03-01"],
]
ORDERS = [
    ["o1", "s1", "2025-01-10T10:00:00", "paid", "120.50"],
    ["o2", "s1", "2025-02-11T11:00:00", "refunded", "30"],
    ["o3", "s2", "2025-03-12T12:00:00", "paid", "99.99"],
    ["o4", "s404", "2025-03-13T12:00:00", "paid", "10"],
    ["o5", "s9", "not a date", "paid", "5"],
]
CASES = [
    ["k1", "john.smith@example.org", "2025-04-01T09:00:00", "open"],
    ["k2", "nobody@nowhere.example", "2025-04-02T09:00:00", "closed"],
]
PROJECT = """\
project: test
people:
  - name: crm
    file: data/crm.csv
    id: contact_id
    updated_at: modified
    department: sales
  - name: shop
    file: data/shop.csv
    id: customer_no
    updated_at: last_login
    department: commerce
    fields: {name: full_name}
events:
  - name: orders
    file: data/orders.csv
    type: order
    department: commerce
    id: order_id
    occurred_at: ordered_at
    status: status
    amount: total
    person: {source: shop, record_id: customer_no}
  - name: cases
    file: data/cases.csv
    type: case
    department: service
    id: case_id
    occurred_at: opened_at
    status: status
    person: {email: email}
golden:
  default: most_recent
  source_priority: [crm, shop]
  fields:
    given_name: {rule: source_priority}
"""


def write_project(root: Path, crm: list[list[str]] = CRM, shop: list[list[str]] = SHOP) -> Path:
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    write_csv(
        data / "crm.csv",
        ["contact_id", "first_name", "last_name", "email", "phone", "street", "modified"],
        crm,
    )
    write_csv(data / "shop.csv", ["customer_no", "name", "email", "birth_date", "last_login"], shop)
    write_csv(
        data / "orders.csv", ["order_id", "customer_no", "ordered_at", "status", "total"], ORDERS
    )
    write_csv(data / "cases.csv", ["case_id", "email", "opened_at", "status"], CASES)
    (root / "c360.yaml").write_text(PROJECT, encoding="utf-8")
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "acme")


def c360(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "c360", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env={**os.environ, **(env or {})},
    )
