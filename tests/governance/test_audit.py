"""The audit log: appended from several writers, queried, and any edit, removal or cut-off
found by `verify`."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import orjson

from c360.governance import AuditEntry, AuditLog
from c360.governance.audit import AUDIT_FILE
from tests.project.conftest import c360, write_project


def _log_with(root: Path, n: int) -> AuditLog:
    log = AuditLog(root)
    for i in range(n):
        log.record(AuditEntry(f"key:{i % 3}", "sales", "customer.read", f"C{i}", ("email",)))
    return log


def test_entries_chain_and_verify(tmp_path: Path) -> None:
    log = _log_with(tmp_path, 5)
    other = AuditLog(tmp_path)  # a second writer (the command line beside the service)
    other.record(AuditEntry("cli:ops", "admin", "run", detail={"run_id": "R-1"}))
    other.close()
    log.note("key:9", "sales", "customer.read", "C9", ["*"], {})
    log.note("key:8", "sales", "customer.read", "C8", ["email"], {"n": 1})  # a request's way
    log.note("key:7", "sales", "customer.read", "C7", ["email"])  # no detail: kept as null
    log.flush()
    verdict = log.verify()
    assert verdict.ok and verdict.entries == 9 and verdict.head.startswith("9:")
    assert log.entries(actor="key:7")[0]["detail"] == {}
    noted = log.entries(actor="key:8")[0]
    assert noted["fields"] == ["email"] and noted["detail"] == {"n": 1}
    assert noted["at"][:10] == AuditEntry("x", "y", "z").at[:10] and noted["at"].endswith("+00:00")
    assert [e["customer_id"] for e in log.entries(actor="key:0")] == ["C0", "C3"]
    assert log.entries(action="run")[0]["detail"] == {"run_id": "R-1"}
    assert [e["seq"] for e in log.entries(since=5)] == [6, 7, 8, 9]
    assert [e["customer_id"] for e in log.entries(customer_ids=["C9", "C0", "C3"])] == [
        "C0", "C3", "C9"]  # fmt: skip
    log.close()


def test_noted_times_are_written_as_datetime_writes_them(tmp_path: Path) -> None:
    """Reads' entries are written out without a `datetime` each; the text is the same."""
    times = [1_795_000_000.0, 1_795_000_000.123456, 1_795_000_000.9999996, 1_795_000_059.5]
    log = AuditLog(tmp_path)
    for at in times:
        log.append_batch(
            orjson.dumps([(at, "key:1", "sales", "customer.read", "C1", ["email"], {})]), 1, at
        )
    written = [e["at"] for e in log.entries()]
    assert written == [datetime.fromtimestamp(round(at, 6), UTC).isoformat(timespec="microseconds")
                       for at in times]  # fmt: skip
    assert log.verify().ok
    log.close()


def test_a_flush_is_one_row_whose_entries_are_listed_and_checked_one_by_one(
    tmp_path: Path,
) -> None:
    log = _log_with(tmp_path, 2)
    for i in range(5):  # a flush of the service's queue: one row of the log
        log.note(f"key:{i % 2}", "sales", "customer.read", f"C-{i}", ["email"], {})
    log.flush()
    log.record(AuditEntry("cli:ops", "admin", "run"))
    assert (
        sqlite3.connect(tmp_path / AUDIT_FILE).execute("SELECT count(*) FROM audit").fetchone()[0]
        == 4
    )
    assert [e["seq"] for e in log.entries()] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [e["customer_id"] for e in log.entries(actor="key:1")] == ["C1", "C-1", "C-3"]
    # Paged through: every entry once, a batch cut across pages too.
    seen, since = [], 0
    while page := log.entries(since=since, limit=2):
        seen += [e["seq"] for e in page]
        since = page[-1]["seq"]
    assert seen == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [e["seq"] for e in log.entries(customer_ids=["C-2", "C-4"])] == [5, 7]
    verdict = log.verify()
    assert verdict.ok and verdict.entries == 8 and verdict.head.startswith("8:")
    log.close()
    # One entry of a batch edited, or the batch removed: found.
    _tamper(tmp_path, "UPDATE audit SET detail = replace(detail, 'C-2', 'C-9') WHERE seq = 7")
    assert AuditLog(tmp_path).verify().problem == "entry 7 was changed after it was written"
    _tamper(tmp_path, "DELETE FROM audit WHERE seq = 7")
    assert AuditLog(tmp_path).verify().problem == "entry 3 is missing (the next is 8)"


def test_batches_written_before_with_their_times_as_text_still_list_and_verify(
    tmp_path: Path,
) -> None:
    """Until batches were stored as the service sent them, their entries' times were written
    out and their detail encoded with sorted keys, and that text hashed."""
    log = _log_with(tmp_path, 1)
    (_, prev), = log._db.execute("SELECT seq, hash FROM audit").fetchall()  # fmt: skip
    entries = [["2026-11-01T10:00:00.000001+00:00", "key:1", "sales", "customer.read", "C7",
                ["email"], {"b": 1, "a": 2}]]  # fmt: skip
    detail = orjson.dumps({"entries": entries}, option=orjson.OPT_SORT_KEYS)
    head = orjson.dumps([2, entries[-1][0], "c360 serve", "-", "batch", None, []])
    digest = hashlib.sha256(prev.encode() + b"\n" + head[:-1] + b"," + detail + b"]").hexdigest()
    log._db.execute("INSERT INTO audit VALUES (2, ?, 'c360 serve', '-', 'batch', NULL, '[]', ?,"
                    " ?, ?)", (entries[-1][0], detail.decode(), prev, digest))  # fmt: skip
    log.note("key:2", "sales", "customer.read", "C8", ["*"], {})
    log.flush()
    old = log.entries(customer_ids=["C7"])
    assert [(e["seq"], e["at"], e["detail"]) for e in old] == [
        (2, "2026-11-01T10:00:00.000001+00:00", {"a": 2, "b": 1})]  # fmt: skip
    assert [e["customer_id"] for e in log.entries()] == ["C0", "C7", "C8"]
    verdict = log.verify()
    assert verdict.ok and verdict.entries == 3
    log.close()
    _tamper(tmp_path, "UPDATE audit SET actor = 'someone' WHERE seq = 2")
    assert AuditLog(tmp_path).verify().problem == "entry 2 was changed after it was written"


