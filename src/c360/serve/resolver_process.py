"""Real-time resolution in a process of its own, so that no publish slows an answer down.

A resolution is a few milliseconds of Python around a few dozen SQLite lookups. The publishing
thread (`c360.serve.publishing`) runs Python too, between its DuckDB statements. Sharing one
interpreter, the two convoy: a lookup gives up the interpreter lock for every row SQLite
returns, the publishing thread takes it, and the lookup has it back only when the publisher's
time slice ends. Resolutions that take 3 ms (p50) and 15 ms (p99) alone took 25 ms and 170 ms
beside a thread running Python (`bench/resolve_only.py`, with a busy thread added).

So the service resolves in a child process with an interpreter of its own. It reads the match
index beside the publishing thread, which writes it (SQLite's write-ahead log lets another
process read while one writes), and is given, once, what a `Resolver` is made of; then it
answers one write at a time over a pipe. Writes are resolved one at a time anyway
(`Writer._resolving`).

Should the child die or hang, the write at hand is published before it is answered, as every
write is when no resolver is at hand, and the next write starts a new child.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import logging
import multiprocessing
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pyarrow as pa

from c360.engines.base import BlockingRule
from c360.project.config import ProjectConfig
from c360.project.neighbourhood import Key
from c360.resolve.levels import raw_field
from c360.serve.live_records import Record
from c360.serve.match_index import MatchIndex
from c360.serve.resident import ResidentFile
from c360.serve.resolution import Resolution
from c360.serve.resolver import Resolver
from c360.store import RunRecord
from c360.store.base import Decision

log = logging.getLogger(__name__)

__all__ = ["ResolverGone", "ResolverInputs", "ResolverProcess", "warm_up"]

# A resolution takes milliseconds; one that has not come back in this long never will.
_ANSWER_SECONDS = 30.0
_START_SECONDS = 120.0  # the child imports c360 and opens the index
_IDLE_SECONDS = 1.0  # with no write for this long, the child warms up again


class ResolverGone(Exception):
    """The resolving process died or stopped answering."""


@dataclass(frozen=True)
class ResolverInputs:
    """What a `Resolver` is made of, as it can be sent to another process."""

    config: ProjectConfig
    last: RunRecord
    root: Path  # the project, whose match index the resolver reads
    rules: list[BlockingRule]
    sharing: list[str]
    term_frequencies: Mapping[tuple[str, str], float]
    decisions: list[Decision]

    def resolver(self) -> Resolver:
        index = MatchIndex(self.root, self.rules, self.sharing)
        return Resolver(self.config, self.last, index, self.term_frequencies, self.decisions)


class ResolverProcess:
    """A `Resolver` in a child process; `resolve` as `Resolver.resolve`. `index` is this
    process's own connection to the match index, for the writer's point lookups."""

    def __init__(self, inputs: ResolverInputs) -> None:
        self.index = MatchIndex(inputs.root, inputs.rules, inputs.sharing)
        # Not a fork of this threaded process: a child of the fork server, which has the
        # resolver's modules loaded already (when this process started it).
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        self._pipe, child = context.Pipe()
        self.took = (0.0, 0.0)  # the last resolution's, in the child: wall, processor seconds
        # How much of the match index the child keeps in memory, and if none, why
        # (`c360.serve.resident`): as of its start, then of the last resolution.
        self.locked: tuple[int, str | None] = (0, None)
        # The resolver's `max_block_size`, and its blocking rules' fields (as `Token`s number
        # them).
        self.cap = 0
        self.rule_fields: list[tuple[str, ...]] = []
        self._process = context.Process(target=_serve, args=(child,), name="c360-resolver",
                                        daemon=True)  # fmt: skip
        self._process.start()
        child.close()
        try:
            self._pipe.send(inputs)
            self.locked, self.cap, self.rule_fields = self._receive(_START_SECONDS)  # ready
        except BaseException:
            self.close()
            raise

    def resolve(self, source: str, rows: pa.Table, deleted: Sequence[str]) -> Resolution:
        """As `Resolver.resolve`. `took` then holds the child's own time for it: wall-clock
        and processor seconds (the rest of the caller's wait is the pipe and the scheduler)."""
        self._send(("resolve", source, rows.column_names, rows.to_pylist(), list(deleted)))
        answer, self.took, self.locked = self._receive(_ANSWER_SECONDS)
        assert isinstance(answer, Resolution)
        return answer

    def links(self, pairs: Sequence[tuple[Key, Record, Key, Record]]) -> bool:
        """As `Resolver.links`."""
        self._send(("links", list(pairs)))
        return bool(self._receive(_ANSWER_SECONDS))

    def _send(self, request: tuple[Any, ...]) -> None:
        try:
            self._pipe.send(request)
        except (OSError, ValueError) as e:
            raise ResolverGone(f"the resolving process cannot be reached: {e}") from e

    def _receive(self, timeout: float) -> Any:
        try:
            if not self._pipe.poll(timeout):
                raise ResolverGone(f"the resolving process gave no answer in {timeout:.0f} s")
            kind, value = self._pipe.recv()
        except (EOFError, OSError) as e:
            raise ResolverGone(
                f"the resolving process stopped (exit code {self._process.exitcode})"
            ) from e
        if kind == "error":
            raise ResolverGone(f"the resolving process failed:\n{value}")
        return value

    def close(self) -> None:
        self.index.close()
        with contextlib.suppress(OSError, ValueError):  # gone already
            self._pipe.send(None)
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._pipe.close()


def warm_up(resolver: Resolver, per_source: int = 3, sources: Sequence[str] | None = None) -> int:
    """Resolve a few stored records of each source (or of `sources`) as if written again under
    a new id (nothing is written): the first real writes then find the code loaded, and the
    standardisers' and the index's caches filled. Without it, the first write took 60-100 ms.
    Returns how many were resolved."""
    done = 0
    for source, live in resolver.live.items():
        if sources is not None and source not in sources:
            continue
        for n, key in enumerate(resolver.index.first_records(source, per_source)):
            try:
                found = resolver.index.records([key])
                if not found:
                    continue
                row = {p.mapping.column: found[0].get(raw_field(p.mapping.field))
                       for p in live.plans}  # fmt: skip
                row[live.id_column] = f"c360 warm-up {n}"
                table = pa.table({c: pa.array([None if v is None else str(v)], pa.string())
                                  for c, v in row.items()})  # fmt: skip
                resolver.resolve(source, table, [])
                done += 1
            except Exception:  # a warm-up that fails costs the first write its speed only
                log.debug("warm-up of %s failed", source, exc_info=True)
    return done


def _serve(pipe: Connection) -> None:
    """The child: make the resolver, then answer writes until told to stop (None)."""
    try:
        inputs: ResolverInputs = pipe.recv()
        resolver = inputs.resolver()
    except BaseException:
        pipe.send(("error", traceback.format_exc()))
        return
    # The index's pages stay in memory while the child lives, and what publishes add to the
    # file joins them when the child is idle.
    resident = ResidentFile(resolver.index.path)
    resident.extend()
    warm_up(resolver)
    gc.freeze()  # the resolver lives as long as the process: the collector skips it
    pipe.send(("ready", ((resident.locked, resident.reason), resolver.cap,
                         [tuple(r.fields) for r in resolver.rules])))  # fmt: skip
    # Idle, the child keeps the code and the index pages a write needs warm, one source's
    # record a second: after a quiet spell the first write took 20-55 ms in the child (3-5 ms
    # is usual), its caches taken over by the rest of the machine. One source at a time, a
    # write that arrives meanwhile waits for one resolution at most.
    idle = itertools.cycle(list(resolver.live) or [None])
    while True:
        try:
            if not pipe.poll(_IDLE_SECONDS):
                resident.extend()
                source = next(idle)
                if source is not None:
                    warm_up(resolver, per_source=1, sources=[source])
                continue
            request = pipe.recv()
        except EOFError:
            break  # the service is gone
        if request is None:
            break
        try:
            pipe.send(("ok", _answer(resolver, resident, request)))
        except Exception:
            pipe.send(("error", traceback.format_exc()))
    resident.close()
    resolver.index.close()


def _answer(resolver: Resolver, resident: ResidentFile, request: tuple[Any, ...]) -> Any:
    """A write's resolution with the child's own time for it and what it keeps in memory
    (`resolve`), or whether pairs of records would link (`links`)."""
    if request[0] == "links":
        return resolver.links(request[1])
    wall, cpu = time.perf_counter(), time.process_time()
    _, source, columns, rows, deleted = request
    table = pa.table({c: pa.array([r[c] for r in rows], pa.string()) for c in columns})
    resolution = resolver.resolve(source, table, deleted)
    took = (time.perf_counter() - wall, time.process_time() - cpu)
    return resolution, took, (resident.locked, resident.reason)
