"""Shared fixtures: small real-looking inputs written to a temporary folder."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def febrl1() -> Path:
    return DATA / "febrl1.csv"


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def pairwise_f1(predicted: dict[str, str], truth: dict[str, str]) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 of a clustering against the true entities."""

    def pairs(groups: Counter[object]) -> int:
        return sum(n * (n - 1) // 2 for n in groups.values())

    tp = pairs(Counter((predicted[k], truth[k]) for k in predicted))
    pp, tt = pairs(Counter(predicted.values())), pairs(Counter(truth.values()))
    precision, recall = (tp / pp if pp else 1.0), (tp / tt if tt else 1.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


PEOPLE = [
    ("John", "Smith", "john.smith@example.org", "(415) 555-2671", "1980-03-14", "12 Main St", "San Francisco", "94105"),
    ("Maria", "Garcia", "mgarcia@mail.com", "312-867-5309", "1975-11-02", "400 Oak Ave", "Chicago", "60601"),
    ("Wei", "Chen", "wei.chen@corp.net", "+1 646 555 0134", "1990-07-21", "88 Pine Rd", "New York", "10001"),
    ("Aisha", "Khan", "aisha.k@web.io", "206 555 0199", "1985-01-30", "5 Lake Dr", "Seattle", "98101"),
    ("Robert", "Johnson", "bob.johnson@post.com", "(617) 555-0142", "1962-09-09", "77 Elm St", "Boston", "02108"),
    ("Emily", "Davis", "emily.davis@home.us", "503-555-0110", "1995-05-05", "19 Birch Ln", "Portland", "97201"),
    ("Carlos", "Lopez", "c.lopez@mail.com", "713-555-0188", "1970-12-25", "250 Cedar Blvd", "Houston", "77002"),
    ("Hannah", "Muller", "hannah.muller@mail.de", "303-555-0107", "1988-08-18", "3 Aspen Ct", "Denver", "80202"),
]  # fmt: skip
