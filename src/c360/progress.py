"""How long-running stages report progress and findings without knowing who is listening.

The pipeline calls a `Reporter`; the command line renders it with Rich, the Python API and
tests use `SilentReporter`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

__all__ = ["Advance", "Reporter", "SilentReporter", "timed"]

Advance = Callable[[int], None]


class Reporter(Protocol):
    def step(self, title: str, total: int | None = None) -> Any:
        """A context manager around one step; yields an `Advance` for steps with a total."""

    def event(self, value: object) -> None:
        """A finding worth showing the user (a typed value from the pipeline)."""

    def warn(self, message: str) -> None: ...


class SilentReporter:
    def __init__(self) -> None:
        self.events: list[object] = []
        self.warnings: list[str] = []

    @contextmanager
    def step(self, title: str, total: int | None = None) -> Iterator[Advance]:
        yield lambda n: None

    def event(self, value: object) -> None:
        self.events.append(value)

    def warn(self, message: str) -> None:
        self.warnings.append(message)


@contextmanager
def timed(timings: dict[str, float], name: str) -> Iterator[None]:
    """Add the time spent in the block to `timings[name]` (where a run's time goes)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - start
