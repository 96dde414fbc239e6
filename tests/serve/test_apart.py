"""A write that shares only blocking keys with writes not yet published is answered at once,
unless a new record of one links with the other's or a block crosses the cap."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pyarrow as pa

from c360.progress import SilentReporter
from c360.project.run import run_project
from c360.serve.journal import JournalEntry
from c360.serve.pending import Waiting, apart
from c360.serve.resolution import Resolution
from tests.project.conftest import write_project
from tests.serve.conftest import Served, serve_project

RULES = [("email",), ("street", "house_number")]
HOUSE = ("key", "1", '["birch lane", "9"]')


def _resolution(
    record_id: str, email: str, blocks: dict[tuple[str, ...], tuple[int, int]]
) -> Resolution:
    fresh = {"_id": record_id, "email": email, "street": "birch lane", "house_number": "9"}
    return Resolution("crm", {}, frozenset(), frozenset({("crm", record_id)}),
                      fresh=(fresh,), blocks=blocks)  # fmt: skip


def _waiting(resolution: Resolution) -> Waiting:
    entry = JournalEntry(1, "crm", pa.table({}), [], {}, {}, "2026-01-01T00:00:00")
    return Waiting(entry, resolution)


def test_apart_scores_the_new_records_that_share_a_key_and_keeps_blocks_on_one_side_of_the_cap() -> (
    None
):
    asked: list[list[Any]] = []

    def links(answer: bool) -> Any:
        def ask(pairs: list[Any]) -> bool:
            asked.append(pairs)
            return answer

        return ask

    waiting = _waiting(_resolution("c1", "nora@one.example", {HOUSE: (3, 1)}))
    mine = _resolution("c2", "omar@two.example", {HOUSE: (3, 1)})
    # Two holders more keep the block of 3 under the cap of 5: apart, once the new records
    # are shown not to link, each pair asked once, each record with its key.
    assert apart(mine, [HOUSE], [waiting], 5, RULES, links(False))
    assert [[(a, b["_id"], c, d["_id"]) for a, b, c, d in pairs] for pairs in asked] == [
        [(("crm", "c2"), "c2", ("crm", "c1"), "c1")]
    ]
    assert not apart(mine, [HOUSE], [waiting], 5, RULES, links(True))
    # One of them alone keeps the block at the cap; both take it over: not apart, unasked.
    asked.clear()
    assert not apart(mine, [HOUSE], [waiting], 4, RULES, links(False))
    # Hot whichever lands (holders of a hot key counted up to the cap and one more): no pair
    # is compared in it, so nothing to ask.
    hot = _resolution("c2", "omar@two.example", {HOUSE: (7, 1)})
    assert apart(hot, [HOUSE], [waiting], 5, RULES, links(True))
    # A waiting write that takes a holder away may cool the block: not apart.
    leaving = _waiting(_resolution("c1", "nora@one.example", {HOUSE: (6, -1)}))
    assert not apart(_resolution("c2", "o@two.example", {HOUSE: (6, 0)}), [HOUSE], [leaving],
                     5, RULES, links(False))  # fmt: skip
    assert asked == []


def _put(s: Served, record_id: str, name: tuple[str, str], email: str, phone: str) -> Any:
    fields = {"first_name": name[0], "last_name": name[1], "email": email, "phone": phone,
              "street": "9 Birch Lane", "modified": "2025-06-01"}  # fmt: skip
    return s.client.put(f"/sources/crm/records/{record_id}", json={"fields": fields},
                        headers=s.headers("writer"))  # fmt: skip


def _steps(answer: Any) -> dict[str, float]:
    parts = (p.strip().split(";dur=") for p in answer.headers["server-timing"].split(","))
    return {step: float(ms) for step, ms in parts}


def test_a_household_written_while_publishing_waits_answers_at_once_and_publishes_as_answered(
    tmp_path: Path,
) -> None:
    root = write_project(tmp_path / "acme")
    run_project(root, SilentReporter())
    for s in serve_project(root):
        service = s.app.state.service
        answers: dict[str, Any] = {}

        def put(
            record_id: str, *args: Any, s: Served = s, answers: dict[str, Any] = answers
        ) -> threading.Thread:
            thread = threading.Thread(
                target=lambda: answers.update({record_id: _put(s, record_id, *args)})
            )
            thread.start()
            return thread

        nora = (("Nora", "Quinn"), "nora.quinn@one.example", "(503) 555-0101")
        service.write_lock.acquire()  # the publishing thread waits: answered writes stay unpublished
        try:
            put("h1", *nora).join(30)
            # Her neighbour shares only the address's blocking key with her waiting record.
            put("h2", ("Omar", "Reyes"), "omar.reyes@two.example", "(503) 555-0199").join(30)
            assert set(answers) == {"h1", "h2"} and len(service.writer.pending) == 2
            assert "overlap" not in _steps(answers["h2"])
            # Nora again under another id links with her waiting record: it waits for it.
            again = put("h3", *nora)
            again.join(1.5)
            assert again.is_alive() and "h3" not in answers
        finally:
            service.write_lock.release()
        again.join(60)
        assert all(a.status_code == 200 for a in answers.values())
        assert _steps(answers["h3"])["overlap"] > 0
        service.writer.drain()
        metrics = s.client.get("/metrics", headers=s.headers()).text
        assert _counted(metrics, "c360_write_apart_total") == 1
        assert _counted(metrics, "c360_write_answers_revised_total") == 0
        published = {str(r["record_id"]): str(r["customer_id"]) for r in service.reader().query(
            "SELECT record_id, customer_id FROM links WHERE record_id IN ('h1', 'h2', 'h3')")}  # fmt: skip
        said = {k: answers[k].json()["records"][0]["customer_id"] for k in answers}
        assert published == said
        assert said["h1"] == said["h3"] != said["h2"]


def _counted(metrics: str, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", metrics, re.MULTILINE)
    assert found is not None, name
    return float(found.group(1))
