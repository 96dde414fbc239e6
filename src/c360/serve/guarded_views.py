"""Guarded 360 views kept for the next read: a restricting role's view is worked out once.

A role whose policy masks or hides something in a view cannot be sent the rendered view as it is
(`Guard.untouched`): the view is parsed, guarded and written out again, about 100 µs for a
view of 4 KB, a sixth of what the whole read costs otherwise. The result depends on nothing but
the rendered view, the role (whose policy does not change while serving) and whether the
customer refuses processing. So it is kept, by role and customer, with the version of the view
it came from (`ReadModel.version`: a hash of the kept bytes, and the visits they count today): a
read finds it again only while the read model holds the same view, and without rendering it;
once a write renders the view again, or a visit ages out, the next read guards the new one.

The cache is bounded (`MAX_BYTES`; the views kept longest go first) and lives in the service's
memory only; erasing a person empties it, so that nothing of theirs outlives the erasure there
either. It is read and written on the event loop alone.

The guarded views are kept in one anonymous memory map of `MAX_BYTES`, written round like a ring,
not as Python objects. Kept as tens of thousands of objects of a few kB on the service's heap,
beside everything else it allocates, they slowed the reads of every other role: in one process,
8-10 µs a read (of 180) while the cache was full, against its reads before and after emptying it;
kept in a map of their own, not measurably.
"""

from __future__ import annotations

import mmap
from collections import deque
from collections.abc import Callable, Hashable, Sequence

__all__ = ["MAX_BYTES", "GuardedViews"]

MAX_BYTES = 64 * 1024 * 1024

# (role, customer, refuses processing) → (version of the view, where its guarded view is kept
# and how long it is, the fields it answers with).
_Key = tuple[str, str, bool]
_Entry = tuple[Hashable, int, int, tuple[str, ...]]


class GuardedViews:
    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._ring = mmap.mmap(-1, max_bytes)  # pages are taken as they are first written
        self._entries: dict[_Key, _Entry] = {}
        self._written: deque[tuple[_Key, int]] = deque()  # (key, where), oldest first
        self._end = 0  # where the next guarded view goes

    def get(
        self,
        role: str,
        customer_id: str,
        refusing: bool,
        version: Hashable,
        guard: Callable[[], tuple[bytes, Sequence[str]]],
    ) -> tuple[bytes, tuple[str, ...], bool]:
        """The guarded view of this `version` of a customer's view for this role, the fields
        it answers with, and whether it was kept: as kept, if it was guarded from the same
        version (a hash: two versions of one customer's view that collided would cost that
        customer a stale view, nothing of anyone else), else `guard()`, kept."""
        key = (role, customer_id, refusing)
        kept = self._entries.get(key)
        if kept is not None and kept[0] == version:
            return self._ring[kept[1] : kept[1] + kept[2]], kept[3], True
        body, fields = guard()
        shown = tuple(fields)
        self._entries.pop(key, None)
        self._keep(key, version, body, shown)
        return body, shown, False

    def _keep(self, key: _Key, version: Hashable, body: bytes, shown: tuple[str, ...]) -> None:
        size = len(body)
        if size > self.max_bytes:
            return
        if self._end + size > self.max_bytes:
            # Round to the start: what is kept after this point is the oldest, and goes.
            while self._written and self._written[0][1] >= self._end:
                self._let_go()
            self._end = 0
        # What the new view is written over goes.
        while self._written and self._end <= self._written[0][1] < self._end + size:
            self._let_go()
        self._ring[self._end : self._end + size] = body
        self._entries[key] = (version, self._end, size, shown)
        self._written.append((key, self._end))
        self._end += size

    def _let_go(self) -> None:
        key, where = self._written.popleft()
        entry = self._entries.get(key)
        if entry is not None and entry[1] == where:  # not guarded again since, elsewhere
            del self._entries[key]

    def clear(self) -> None:
        """Forget every guarded view, its bytes included (a new map: the old one's pages go
        back to the operating system)."""
        self._ring.close()
        self._ring = mmap.mmap(-1, self.max_bytes)
        self._entries.clear()
        self._written.clear()
        self._end = 0

    def __len__(self) -> int:
        return len(self._entries)
