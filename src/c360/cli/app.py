"""The Typer application and the two consoles every command prints to."""

from __future__ import annotations

import typer
from rich.console import Console

__all__ = ["app", "console", "out"]

app = typer.Typer(
    name="c360",
    help="c360 — open-source Customer 360: find the same person across your systems.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Progress and messages go to stderr; results (tables, JSON, YAML) to stdout.
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)
