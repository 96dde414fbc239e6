"""A gate in front of every request, closed while the service swaps its store.

Erasing a person rewrites the store into a new file (`c360.project.erasure`). The service's
store connection and every thread's cursor on it are let go of and opened again, which no
request may be using meanwhile. So each request passes the gate (the middleware that measures
requests, `c360.serve.app.Served`, counts it in and out); `Service.erase` closes it, waits
until it is the only request inside, does its work, and opens it again. Requests that arrive
meanwhile wait. The change feed's event stream stays open for hours and is not counted: it
reads between waits, and a read that fails ends the stream, which the client resumes from its
last event.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator

__all__ = ["Gate", "gated"]

_POLL_SECONDS = 0.01
_STREAMS = ("/changes/stream",)


def gated(path: str) -> bool:
    """Whether a request for `path` passes the gate: all but the change feed's event stream."""
    return not path.endswith(_STREAMS)


class Gate:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inside = 0
        self._closed = False

    def enter(self) -> bool:
        with self._lock:
            if self._closed:
                return False
            self._inside += 1
            return True

    async def wait_to_enter(self) -> None:
        """Enter once the gate is open again (a request that found it closed)."""
        while not self.enter():
            await asyncio.sleep(_POLL_SECONDS)

    def leave(self) -> None:
        with self._lock:
            self._inside -= 1

    @contextlib.contextmanager
    def closed(self, timeout: float = 60.0) -> Iterator[None]:
        """Keep new requests out, and wait until the caller's is the only one inside."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the gate is closed already")
            self._closed = True
        try:
            deadline = time.monotonic() + timeout
            while True:
                with self._lock:
                    if self._inside <= 1:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"requests still running after {timeout:.0f} s")
                time.sleep(_POLL_SECONDS)
            yield
        finally:
            with self._lock:
                self._closed = False
