"""One writer per project: a lock file that names the process holding it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from c360.errors import StoreError

__all__ = ["lock_holder", "project_lock"]

LOCK_FILE = ".c360.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lock_holder(root: Path) -> tuple[int, str] | None:
    """The live process holding the project's lock (pid, what it is), if any."""
    try:
        pid_text, _, what = (root / LOCK_FILE).read_text().partition("\n")
        pid = int(pid_text.strip() or "0")
    except (OSError, ValueError):
        return None
    return (pid, what.strip() or "c360") if pid and _alive(pid) else None


def busy_error(root: Path, pid: int, what: str) -> StoreError:
    if what.startswith("c360 serve"):
        return StoreError(
            f"{root.resolve()}: this project is being served ({what}, pid {pid}); the service owns its"
            " store while it runs",
            hint="use the API, or stop the service first",
        )
    return StoreError(
        f"{root.resolve()}: another c360 process ({what}, pid {pid}) is running on this project",
        hint="wait for it to finish",
    )


@contextmanager
def project_lock(root: Path, holder: str = "c360 run") -> Iterator[None]:
    """Hold the project's lock; a lock left by a process that died (kill -9) is taken over.
    `holder` says what holds it, for the message another command shows."""
    path = root / LOCK_FILE
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            held = lock_holder(root)
            if held is not None:
                raise busy_error(root, *held) from None
            path.unlink(missing_ok=True)
    else:
        raise StoreError(f"{path}: cannot take the project lock")
    try:
        os.write(fd, f"{os.getpid()}\n{holder}".encode())
        os.close(fd)
        yield
    finally:
        path.unlink(missing_ok=True)
