"""Write a realistic company's customer data, with the truth about who is who.

    >>> truth = generate_company(Path("demo"), people=10_000, seed=7)  # doctest: +SKIP
    >>> truth.records["crm"]  # doctest: +SKIP
    6298

`folder/data/` gets one CSV per system: four people sources (CRM contacts, service-desk
requesters, marketing subscribers, shop customers) and four event sources (orders, cases,
email events, web visits). `folder/truth.csv` says which person every people record belongs
to, and `folder/c360.yaml` is a commented project over the data. Everything derives from the
seed and a fixed reference date (`persons.REFERENCE`), so a seed writes the same bytes on
every machine and every day.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from c360.demo.events import write_events
from c360.demo.persons import draw_persons
from c360.demo.project_file import PROJECT_YAML
from c360.demo.records import Table, write_people

__all__ = ["DemoTruth", "generate_company"]

DATA_FOLDER = "data"
TRUTH_FILE = "truth.csv"
PROJECT_FILE = "c360.yaml"


@dataclass(frozen=True)
class DemoTruth:
    """What `generate_company` wrote, and what a correct resolution must find.

    `records` counts people records per people source (crm, service, marketing, shop);
    `events` counts rows per event source (orders, cases, email_events, web_visits), of which
    `unresolvable_web_visits` carry no email and must be reported as "no known person".
    """

    folder: Path
    truth_file: Path
    config_file: Path
    people: int
    records: dict[str, int]
    events: dict[str, int]
    unresolvable_web_visits: int

    @property
    def total_records(self) -> int:
        return sum(self.records.values())


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    # "\n" line ends, UTF-8 without BOM: the same bytes on every platform.
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _truth_rows(tables: Sequence[Table]) -> Iterable[tuple[str, str, str]]:
    for table in tables:
        for row, person_id in zip(table.rows, table.person_ids, strict=True):
            yield table.name, row[0], person_id


def generate_company(folder: Path, people: int = 10_000, seed: int = 7) -> DemoTruth:
    """Write the demo company's data, truth file and `c360.yaml` into `folder`.

    Existing files of the same names are overwritten; nothing else in `folder` is touched.
    """
    if people < 1:
        raise ValueError(f"people must be at least 1, got {people}")
    rng = random.Random(seed)
    persons = draw_persons(people, rng)
    people_tables, issued = write_people(persons, rng)
    event_tables, unresolvable = write_events(issued, rng)

    data = folder / DATA_FOLDER
    data.mkdir(parents=True, exist_ok=True)
    for table in (*people_tables, *event_tables):
        _write_csv(data / table.file_name, table.header, table.rows)
    truth_file = folder / TRUTH_FILE
    _write_csv(truth_file, ("source", "record_id", "person_id"), _truth_rows(people_tables))
    config_file = folder / PROJECT_FILE
    config_file.write_text(PROJECT_YAML, encoding="utf-8", newline="\n")
    return DemoTruth(
        folder=folder,
        truth_file=truth_file,
        config_file=config_file,
        people=people,
        records={t.name: len(t.rows) for t in people_tables},
        events={t.name: len(t.rows) for t in event_tables},
        unresolvable_web_visits=unresolvable,
    )
