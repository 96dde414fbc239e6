"""Person names: folding, titles and suffixes (nameparser's lists), nickname roots (nicknames).

`given_name("Dr. Bill")` → `bill` with roots `[bill, william, …]`: two given names are
nickname-equivalent when their roots intersect.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from nameparser import HumanName
from nameparser.config import CONSTANTS
from nicknames import NickNamer

from c360.standardize.text import fold, fold_tokens

__all__ = ["ParsedName", "family_name", "full_name", "given_name", "name_roots"]

_TITLES = frozenset(t for t in CONSTANTS.titles if t.isascii())
_SUFFIXES = frozenset(
    s for s in (*CONSTANTS.suffix_acronyms, *CONSTANTS.suffix_not_acronyms) if s.isascii()
)


@dataclass(frozen=True)
class ParsedName:
    given_name: str | None
    family_name: str | None


@cache
def _namer() -> NickNamer:
    return NickNamer()


def _strip_affixes(tokens: list[str]) -> list[str]:
    # A lone token is the name itself, even if it is also a title ("dean", "judge").
    while len(tokens) > 1 and tokens[0] in _TITLES:
        tokens = tokens[1:]
    while len(tokens) > 1 and tokens[-1] in _SUFFIXES:
        tokens = tokens[:-1]
    return tokens


def given_name(value: str) -> str | None:
    """>>> given_name("Dr. José")
    'jose'
    """
    tokens = _strip_affixes(fold_tokens(value))
    return " ".join(tokens) or None


def family_name(value: str) -> str | None:
    """>>> family_name("O'Brien Jr.")
    'o brien'
    """
    tokens = _strip_affixes(fold_tokens(value))
    return " ".join(tokens) or None


def name_roots(name: str) -> list[str]:
    """The name and every formal name it may be a nickname of (and vice versa), sorted."""
    first = name.split()[0]
    return sorted({first, *_namer().canonicals_of(first)})


def full_name(value: str) -> ParsedName:
    """Split a full name ("Doe, John", "Dr John Q Doe Jr") into given and family name."""
    parsed = HumanName(value)
    given = fold(parsed.first) if parsed.first else None
    family = fold(parsed.last) if parsed.last else None
    if given is None and family is None:
        tokens = _strip_affixes(fold_tokens(value))
        if not tokens:
            return ParsedName(None, None)
        return ParsedName(tokens[0] if len(tokens) > 1 else None, tokens[-1])
    return ParsedName(given, family)
