"""One writer per project: a lock file that names the process holding it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from c360.errors import StoreError

__all__ = ["project_lock"]

LOCK_FILE = ".c360.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def project_lock(root: Path) -> Iterator[None]:
    """Hold the project's lock; a lock left by a process that died (kill -9) is taken over."""
    path = root / LOCK_FILE
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            try:
                holder = int(path.read_text().strip() or "0")
            except (OSError, ValueError):
                holder = 0
            if holder and _alive(holder):
                raise StoreError(
                    f"{root}: another c360 process (pid {holder}) is running on this project",
                    hint="wait for it to finish; `c360 serve` owns the project while it runs",
                ) from None
            path.unlink(missing_ok=True)
    else:
        raise StoreError(f"{path}: cannot take the project lock")
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        yield
    finally:
        path.unlink(missing_ok=True)
