"""The writes answered but not yet published: what each read and changes, and who waits.

A write is resolved against the match index, which reflects only published writes. So a write
that would read what a waiting one changes (or change what a waiting one read) waits for that
publish and is resolved again; a read of a customer a waiting write involves waits for it too.
Writes about people who merely share a blocking key (a household's address, a common name in
one postcode) need not wait for each other: `apart` shows when neither answer rests on the
other.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from c360.project.neighbourhood import Key, key_of
from c360.serve.journal import JournalEntry
from c360.serve.live_records import Record
from c360.serve.resolution import Resolution, Token

__all__ = ["READ_WAIT_SECONDS", "Pending", "Waiting", "apart"]

# How long a read waits for the publish of a customer's write before it answers anyway.
READ_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class Waiting:
    entry: JournalEntry
    resolution: Resolution
    answered: float = field(default_factory=time.monotonic)

    @property
    def reads(self) -> frozenset[Token]:
        return self.resolution.reads

    @property
    def writes(self) -> frozenset[Token]:
        return self.resolution.writes

    @property
    def customer_ids(self) -> frozenset[str]:
        return self.resolution.customer_ids


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

    def _shared(self, resolution: Resolution) -> set[Token]:
        """What a resolution read that a waiting write changes, or changes that one read."""
        shared = {t for t in resolution.reads if t in self.writes}
        shared |= {t for t in resolution.writes if t in self.reads}
        return shared

    def overlapping(self, resolution: Resolution) -> list[Token]:
        """What of a resolution a waiting write changes or read."""
        with self._changed:
            return sorted(self._shared(resolution))

    def sharing_keys(self, resolution: Resolution) -> tuple[list[Token], list[Waiting]] | None:
        """When all a resolution shares with the waiting writes is blocking keys: those keys
        (none: it shares nothing), and the waiting writes that move one. None when it shares
        anything else."""
        with self._changed:
            shared = self._shared(resolution)
            if any(t[0] != "key" for t in shared):
                return None
            others = [w for w in self._waiting.values()
                      if not shared.isdisjoint(w.resolution.blocks)]  # fmt: skip
        return sorted(shared), others

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


def apart(
    resolution: Resolution,
    keys: list[Token],
    others: list[Waiting],
    cap: int,
    rules: list[tuple[str, ...]],
    links: Callable[[list[tuple[Key, Record, Key, Record]]], bool],
) -> bool:
    """Whether a write and the waiting writes that move some of its blocking `keys` (all they
    share) leave each other's answers as they are, though each was resolved without the other.

    Their records meet only in those keys' blocks. Resolved together, each write's new records
    would have been compared with the other's there, and each block would count both writes'
    holders. So they are apart when, for every shared key, no new record of one `links` with a
    new record of the other, and the block's size stays on one side of `cap` (its rules'
    `max_block_size`) whichever of the writes land. (An old version that either write
    replaces, linked with the other's record, is a record both touch: not a key alone.)
    `rules` are the blocking rules' fields, as tokens number them."""
    mine = _holding(rules, resolution, keys)
    held = [_holding(rules, w.resolution, keys) for w in others]
    pairs: list[tuple[Key, Record, Key, Record]] = []
    for token in keys:
        stored, change = resolution.blocks.get(token, (0, 0))
        changes = [change] + [w.resolution.blocks[token][1] for w in others
                              if token in w.resolution.blocks]  # fmt: skip
        # A count of the cap or more may be a lower bound: still enough to tell "hot".
        most = stored + sum(c for c in changes if c > 0)
        least = stored + sum(c for c in changes if c < 0)
        if least > cap:
            continue  # hot whichever land: the block selects no pairs
        if most > cap:
            return False
        for theirs in held:
            pairs += [(*a, *b) for a in mine.get(token, []) for b in theirs.get(token, [])]
    return not pairs or not links(pairs)


def _holding(
    rules: list[tuple[str, ...]], resolution: Resolution, keys: list[Token]
) -> dict[Token, list[tuple[Key, Record]]]:
    """The new records of a resolution that hold each of these blocking keys."""
    wanted = set(keys)
    out: dict[Token, list[tuple[Key, Record]]] = {}
    for r in resolution.fresh:
        for n, fields in enumerate(rules):
            key = key_of(r.get(f) for f in fields)
            if key is not None and (token := ("key", str(n), key)) in wanted:
                out.setdefault(token, []).append(((resolution.source, str(r["_id"])), r))
    return out
