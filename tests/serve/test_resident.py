"""The match index kept in memory: a file's pages locked, grown with it, let go on close — and
read as before when the system refuses."""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import pytest

from c360.serve import resident
from c360.serve.resident import ResidentFile

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status")

MB = 1 << 20


def _locked_here() -> int:
    """Bytes this process holds locked (Linux's VmLck)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmLck:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmLck in /proc/self/status")


def _file(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path


def _extend(held: ResidentFile) -> int:
    added = held.extend()
    if held.reason is not None and "cannot be locked" in held.reason:
        pytest.skip(f"this machine does not let the tests lock memory: {held.reason}")
    return added


def test_a_file_is_locked_grown_and_let_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _file(tmp_path / "index.sqlite", 3 * MB)
    before = _locked_here()
    held = ResidentFile(path)
    try:
        assert _extend(held) == 3 * MB
        assert held.reason is None and held.locked == 3 * MB
        assert _locked_here() - before >= 3 * MB
        assert held.extend() == 0  # nothing new

        with path.open("ab") as f:  # a publish adds pages
            f.write(os.urandom(MB + 123))
        assert held.extend() == 0  # too little to be worth a mapping of its own
        monkeypatch.setattr(resident, "MIN_GROWTH", MB)
        assert held.extend() == MB + 123
        assert held.locked == 4 * MB + 123
        assert _locked_here() - before >= 4 * MB
    finally:
        held.close()
    assert _locked_here() == before
    assert held.locked == 0


def test_a_replaced_file_is_let_go_for_the_new_one(tmp_path: Path) -> None:
    path = _file(tmp_path / "index.sqlite", 4 * MB)
    before = _locked_here()
    held = ResidentFile(path)
    try:
        _extend(held)
        _file(tmp_path / "new.sqlite", MB).replace(path)  # an index built again
        assert held.extend() == MB
        assert held.locked == MB
        assert MB <= _locked_here() - before < 2 * MB  # the old file's pages are unlocked
    finally:
        held.close()


def test_a_refused_lock_leaves_the_file_to_the_page_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resident, "_lock", lambda address, length: errno.EPERM)
    path = _file(tmp_path / "index.sqlite", MB)
    before = _locked_here()
    held = ResidentFile(path)
    assert held.extend() == 0
    assert held.locked == 0 and _locked_here() == before
    assert held.reason is not None and "ulimit -l" in held.reason
    assert held.extend() == 0  # not tried again
    held.close()


def test_a_file_too_big_for_the_machine_is_not_locked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resident, "_memory", lambda: 2 * MB)
    held = ResidentFile(_file(tmp_path / "index.sqlite", MB))
    assert held.extend() == 0
    assert held.reason is not None and "quarter of the machine's memory" in held.reason
    held.close()


def test_a_missing_file_is_a_reason_not_an_error(tmp_path: Path) -> None:
    held = ResidentFile(tmp_path / "gone.sqlite")
    assert held.extend() == 0
    assert held.reason is not None and "cannot be read" in held.reason


def test_the_service_keeps_its_read_model_in_memory_and_lets_it_go_on_close(
    tmp_path: Path,
) -> None:
    from c360.progress import SilentReporter
    from c360.project.run import run_project
    from tests.project.conftest import write_project
    from tests.serve.conftest import serve_project

    root = write_project(tmp_path / "acme")
    run_project(root, SilentReporter())
    before = _locked_here()
    for s in serve_project(root):
        views = s.app.state.service.views
        if views.resident.reason is not None and "cannot be locked" in views.resident.reason:
            pytest.skip(f"this machine does not let the tests lock memory: {views.resident.reason}")
        assert views.resident.reason is None
        assert views.resident.locked == views.path.stat().st_size > 0
        assert _locked_here() >= before + views.resident.locked
        metrics = s.client.get("/metrics", headers=s.headers()).text
        assert f"c360_read_model_locked_bytes {float(views.resident.locked)}" in metrics
    assert views.resident.locked == 0 and _locked_here() == before
