"""Keeping a file in memory: the match index's pages locked, so that a write never waits for
the disk.

A resolution reads a few dozen pages of the match index, at random places of a file of a
gigabyte or more. The operating system keeps such a file in its page cache only as long as it
likes. A machine that reclaims cold pages ahead of need — Linux's DAMON `pageout` scheme, as on
the machines c360's benchmarks run on, which pages out file pages left untouched for a minute
while memory is free — sends most of a write's lookups to the disk: 0.1-3 MB read and 10-30 ms
of waiting per write, after a quiet minute or a read load (`bench/serve_load.py`'s first
writes).

So the resolving process maps the index and locks it in memory (`mlock`): read in once when the
process starts (0.4 s for 1.4 GB), then never reclaimed. The pages are the page cache's own,
shared with every process reading the file: nothing is held twice. The file grows as writes are
published; once 8 MB have been added, they are locked when the process is next idle.

Locking needs the right to lock that much memory (`ulimit -l`, or the `CAP_IPC_LOCK`
capability, which root has), and the file must fit in a quarter of the machine's memory.
Otherwise the file is read as before, through the page cache, and `reason` says why.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import os
import sys
from pathlib import Path

__all__ = ["ResidentFile"]

# The most of the machine's memory one locked file may take.
MAX_SHARE = 0.25
# What a file must have grown by before its new part is locked: each part is a mapping of its
# own (a process may hold some 65,000), and the newest pages, just written, are in memory
# anyway.
MIN_GROWTH = 8 << 20


def _libc() -> ctypes.CDLL | None:
    if sys.platform == "win32":
        return None
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    libc = ctypes.CDLL(name, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]  # fmt: skip
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.mlock.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.munlock.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    return libc


_LIBC = _libc()
_FAILED = ctypes.c_void_p(-1).value  # MAP_FAILED


def _memory() -> int:
    """The machine's physical memory in bytes (0 when the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def _lock(address: int, length: int) -> int:
    """`mlock`: 0, or the error number (a function of its own so that tests can refuse)."""
    assert _LIBC is not None
    if _LIBC.mlock(address, length) == 0:
        return 0
    return ctypes.get_errno()


class ResidentFile:
    """The file at `path`, mapped and locked in memory as far as `extend` got; `locked` bytes
    of it, or `reason` why not."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.locked = 0
        self.reason: str | None = None if _LIBC is not None else "not on this platform"
        self._fd: int | None = None
        self._maps: list[tuple[int, int]] = []  # (address, length)

    def extend(self) -> int:
        """Lock what the file holds beyond what is locked already (all of it, the first
        time); return how many bytes were added. Does nothing once locking failed; never
        raises."""
        if self.reason is not None:
            return 0
        try:
            if self._fd is not None and os.stat(self.path).st_ino != os.fstat(self._fd).st_ino:
                self.close()  # the file was replaced: the old one is let go
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDONLY)
            size = os.fstat(self._fd).st_size
        except OSError as e:
            self.reason = f"the file cannot be read: {e}"
            self.close()
            return 0
        if size <= self.locked or (self._maps and size - self.locked < MIN_GROWTH):
            return 0
        memory = _memory()
        if memory and size > memory * MAX_SHARE:
            self.reason = (f"the file ({size / 1e9:.1f} GB) is more than a quarter of the"
                           f" machine's memory ({memory / 1e9:.1f} GB)")  # fmt: skip
            self.close()
            return 0
        page = mmap.PAGESIZE
        start = self.locked - self.locked % page
        length = size - start
        assert _LIBC is not None
        address = _LIBC.mmap(None, length, mmap.PROT_READ, mmap.MAP_SHARED, self._fd, start)
        if address is None or address == _FAILED:
            self.reason = f"the file cannot be mapped: {os.strerror(ctypes.get_errno())}"
            self.close()
            return 0
        error = _lock(address, length)
        if error:
            _LIBC.munmap(address, length)
            self.reason = (f"memory cannot be locked ({os.strerror(error)}): allow it with"
                           " `ulimit -l` or the CAP_IPC_LOCK capability")  # fmt: skip
            self.close()
            return 0
        self._maps.append((address, length))
        added, self.locked = size - self.locked, size
        return added

    def close(self) -> None:
        """Unlock and unmap everything, and close the file."""
        if _LIBC is not None:
            for address, length in self._maps:
                _LIBC.munlock(address, length)
                _LIBC.munmap(address, length)
        self._maps.clear()
        self.locked = 0
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
