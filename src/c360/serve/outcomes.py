"""What a write through the API answers, and the ways it can be refused."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from c360.errors import C360Error

__all__ = ["NeedsRun", "UnknownSource", "WriteRefused", "WriteResult", "WritesPaused"]


class UnknownSource(C360Error):
    """No people source of that name."""


class NeedsRun(C360Error):
    """The store cannot take a real-time write until `c360 run` has run (again)."""


class WriteRefused(C360Error):
    """The record could not be taken (a bad row); the reason says why."""


class WritesPaused(C360Error):
    """Answered writes could not be published: no write is taken until the service restarts."""


@dataclass(frozen=True)
class WriteResult:
    # The run that published the write; None when it was answered before its publish.
    run_id: str | None
    # Per record written: (source, record id, its customer now — None once deleted).
    records: list[tuple[str, str, str | None]]
    # The change-feed entries: as published (with `seq`), or, answered before the publish,
    # the identity entries it makes (new, merge, split, retired; no `seq` yet).
    changes: list[dict[str, Any]] = field(default_factory=list)
    unchanged: bool = False
    # Records of a batch the run could not take, with why (the others were taken).
    refused: list[str] = field(default_factory=list)
    existed: frozenset[str] = frozenset()  # the ids written that the store held before
    # Where the time went, by step, in seconds (sent as the answer's Server-Timing header).
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def published(self) -> bool:
        return self.run_id is not None
