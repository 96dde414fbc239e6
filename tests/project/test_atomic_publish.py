"""A run publishes completely or not at all: kill -9 at any point leaves the last state."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from c360.progress import SilentReporter
from c360.project.run import run_project
from c360.store import DuckDBStore
from tests.project.conftest import CRM, write_project


def _state(root: Path) -> tuple[dict[tuple[str, str], str], int, int]:
    with DuckDBStore(root / "c360.duckdb", read_only=True) as store:
        links = {
            (r["source"], r["record_id"]): r["customer_id"]
            for r in store.query("SELECT source, record_id, customer_id FROM links")
        }
        runs = store.query("SELECT count(*) AS n FROM runs")[0]["n"]
        golden = store.query("SELECT count(*) AS n FROM golden")[0]["n"]
    return links, runs, golden


@pytest.mark.parametrize(
    "point", ["prepared", "clustered", "publish:records", "publish:golden", "publish:events"]
)
def test_kill_9_at_any_point_keeps_the_published_state(tmp_path: Path, point: str) -> None:
    root = write_project(tmp_path / "p")
    run_project(root, SilentReporter())
    before = _state(root)
    # New data, so that a completed second run would change what is published.
    write_project(
        root,
        crm=[
            *CRM,
            [
                "c6",
                "Carlos",
                "Lopez",
                "c.lopez@mail.com",
                "713-555-0188",
                "1 Cedar Blvd",
                "2025-01-01",
            ],
        ],
    )
    with subprocess.Popen(
        [sys.executable, "-m", "c360", "run", "-q"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "C360_PAUSE_AT": point},
    ) as process:
        assert process.stdout is not None
        line = process.stdout.readline()
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert line.strip() == f"paused at {point}"

    assert _state(root) == before  # complete, readable, and unchanged
    summary = run_project(root, SilentReporter())  # the dead run's lock is taken over
    links, runs, _ = _state(root)
    assert runs == before[1] + 1 and ("crm", "c6") in links
    assert summary.ids_changed == 0
