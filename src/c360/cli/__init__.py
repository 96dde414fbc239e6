"""The `c360` command line."""

from __future__ import annotations

import sys

from c360.cli import governance, jobs, project, serve  # noqa: F401  (each registers its commands)
from c360.cli.app import app, console
from c360.errors import C360Error

__all__ = ["app", "main"]


def main() -> None:
    """Entry point: user mistakes print as one clear message, never a traceback."""
    try:
        app()
    except C360Error as e:
        console.print(f"[bold red]error:[/] {e}", highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)
