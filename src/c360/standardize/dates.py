"""Dates: ISO, yyyymmdd, dd/mm/yyyy and mm/dd/yyyy (order explicit or inferred), to ISO text.

An impossible date (31 February, month 13, in the future for a birth date) becomes None with a
flag: a wrong date must not look like agreement or disagreement.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

__all__ = ["StandardDate", "birth_date", "infer_date_order"]

_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SLASHED = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")

DateOrder = str  # "dmy" | "mdy" | "ymd"


@dataclass(frozen=True)
class StandardDate:
    value: str | None
    flag: str | None = None


def infer_date_order(values: Iterable[str], default: DateOrder = "mdy") -> DateOrder:
    """Decide dd/mm vs mm/dd from a column: a first part above 12 can only be a day.

    >>> infer_date_order(["03/04/1990", "25/12/1980"])
    'dmy'
    """
    day_first = month_first = 0
    for v in values:
        m = _SLASHED.match(v.strip())
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            day_first += a > 12 >= b
            month_first += b > 12 >= a
    if day_first > month_first:
        return "dmy"
    if month_first > day_first:
        return "mdy"
    return default


def birth_date(value: str, *, order: DateOrder = "mdy", today: date | None = None) -> StandardDate:
    """>>> birth_date("19560409").value
    '1956-04-09'
    """
    text = value.strip()
    if (m := _ISO.match(text)) or (m := _COMPACT.match(text)):
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    elif m := _SLASHED.match(text):
        a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        d, mo = (a, b) if order == "dmy" else (b, a)
    else:
        return StandardDate(None, "invalid date: unrecognised format")
    try:
        parsed = date(y, mo, d)
    except ValueError:
        return StandardDate(None, "invalid date: no such day")
    if parsed > (today or date.today()):
        return StandardDate(None, "invalid date: in the future")
    if parsed.year < 1850:
        return StandardDate(None, "invalid date: before 1850")
    return StandardDate(parsed.isoformat())
