"""Comparison levels and match criteria rendered as DuckDB SQL.

The level *definitions* live in `c360.config`; their Python evaluation in
`c360.resolve.levels`. This module is the DuckDB side of the same definitions, and a test holds
the two to the same answers. Similarity thresholds allow `SIMILARITY_EPSILON` because DuckDB and
rapidfuzz compute Jaro-Winkler in a different float order (they differ in the last bit).
"""

from __future__ import annotations

from collections.abc import Sequence

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
from c360.resolve.levels import SIMILARITY_EPSILON, raw_field, roots_field

__all__ = ["FUNCTIONS", "criteria_sql", "level_sql", "literal", "number", "quote", "vector_sql"]

# The engine's similarity functions, as data: level type → DuckDB function.
FUNCTIONS = {
    "jaro_winkler": "jaro_winkler_similarity",
    "levenshtein": "levenshtein",
    "damerau_levenshtein": "damerau_levenshtein",
}


def quote(name: str) -> str:
    """Quote an identifier that may come from a user's file or config."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A SQL string literal for text from config (a source name, an event type)."""
    return "'" + text.replace("'", "''") + "'"


def _col(side: str, field: str) -> str:
    return f"{side}.{quote(field)}"


def number(x: float) -> str:
    """A float as a SQL literal (our own numbers, never user text)."""
    return repr(float(x))


def level_sql(field: str, level: LevelConfig) -> str:
    """The condition under which a pair (l, r) is at `level` of `field`'s comparison."""
    lf, rf = _col("l", field), _col("r", field)
    match level:
        case ExactLevel():
            return f"{lf} = {rf}"
        case JaroWinklerLevel(at_least=t, on=str(other)):
            fn = FUNCTIONS["jaro_winkler"]
            lo, ro = _col("l", other), _col("r", other)
            return f"coalesce({fn}({lo}, {ro}) >= {number(t - SIMILARITY_EPSILON)}, false)"
        case JaroWinklerLevel(at_least=t):
            fn = FUNCTIONS["jaro_winkler"]
            return f"{fn}({lf}, {rf}) >= {number(t - SIMILARITY_EPSILON)}"
        case SameLevel(fields=fields):
            return (
                "coalesce("
                + " AND ".join(f"{_col('l', f)} = {_col('r', f)}" for f in fields)
                + ", false)"
            )
        case EditDistanceLevel(type="damerau_levenshtein", at_most=k):
            # DuckDB's Damerau-Levenshtein is ~6x slower than Levenshtein. Since
            # DL <= Lev <= 2 DL, only pairs with Lev in (k, 2k] need the slow function;
            # CASE evaluates later branches only for rows earlier ones did not decide.
            lev = f"{FUNCTIONS['levenshtein']}({lf}, {rf})"
            dl = f"{FUNCTIONS['damerau_levenshtein']}({lf}, {rf})"
            return (
                f"(CASE WHEN {lev} <= {int(k)} THEN true"
                f" WHEN {lev} <= {2 * int(k)} THEN {dl} <= {int(k)} ELSE false END)"
            )
        case EditDistanceLevel(type=kind, at_most=k):
            return f"{FUNCTIONS[kind]}({lf}, {rf}) <= {int(k)}"
        case NicknameLevel():
            rl, rr = _col("l", roots_field(field)), _col("r", roots_field(field))
            return f"list_has_any({rl}, {rr})"
        case SwappedLevel(other=other, at_least=t):
            fn = FUNCTIONS["jaro_winkler"]
            lo, ro = _col("l", other), _col("r", other)
            bound = number(t - SIMILARITY_EPSILON)
            return f"({fn}({lf}, {ro}) >= {bound} AND {fn}({lo}, {rf}) >= {bound})"
        case DayMonthSwappedLevel():
            return (
                f"(substr({lf}, 1, 4) = substr({rf}, 1, 4)"
                f" AND substr({lf}, 6, 2) = substr({rf}, 9, 2)"
                f" AND substr({lf}, 9, 2) = substr({rf}, 6, 2))"
            )
        case DateWithinLevel(days=d):
            return (
                f"abs(date_diff('day', try_cast({lf} AS DATE), try_cast({rf} AS DATE))) <= {int(d)}"
            )
    raise AssertionError(f"unhandled level {level!r}")


def vector_sql(comparison: ComparisonConfig) -> str:
    """CASE expression giving the level index: -1 null, 0..k-1 the levels, k 'else'."""
    f = comparison.field
    whens = [f"WHEN {_col('l', f)} IS NULL OR {_col('r', f)} IS NULL THEN -1"]
    for i, level in enumerate(comparison.levels):
        if isinstance(level, SwappedLevel):
            whens.append(
                f"WHEN {_col('l', level.other)} IS NOT NULL AND {_col('r', level.other)} IS NOT NULL"
                f" AND {level_sql(f, level)} THEN {i}"
            )
        else:
            whens.append(f"WHEN {level_sql(f, level)} THEN {i}")
    return f"(CASE {' '.join(whens)} ELSE {len(comparison.levels)} END)::TINYINT"


def criteria_sql(criteria: Sequence[Criterion]) -> str:
    """A deterministic rule: every criterion holds (nulls never match).

    `exact` compares the raw value as the source wrote it (trimmed); `exact_normalized` the
    standardised value; `fuzzy` Jaro-Winkler of the standardised value.
    """
    parts = []
    for c in criteria:
        if c.match == "exact":
            raw = raw_field(c.field)
            parts.append(f"{_col('l', raw)} = {_col('r', raw)}")
        elif c.match == "exact_normalized":
            parts.append(f"{_col('l', c.field)} = {_col('r', c.field)}")
        else:
            fn = FUNCTIONS["jaro_winkler"]
            bound = number(c.threshold - SIMILARITY_EPSILON)
            parts.append(f"{fn}({_col('l', c.field)}, {_col('r', c.field)}) >= {bound}")
    return "coalesce(" + " AND ".join(parts) + ", false)"
