"""Errors c360 raises for problems a user can fix.

Every error says what went wrong, where (file, line, column, config key, rule) and what to do.
The command line prints them without a traceback; a traceback means a bug in c360.

    C360Error
    ├── ConfigError        a configuration file or option is wrong (names the key path)
    ├── SourceError        an input file cannot be read as asked (names the file, line, column)
    ├── MappingError       columns cannot be mapped onto the shared customer model
    ├── ResolveError       identity resolution cannot run on this data or model
    ├── StoreError         the project store cannot be opened, read or written
    └── EngineError        the execution engine failed or is not installed
"""

from __future__ import annotations

__all__ = [
    "C360Error",
    "ConfigError",
    "EngineError",
    "MappingError",
    "ResolveError",
    "SourceError",
    "StoreError",
]


class C360Error(Exception):
    """Root of all errors a user can act on."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message}\n  → {self.hint}"


class ConfigError(C360Error):
    """A configuration file, key or command-line option is invalid."""


class SourceError(C360Error):
    """An input source cannot be read: missing, empty, undecodable or malformed."""


class MappingError(C360Error):
    """Source columns cannot be mapped onto the shared customer model."""


class ResolveError(C360Error):
    """Identity resolution cannot proceed (e.g. no comparable fields, unknown record)."""


class EngineError(C360Error):
    """The execution engine failed, or an optional engine is not installed."""


class StoreError(C360Error):
    """The project's store cannot be opened, read or written as asked."""
