"""The writes answered but not yet published: what each read and changes, and who waits.

A write is resolved against the match index, which reflects only published writes. So a write
that would read what a waiting one changes (or change what a waiting one read) waits for that
publish and is resolved again; a read of a customer a waiting write involves waits for it too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from c360.serve.journal import JournalEntry
from c360.serve.resolver import Resolution, Token

__all__ = ["READ_WAIT_SECONDS", "Pending", "Waiting"]

# How long a read waits for the publish of a customer's write before it answers anyway.
READ_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class Waiting:
    entry: JournalEntry
    reads: frozenset[Token]
    writes: frozenset[Token]
    customer_ids: frozenset[str]
    answered: float = field(default_factory=time.monotonic)


def _count(counts: dict[Any, int], items: Iterable[Any], step: int) -> None:
    for item in items:
        n = counts.get(item, 0) + step
        if n:
            counts[item] = n
        else:
            del counts[item]


class Pending:
    """The journalled writes not yet published: what they read and change, and who waits for
    them."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._waiting: dict[int, Waiting] = {}
        self.reads: dict[Token, int] = {}
        self.writes: dict[Token, int] = {}
        self.customers: dict[str, int] = {}
        # Set when waiting writes cannot be published: nobody waits for them any more (they
        # stay journalled for the next start).
        self.failed = False

    def fail(self) -> None:
        with self._changed:
            self.failed = True
            self._changed.notify_all()

    def add(self, waiting: Waiting) -> None:
        with self._changed:
            self._waiting[waiting.entry.seq] = waiting
            _count(self.reads, waiting.reads, 1)
            _count(self.writes, waiting.writes, 1)
            _count(self.customers, waiting.customer_ids, 1)
            self._changed.notify_all()

    def remove(self, seqs: Iterable[int]) -> None:
        with self._changed:
            for seq in seqs:
                waiting = self._waiting.pop(seq)
                _count(self.reads, waiting.reads, -1)
                _count(self.writes, waiting.writes, -1)
                _count(self.customers, waiting.customer_ids, -1)
            self._changed.notify_all()

    def _overlap(self, reads: Iterable[Token], writes: Iterable[Token]) -> bool:
        return any(t in self.writes for t in reads) or any(t in self.reads for t in writes)

    def overlaps(self, resolution: Resolution) -> bool:
        """Whether a resolution read what a waiting write changes, or changes what it read."""
        with self._changed:
            return self._overlap(resolution.reads, resolution.writes)

    def wait_clear(self, resolution: Resolution) -> None:
        """Until no waiting write overlaps this resolution."""
        with self._changed:
            self._changed.wait_for(
                lambda: self.failed or not self._overlap(resolution.reads, resolution.writes)
            )

    def batch(self, timeout: float) -> list[Waiting]:
        """The writes waiting (in journal order), once there are some or `timeout` passed."""
        with self._changed:
            if not self._waiting:
                self._changed.wait(timeout)
            return [self._waiting[s] for s in sorted(self._waiting)]

    def wait_for(self, customer_id: str, timeout: float = READ_WAIT_SECONDS) -> None:
        """Until no waiting write involves this customer."""
        with self._changed:
            self._changed.wait_for(
                lambda: self.failed or customer_id not in self.customers, timeout
            )

    def room(self, most: int) -> bool:
        """Until fewer than `most` writes wait; whether it had to wait."""
        with self._changed:
            if self.failed or len(self._waiting) < most:
                return False
            self._changed.wait_for(lambda: self.failed or len(self._waiting) < most)
            return True

    def drain(self, timeout: float | None = None) -> bool:
        """Until every journalled write is published; False if `timeout` passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: self.failed or not self._waiting, timeout)

    def __len__(self) -> int:
        with self._changed:
            return len(self._waiting)
