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
    "comparator",
    "evaluate",
    "level_label",
    "level_test",
    "raw_field",
    "roots_field",
    "rule_test",
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


Predicate = Callable[[Record, Record], bool]


def level_test(field: str, level: LevelConfig) -> Predicate:
    """Whether `level` of `field` holds for a pair whose values of `field` are both set: a
    function made once per level, so that scoring many pairs pays for no dispatch on the
    level's kind."""
    match level:
        case ExactLevel():
            return lambda left, right: bool(left[field] == right[field])
        case JaroWinklerLevel(at_least=t, on=str(other)):
            bound = t - SIMILARITY_EPSILON

            def other_similar(left: Record, right: Record) -> bool:
                oa, ob = left.get(other), right.get(other)
                return oa is not None and ob is not None and _jw(oa, ob) >= bound

            return other_similar
        case JaroWinklerLevel(at_least=t):
            bound = t - SIMILARITY_EPSILON
            return lambda left, right: _jw(left[field], right[field]) >= bound
        case SameLevel(fields=fields):
            return lambda left, right: all(
                left.get(f) is not None and left.get(f) == right.get(f) for f in fields
            )
        case EditDistanceLevel(type=kind, at_most=k):
            distance = _DISTANCES[kind]
            return lambda left, right: int(distance(left[field], right[field])) <= k
        case NicknameLevel():
            roots = roots_field(field)
            return lambda left, right: bool(
                set(left.get(roots) or ()) & set(right.get(roots) or ())
            )
        case SwappedLevel(other=other, at_least=t):
            bound = t - SIMILARITY_EPSILON

            def swapped(left: Record, right: Record) -> bool:
                oa, ob = left.get(other), right.get(other)
                if oa is None or ob is None:
                    return False
                return _jw(left[field], ob) >= bound and _jw(oa, right[field]) >= bound

            return swapped
        case DayMonthSwappedLevel():

            def day_month_swapped(left: Record, right: Record) -> bool:
                a, b = left[field], right[field]
                return bool(a[0:4] == b[0:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7])

            return day_month_swapped
        case DateWithinLevel(days=d):

            def within(left: Record, right: Record) -> bool:
                da, db = _date(left[field]), _date(right[field])
                return da is not None and db is not None and abs((da - db).days) <= d

            return within
    raise AssertionError(f"unhandled level {level!r}")


def comparator(comparison: ComparisonConfig) -> Callable[[Record, Record], int]:
    """`evaluate` for one comparison, made once: the level index of a pair."""
    f = comparison.field
    tests = tuple(level_test(f, level) for level in comparison.levels)
    otherwise = len(tests)

    def level_of(left: Record, right: Record) -> int:
        if left.get(f) is None or right.get(f) is None:
            return NULL_LEVEL
        for i, holds in enumerate(tests):
            if holds(left, right):
                return i
        return otherwise

    return level_of


def evaluate(comparison: ComparisonConfig, left: Record, right: Record) -> int:
    """The level index of a pair: -1 null, 0..k-1 the first level that holds, k 'else'."""
    return comparator(comparison)(left, right)


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


def rule_test(criteria: Sequence[Criterion]) -> Predicate:
    """Whether a deterministic rule's criteria all hold for a pair (nulls never match), as a
    function made once per rule."""
    tests: list[Predicate] = []
    for c in criteria:
        if c.match in ("exact", "exact_normalized"):
            column = raw_field(c.field) if c.match == "exact" else c.field

            def equal(left: Record, right: Record, f: str = column) -> bool:
                a = left.get(f)
                return a is not None and bool(a == right.get(f))

            tests.append(equal)
        else:
            bound = c.threshold - SIMILARITY_EPSILON

            def similar(left: Record, right: Record, f: str = c.field, t: float = bound) -> bool:
                a, b = left.get(f), right.get(f)
                return a is not None and b is not None and _jw(a, b) >= t

            tests.append(similar)
    return lambda left, right: all(holds(left, right) for holds in tests)
