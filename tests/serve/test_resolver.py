"""Writes answered from memory: the answer is what the run publishes, the record resolved is
the record the run stores, and nothing answered is lost when the service stops first."""

from __future__ import annotations

import random
import shutil
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from c360.demo import generate_company
from c360.progress import SilentReporter
from c360.project.run import run_project
from c360.serve.journal import Journal
from c360.serve.resolution import Resolution
from c360.serve.service import Service
from c360.serve.writes import WritesPaused
from tests.project.conftest import c360
from tests.serve.test_write_api import _people_rows


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("answers") / "acme"
    generate_company(root, people=150, seed=21)
    run_project(root, SilentReporter())
    return root


def _copy(company: Path, tmp_path: Path) -> Path:
    """A copy of the served company for a test that writes to it."""
    root = tmp_path / "acme"
    shutil.copytree(company, root, ignore=shutil.ignore_patterns(".c360*"))
    return root


def _paths(service: Service) -> dict[str, float]:
    return {
        s.labels["path"]: s.value
        for m in service.metrics.answers.collect()
        for s in m.samples
        if s.name.endswith("_total")
    }


def test_answers_are_what_the_run_publishes(company: Path, tmp_path: Path) -> None:
    """Known people under new ids, changed emails and phones, and deletes, from every source:
    each answer names the customer the publish gives, IDs issued by answers included."""
    root = _copy(company, tmp_path)
    rows = _people_rows(root)
    random.Random(4).shuffle(rows)
    service = Service(root)
    try:
        answered: dict[tuple[str, str], str | None] = {}
        writer = service.writer
        for k, (source, record_id, row) in enumerate(rows[:90]):
            if k % 3 == 0:
                result = writer.upsert(source, {f"again-{k}": {**row, **_no_id(root, source)}})
            elif k % 3 == 1:
                changed = {
                    c: (f"new{k}@mail.example" if c == "email" else v) for c, v in row.items()
                }
                result = writer.upsert(source, {record_id: changed})
            else:
                result = writer.delete(source, record_id)
            answered |= {(s, r): c for s, r, c in result.records}
        writer.drain()
        paths = _paths(service)
        assert service.metrics.revised._value.get() == 0
        assert paths.get("resolved", 0) >= 80, paths  # most answered before their publish
        published = {
            (r["source"], r["record_id"]): r["customer_id"]
            for r in service.store.query("SELECT source, record_id, customer_id FROM links")
        }
    finally:
        service.close()
    for key, customer in answered.items():
        assert published.get(key) == customer, key


def _no_id(root: Path, source: str) -> dict[str, str | None]:
    """A row's id column left out (the path names the record)."""
    from c360.project.config import load_project

    config = load_project(root / "c360.yaml")
    (people,) = [s for s in config.people if s.name == source]
    assert people.id is not None
    return {people.id: None}


def test_records_built_in_memory_are_the_records_the_run_stores(
    company: Path, tmp_path: Path
) -> None:
    root = _copy(company, tmp_path)
    rows = _people_rows(root)[::7][:25]
    service = Service(root)
    try:
        writer = service.writer
        inputs = writer.resolver_inputs()
        assert inputs is not None
        resolver = inputs.resolver()  # in this process, to look at its records
        built = {}
        for k, (source, record_id, row) in enumerate(rows):
            fields = {**row, "email": f"  Someone.{k}@Mail.Example "} if k % 2 else row
            writer.upsert(source, {record_id: fields})
            table = writer._rows(writer._source(source), {record_id: fields})
            (record,) = resolver.live[source].build(table, source)
            built[(source, record_id)] = record
        writer.drain()
        stored = service.store.query_arrow("SELECT * FROM match_records").to_pylist()
    finally:
        service.close()
    by_key = {(r["source"], r["_id"]): r for r in stored}
    for key, record in built.items():
        kept = by_key[key]
        for column, value in record.items():
            assert kept.get(column) == value, (key, column)


