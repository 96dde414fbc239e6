"""Identifiers (national ids, customer numbers): spacing and separators removed, upper case."""

from __future__ import annotations

import re

__all__ = ["identifier"]

_SEPARATORS = re.compile(r"[\s\-./_]+")


def identifier(value: str) -> str | None:
    """>>> identifier(" 123-45 6789 ")
    '123456789'
    """
    cleaned = _SEPARATORS.sub("", value).upper()
    return cleaned or None
