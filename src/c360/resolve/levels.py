"""Comparison levels evaluated in Python, for one pair at a time.

The batch path evaluates the same level definitions in the engine (see
`c360.engines.duckdb.render`); `tests/resolve/test_levels_agree.py` holds both to the same
answer. This path serves `explain`, real-time resolution and tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler, Levenshtein

from c360.config import (
    ComparisonConfig,
    Criterion,
    DateWithinLevel,
    DayMonthSwappedLevel,
    EditDistanceLevel,
    ExactLevel,
    JaroWinklerLevel,
    LevelConfig,
    NicknameLevel,
    SameLevel,
    SwappedLevel,
)

__all__ = [
    "NULL_LEVEL",
    "SIMILARITY_EPSILON",
    "criteria_hold",
    "evaluate",
    "level_label",
    "raw_field",
    "roots_field",
]

NULL_LEVEL = -1
SIMILARITY_EPSILON = 1e-9

Record = Mapping[str, Any]

_DISTANCES: dict[str, Callable[[str, str], int]] = {
    "levenshtein": Levenshtein.distance,
    "damerau_levenshtein": DamerauLevenshtein.distance,
}


def roots_field(field: str) -> str:
    """The column holding a name's nickname roots (`bill` → [bill, william])."""
    return f"{field}__roots"


def raw_field(field: str) -> str:
    """The column holding a field's value as the source wrote it (trimmed), for `exact` rules."""
    return f"{field}__raw"


def _jw(a: str, b: str) -> float:
    return float(JaroWinkler.similarity(a, b))


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _holds(field: str, level: LevelConfig, left: Record, right: Record) -> bool:
    a, b = left[field], right[field]
    match level:
        case ExactLevel():
            return bool(a == b)
        case JaroWinklerLevel(at_least=t, on=str(other)):
            oa, ob = left.get(other), right.get(other)
            return oa is not None and ob is not None and _jw(oa, ob) >= t - SIMILARITY_EPSILON
        case JaroWinklerLevel(at_least=t):
            return _jw(a, b) >= t - SIMILARITY_EPSILON
        case SameLevel(fields=fields):
            return all(left.get(f) is not None and left.get(f) == right.get(f) for f in fields)
        case EditDistanceLevel(type=kind, at_most=k):
            return int(_DISTANCES[kind](a, b)) <= k
        case NicknameLevel():
            ra = left.get(roots_field(field)) or ()
            rb = right.get(roots_field(field)) or ()
            return bool(set(ra) & set(rb))
        case SwappedLevel(other=other, at_least=t):
            oa, ob = left.get(other), right.get(other)
            if oa is None or ob is None:
                return False
            bound = t - SIMILARITY_EPSILON
            return _jw(a, ob) >= bound and _jw(oa, b) >= bound
        case DayMonthSwappedLevel():
            return bool(a[0:4] == b[0:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7])
        case DateWithinLevel(days=d):
            da, db = _date(a), _date(b)
            return da is not None and db is not None and abs((da - db).days) <= d
    raise AssertionError(f"unhandled level {level!r}")


def evaluate(comparison: ComparisonConfig, left: Record, right: Record) -> int:
    """The level index of a pair: -1 null, 0..k-1 the first level that holds, k 'else'."""
    f = comparison.field
    if left.get(f) is None or right.get(f) is None:
        return NULL_LEVEL
    for i, level in enumerate(comparison.levels):
        if _holds(f, level, left, right):
            return i
    return len(comparison.levels)


def level_label(comparison: ComparisonConfig, index: int) -> str:
    """A short human label for a level index."""
    if index == NULL_LEVEL:
        return "null"
    if index >= len(comparison.levels):
        return "else"
    level = comparison.levels[index]
    match level:
        case JaroWinklerLevel(at_least=t, on=str(other)):
            return f"{other} jaro_winkler ≥ {t:g}"
        case JaroWinklerLevel(at_least=t):
            return f"jaro_winkler ≥ {t:g}"
        case SameLevel(fields=fields):
            return "same " + " & ".join(fields)
        case EditDistanceLevel(type=kind, at_most=k):
            return f"{kind} ≤ {k}"
        case SwappedLevel(other=other):
            return f"swapped with {other}"
        case DateWithinLevel(days=d):
            return f"within {d} days"
        case _:
            return level.type


def criteria_hold(criteria: Sequence[Criterion], left: Record, right: Record) -> bool:
    """Whether a deterministic rule's criteria all hold for a pair (nulls never match)."""
    for c in criteria:
        if c.match == "exact":
            a, b = left.get(raw_field(c.field)), right.get(raw_field(c.field))
            ok = a is not None and a == b
        elif c.match == "exact_normalized":
            a, b = left.get(c.field), right.get(c.field)
            ok = a is not None and a == b
        else:
            a, b = left.get(c.field), right.get(c.field)
            ok = a is not None and b is not None and _jw(a, b) >= c.threshold - SIMILARITY_EPSILON
        if not ok:
            return False
    return True