def _tamper(root: Path, sql: str) -> None:
    with sqlite3.connect(root / AUDIT_FILE) as db:
        db.execute(sql)


def test_an_edited_entry_is_found(tmp_path: Path) -> None:
    _log_with(tmp_path, 5).close()
    _tamper(tmp_path, "UPDATE audit SET customer_id = 'C-other' WHERE seq = 3")
    verdict = AuditLog(tmp_path).verify()
    assert not verdict.ok and verdict.problem == "entry 3 was changed after it was written"
    assert verdict.entries == 2


def test_a_removed_entry_is_found_even_with_the_chain_redone_after_it(tmp_path: Path) -> None:
    _log_with(tmp_path, 5).close()
    _tamper(tmp_path, "DELETE FROM audit WHERE seq = 2")
    verdict = AuditLog(tmp_path).verify()
    assert not verdict.ok and verdict.problem == "entry 2 is missing (the next is 3)"
    # Renumbered to hide the gap: entry 3's hash no longer chains.
    _tamper(tmp_path, "UPDATE audit SET seq = seq - 1 WHERE seq > 2")
    verdict = AuditLog(tmp_path).verify()
    assert not verdict.ok and "does not chain" in (verdict.problem or "")


def test_entries_cut_off_the_end_are_found_against_a_kept_head(tmp_path: Path) -> None:
    log = _log_with(tmp_path, 5)
    head = log.verify().head
    log.close()
    _tamper(tmp_path, "DELETE FROM audit WHERE seq >= 4")
    assert AuditLog(tmp_path).verify().ok  # a shorter chain is a valid chain…
    verdict = AuditLog(tmp_path).verify(head)  # …but the head kept elsewhere is gone
    assert not verdict.ok and "cut off the end" in (verdict.problem or "")


def test_audit_cli_lists_and_verifies(tmp_path: Path) -> None:
    root = write_project(tmp_path / "acme")
    made = c360("keys", "create", "--role", "reader", cwd=root)
    assert made.returncode == 0, made.stderr
    listed = c360("audit", "list", "--json", cwd=root)
    assert listed.returncode == 0 and '"action": "key.create"' in listed.stdout
    assert made.stdout.strip() not in listed.stdout  # a key's secret is never logged
    ok = c360("audit", "verify", cwd=root)
    assert ok.returncode == 0 and "chain intact over 1 entry; head 1:" in ok.stderr
    _tamper(root, "UPDATE audit SET role = 'admin2'")
    bad = c360("audit", "verify", cwd=root)
    assert bad.returncode == 2 and "tampered with: entry 1 was changed" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_batch_that_cannot_be_written_stays_queued(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    assert log.verify(log.verify().head).ok  # the head of an empty log is a head too
    log.note("key:1", "sales", "customer.read", "C1", [], {})
    real = log.append_batch

    def locked(*batch: object) -> None:
        raise sqlite3.OperationalError("database is locked")

    log.append_batch = locked  # type: ignore[method-assign]
    with contextlib.suppress(sqlite3.OperationalError):
        log.flush()
    log.append_batch = real  # type: ignore[method-assign]
    log.note("key:1", "sales", "customer.read", "C2", [], {})
    log.flush()
    assert [e["customer_id"] for e in log.entries()] == ["C1", "C2"]
    log.close()


def test_the_service_writes_from_a_process_of_its_own_and_on_without_it(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    log.start()
    writer = log._writer
    assert writer is not None and writer.alive
    log.note("key:1", "sales", "customer.read", "C1", ["email"], {})
    log.flush()  # committed by the process when this returns
    assert [e["customer_id"] for e in log.entries()] == ["C1"]
    if hasattr(os, "SCHED_IDLE"):  # it runs on time no other task wants
        assert os.sched_getscheduler(writer._process.pid or 0) == os.SCHED_IDLE
    writer._process.kill()  # it dies: the batch at hand is written by the service itself
    writer._process.join()
    log.note("key:1", "sales", "customer.read", "C2", ["email"], {"n": 2})
    log.note("key:2", "admin", "customer.read", "C3", [], {})
    log.flush()
    assert log._writer is None
    assert [e["customer_id"] for e in log.entries()] == ["C1", "C2", "C3"]
    assert log.entries(customer_id="C2")[0]["detail"] == {"n": 2}
    assert log.verify().ok
    log.close()


def test_closing_writes_what_is_queued_and_stops_the_process(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    log.start()
    writer = log._writer
    assert writer is not None
    log.note("key:1", "sales", "customer.read", "C1", ["*"], {})
    log.close()
    assert not writer.alive
    reopened = AuditLog(tmp_path)
    assert [e["customer_id"] for e in reopened.entries()] == ["C1"] and reopened.verify().ok
    reopened.close()