def test_answered_writes_survive_a_stop_before_their_publish(company: Path, tmp_path: Path) -> None:
    root = _copy(company, tmp_path)
    source, _, row = _people_rows(root)[3]
    service = Service(root)
    try:
        writer = service.writer
        answered = threading.Event()

        def fails(*_: object) -> None:
            # Both writes are answered before the publish fails: a write taken after the
            # failure is refused (below), so the order must not be left to the scheduler.
            answered.wait(30)
            raise OSError("the machine went away")

        writer._publish = fails  # type: ignore[method-assign]
        first = writer.upsert(source, {"kept-1": {**row, **_no_id(root, source)}})
        fresh = writer.upsert(source, {"kept-2": {"first_name": "Quentin", "last_name": "Zyx",
                                                  "email": "q.zyx@nowhere.example"}})  # fmt: skip
        answered.set()
        assert writer.drain(timeout=30)
        with pytest.raises(WritesPaused):  # publishing failed: taking more could reorder them
            writer.upsert(source, {"kept-3": {"first_name": "Ann"}})
        promised = {**{r: c for _, r, c in first.records}, **{r: c for _, r, c in fresh.records}}
    finally:
        service.close()
    journal = Journal(root)
    assert len(journal.entries()) == 2  # on disk, not published
    journal.close()
    refused = c360("run", cwd=root)  # a run would leave them behind
    assert refused.returncode == 2 and "2 writes answered" in refused.stderr, refused.stderr

    service = Service(root)  # publishes what the journal kept, before serving
    try:
        links = {
            r["record_id"]: r["customer_id"]
            for r in service.store.query(
                "SELECT record_id, customer_id FROM links WHERE record_id IN ('kept-1', 'kept-2')"
            )
        }
        assert links == promised  # with the IDs the answers gave
        assert service.views.get(promised["kept-2"]) is not None
    finally:
        service.close()
    journal = Journal(root)
    assert journal.entries() == []
    journal.close()


def test_an_answer_the_publish_revises_still_resolves(company: Path, tmp_path: Path) -> None:
    """Were an answer ever wrong, the publish wins, is counted, and the ID it promised still
    resolves (invariant 2): to the customer the record went to."""
    root = _copy(company, tmp_path)
    source, record_id, row = _people_rows(root)[5]
    service = Service(root)
    try:
        writer = service.writer
        resolver = writer._current_resolver()
        assert resolver is not None
        honest = resolver.resolve

        def wrong(*args: Any) -> Resolution:
            r = honest(*args)
            key = (source, "again")
            return replace(r, customers={key: "C-PROMISED"}, reserved={key: "C-PROMISED"})

        resolver.resolve = wrong  # type: ignore[method-assign]
        answer = writer.upsert(source, {"again": {**row, **_no_id(root, source)}})
        assert answer.records == [(source, "again", "C-PROMISED")]
        writer.drain()
        assert service.metrics.revised._value.get() == 1
        actual = writer._customers_of(source, ["again", record_id])
        assert actual["again"] == actual[record_id]  # the record joined its person
        current, _ = service.store.resolve_id("C-PROMISED")
        assert current == [actual[record_id]]
    finally:
        service.close()


def test_a_resolving_process_that_dies_costs_one_slow_answer(company: Path, tmp_path: Path) -> None:
    """The write at hand is published, then answered; the next write has a new process."""
    root = _copy(company, tmp_path)
    rows = _people_rows(root)
    service = Service(root)
    try:
        writer = service.writer
        resolver = writer._current_resolver()
        assert resolver is not None
        resolver._process.kill()
        (source, _, row), (other, _, row2) = rows[10], rows[11]
        slow = writer.upsert(source, {"after-kill": {**row, **_no_id(root, source)}})
        assert slow.published and slow.run_id is not None
        fast = writer.upsert(other, {"after-restart": {**row2, **_no_id(root, other)}})
        assert not fast.published
        assert writer._current_resolver() is not resolver
        writer.drain()
        assert service.metrics.revised._value.get() == 0
    finally:
        service.close()
    assert not resolver._process.is_alive()


def test_the_resolving_process_warms_up_on_every_source(company: Path) -> None:
    from c360.serve.resolver_process import warm_up

    service = Service(company)
    try:
        inputs = service.writer.resolver_inputs()
        assert inputs is not None
        resolver = inputs.resolver()
        assert warm_up(resolver, per_source=2) == 2 * len(resolver.live)
        resolver.index.close()
    finally:
        service.close()
