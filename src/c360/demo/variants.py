"""How one true value turns up differently in different systems: typos, nicknames, case, and
each system's own way of writing phones, dates and timestamps."""

from __future__ import annotations

import random
import time
from datetime import date
from functools import cache

from nicknames import NickNamer

from c360.demo.pools import COMMON_NICKNAMES, FEMALE_GIVEN_NAMES, MALE_GIVEN_NAMES

__all__ = [
    "birth_date_text",
    "nicknames_of",
    "phone_text",
    "timestamp_text",
    "typo",
]

# QWERTY neighbours: substitution and insertion typos mostly hit an adjacent key.
_KEYBOARD_NEIGHBOURS = {
    "q": "wa", "w": "qeas", "e": "wrsd", "r": "etdf", "t": "ryfg", "y": "tugh",
    "u": "yihj", "i": "uojk", "o": "ipkl", "p": "ol", "a": "qwsz", "s": "awedxz",
    "d": "serfcx", "f": "drtgvc", "g": "ftyhbv", "h": "gyujnb", "j": "huikmn",
    "k": "jiolm", "l": "kop", "z": "asx", "x": "zsdc", "c": "xdfv", "v": "cfgb",
    "b": "vghn", "n": "bhjm", "m": "njk",
}  # fmt: skip

# Each system's phone style; `{a}` area code, `{e}` exchange, `{n}` line number.
_PHONE_STYLES = {
    "us": "({a}) {e}-{n}",
    "dashed": "{a}-{e}-{n}",
    "dotted": "{a}.{e}.{n}",
    "international": "+1 {a}-{e}-{n}",
    "digits": "{a}{e}{n}",
    "e164": "+1{a}{e}{n}",
}

# Each system's timestamp style, all ISO 8601 but not the same ISO 8601.
_TIMESTAMP_STYLES = {
    "zulu": "%Y-%m-%dT%H:%M:%SZ",
    "space": "%Y-%m-%d %H:%M:%S",
    "offset": "%Y-%m-%dT%H:%M:%S+00:00",
    "local": "%Y-%m-%dT%H:%M:%S",
}


def typo(value: str, rng: random.Random) -> str:
    """One keystroke error: insert, delete, substitute or transpose a character.

    The first character is left alone: misspellings rarely hit the first letter.
    """
    if len(value) < 3:
        return value + rng.choice("aeiou")
    op = rng.choices(("insert", "delete", "substitute", "transpose"), (25, 20, 40, 15))[0]
    i = rng.randrange(1, len(value) - 1)
    if op == "transpose" and value[i] != value[i + 1]:
        return value[:i] + value[i + 1] + value[i] + value[i + 2 :]
    if op == "delete":
        return value[:i] + value[i + 1 :]
    char = rng.choice(_KEYBOARD_NEIGHBOURS.get(value[i].lower(), "aeiou"))
    if op == "insert":
        return value[:i] + char + value[i:]
    return value[:i] + (char.upper() if value[i].isupper() else char) + value[i + 1 :]


@cache
def _nickname_table() -> dict[str, tuple[str, ...]]:
    """Per given name: the names it is also known by, both ways (Robert → Bob, Jimmy → James).

    The `nicknames` package decides what counts as a nickname; only names that people
    commonly go by, or that are given names themselves, are kept. Sorted, because the
    package returns sets and the output must not depend on hash order.
    """
    namer = NickNamer()
    given = set(MALE_GIVEN_NAMES) | set(FEMALE_GIVEN_NAMES)
    known = given | COMMON_NICKNAMES
    table: dict[str, tuple[str, ...]] = {}
    for name in sorted(given):
        options = {o.title() for o in namer.nicknames_of(name) | namer.canonicals_of(name)}
        table[name] = tuple(sorted((options & known) - {name}))
    return table


def nicknames_of(name: str) -> tuple[str, ...]:
    return _nickname_table().get(name, ())


def phone_text(digits: str, style: str) -> str:
    """Ten US digits in one system's style: `phone_text("4155550134", "us")` → (415) 555-0134."""
    return _PHONE_STYLES[style].format(a=digits[:3], e=digits[3:6], n=digits[6:])


def timestamp_text(epoch_seconds: int, style: str) -> str:
    return time.strftime(_TIMESTAMP_STYLES[style], time.gmtime(epoch_seconds))


def birth_date_text(born: date, rng: random.Random) -> str:
    """The shop's birth dates: typed into a form that changed over the years, so ISO, US
    month-first and compact dates sit in one column (never day-first: that would make the
    column's order undecidable)."""
    style = rng.random()
    if style < 0.55:
        return born.isoformat()
    if style < 0.90:
        return f"{born.month:02d}/{born.day:02d}/{born.year}"
    return born.strftime("%Y%m%d")
