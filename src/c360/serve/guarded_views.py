"""Guarded 360 views kept for the next read: a restricting role's view is worked out once.

A role whose policy masks or hides something in a view cannot be sent the rendered view as it is
(`Guard.untouched`): the view is parsed, guarded and written out again, about 100 µs for a
view of 4 KB, a sixth of what the whole read costs otherwise. The result depends on nothing but
the rendered view, the role (whose policy does not change while serving) and whether the
customer refuses processing. So it is kept, by role and customer, with the version of the view
it came from (`ReadModel.version`: a hash of the kept bytes, and the visits they count today): a
read finds it again only while the read model holds the same view, and without rendering it;
once a write renders the view again, or a visit ages out, the next read guards the new one.

The cache is bounded (`MAX_BYTES`, the least recently read out first) and lives in the service's
memory only; erasing a person empties it, so that nothing of theirs outlives the erasure there either.
It is read and written on the event loop alone.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence

__all__ = ["MAX_BYTES", "GuardedViews"]

MAX_BYTES = 64 * 1024 * 1024

# (role, customer, refuses processing) → (version of the view, guarded view, its fields):
# tuples of strings and numbers, which the garbage collector stops tracking.
_Key = tuple[str, str, bool]
_Entry = tuple[Hashable, bytes, tuple[str, ...]]


class GuardedViews:
    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[_Key, _Entry] = OrderedDict()
        self._bytes = 0

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
        seen = version
        kept = self._entries.get(key)
        if kept is not None and kept[0] == seen:
            self._entries.move_to_end(key)
            return kept[1], kept[2], True
        body, fields = guard()
        if kept is not None:
            self._bytes -= len(kept[1])
            del self._entries[key]
        shown = tuple(fields)
        self._entries[key] = (seen, body, shown)
        self._bytes += len(body)
        while self._bytes > self.max_bytes and self._entries:
            self._bytes -= len(self._entries.popitem(last=False)[1][1])
        return body, shown, False

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)
