"""The service's audit entries, written by a process of their own.

Every read the service answers makes an audit entry; at a thousand reads a second, hashing,
encoding and inserting them is a good part of what the service does. In the service's own
interpreter that work held the interpreter lock away from the requests — the writing thread
gives the lock up for every row SQLite takes and waits to have it back — and took 40 µs an
entry. So the service hands each batch, its entries encoded in one call, to a child process
that appends it as one row of the log (`AuditLog.append_batch`) and says when it is committed.

Should the child die, the batch at hand stays queued and the service goes on writing its
entries itself; nothing is lost that was not lost before (entries queued in memory when the
machine stops).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sqlite3
import struct
from multiprocessing.connection import Connection
from pathlib import Path

from c360.governance.audit import AuditLog

__all__ = ["AuditWriter", "WriterGone"]

# Appending a batch takes milliseconds; one that has not come back in this long never will.
_ANSWER_SECONDS = 60.0
_NICENESS = 10
# A batch's message: how many entries it holds and when the last was noted, then their JSON.
_HEAD = struct.Struct("<Id")


class WriterGone(Exception):
    """The audit writing process died or stopped answering."""


class AuditWriter:
    """A child process appending batches of entries to the audit log in `root`."""

    def __init__(self, root: Path) -> None:
        # A child of the fork server, as the resolving process is: not a fork of this
        # threaded process.
        context = multiprocessing.get_context("forkserver")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_write_forever, args=(root, child),
                                        name="c360-audit", daemon=True)  # fmt: skip
        self._process.start()
        child.close()

    def write(self, batch: bytes, size: int, last_at: float) -> None:
        """Append the `size` entries of `batch` (`AuditLog.append_batch`): committed when this
        returns. `sqlite3.Error` when the log could not take them (they may be tried again),
        `WriterGone` when the process is gone."""
        try:
            self._pipe.send_bytes(_HEAD.pack(size, last_at) + batch)
            if not self._pipe.poll(_ANSWER_SECONDS):
                raise WriterGone(f"no answer in {_ANSWER_SECONDS:.0f} s")
            problem = self._pipe.recv_bytes()
        except (EOFError, OSError) as e:
            raise WriterGone(f"it stopped (exit code {self._process.exitcode})") from e
        if problem:
            raise sqlite3.OperationalError(problem.decode())

    @property
    def alive(self) -> bool:
        return self._process.is_alive()

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # gone already
            self._pipe.send_bytes(b"")  # stop
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._pipe.close()


def _background() -> None:
    """Run this process only on time no other task wants (Linux's `SCHED_IDLE`), or else at
    a low priority."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (OSError, AttributeError):
        with contextlib.suppress(OSError, AttributeError):
            os.nice(_NICENESS)


def _write_forever(root: Path, pipe: Connection) -> None:
    """The child: append each batch it is sent and answer (nothing, or what went wrong), until
    told to stop (an empty message) or the service is gone."""
    # Background work: the operating system runs it when a core is free, rather than between
    # a request's steps (a batch is a millisecond or two of processor time; the service's
    # reads queue meanwhile when the child takes their core). Linux's idle class gives the
    # core up the moment another task wants it; a niced task only after its time slice, which
    # cost the service's requests up to a millisecond at p99.
    _background()
    log = AuditLog(root)
    try:
        while True:
            try:
                message = pipe.recv_bytes()
            except (EOFError, OSError):
                break
            if not message:
                break
            size, last_at = _HEAD.unpack_from(message)
            try:
                log.append_batch(message[_HEAD.size :], size, last_at)
                pipe.send_bytes(b"")
            except sqlite3.Error as e:
                pipe.send_bytes(str(e).encode() or b"the audit log could not be written")
    finally:
        log.close()
