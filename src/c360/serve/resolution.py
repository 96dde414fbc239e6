"""What a write does to identities, known before it is published: its customers, and what its
answer rests on and its publish changes (`Token`s), by which writes waiting to be published are
kept apart (`c360.serve.pending`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from c360.project.neighbourhood import Key
from c360.serve.live_records import Record

__all__ = ["Resolution", "Token"]

# What a write reads or may change: ("key", rule, key), ("record", source, id), ("customer", id).
Token = tuple[str, ...]


@dataclass(frozen=True)
class Resolution:
    """What a write does to identities, known before it is published."""

    source: str
    customers: dict[Key, str | None]  # each written record's customer after the write
    existed: frozenset[Key]  # the written records the store held before
    changed: frozenset[Key]  # the written records whose content changed (or are gone)
    # The change-feed entries the write makes (golden-record changes aside): new, merge,
    # split, retired.
    changes: list[dict[str, Any]] = field(default_factory=list)
    reserved: dict[Key, str] = field(default_factory=dict)  # new customer IDs, by record
    # What the answer rests on (the blocks of the keys written, the records it
    # re-clusters and their customers), and what its publish changes (the records and
    # customers it re-clusters, the blocking keys it moves): a later write must not rest on
    # what a waiting one changes, nor change what a waiting one rests on.
    reads: frozenset[Token] = frozenset()
    writes: frozenset[Token] = frozenset()
    customer_ids: frozenset[str] = frozenset()  # its customers, before and after
    # The new versions of the changed records, and per blocking key the write moves: its
    # holders in the match index before the write, and how many the write adds (or takes
    # away). With them, a later write that shares only keys with this one can be shown not to
    # rest on it (`c360.serve.pending.apart`).
    fresh: tuple[Record, ...] = ()
    blocks: Mapping[Token, tuple[int, int]] = field(default_factory=dict)

    @property
    def unchanged(self) -> bool:
        return not self.changed
