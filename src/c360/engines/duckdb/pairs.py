"""Pairs in SQL: blocking, comparison vectors, random-pair samples for u, and scoring.

The comparison levels themselves are rendered by `render`; this module runs them over the
candidate pairs of `records` (see `engine.py` for the tables).
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pyarrow as pa

from c360.config import ComparisonConfig, Criterion, ExactLevel
from c360.engines.base import BlockingReport, BlockingRule, FieldWeights
from c360.engines.duckdb.render import criteria_sql, number, quote, vector_sql
from c360.engines.duckdb.results import arrow, first_row

__all__ = [
    "block",
    "compare",
    "estimate_pairs",
    "random_pair_level_counts",
    "score",
    "vector_counts",
    "vectors_select",
]


def block(
    con: duckdb.DuckDBPyConnection,
    rules: Sequence[BlockingRule],
    max_block_size: int,
    across_only: bool,
) -> list[BlockingReport]:
    """Select candidate pairs: records agreeing on all fields of at least one rule.

    A key shared by more than `max_block_size` records is skipped for that rule, so one
    call-centre phone cannot explode into millions of pairs; it is reported instead.
    """
    keys = []
    for k, rule in enumerate(rules):
        cols = ", ".join(quote(f) for f in rule.fields)
        not_null = " AND ".join(f"{quote(f)} IS NOT NULL" for f in rule.fields)
        keys.append(f"CASE WHEN {not_null} THEN hash({cols}) END AS k{k}")
    con.execute(
        f"CREATE OR REPLACE TABLE blocking_keys AS SELECT _rid, _src, {', '.join(keys)}"
        " FROM records"
    )
    reports = []
    for k, rule in enumerate(rules):
        cols = ", ".join(quote(f) for f in rule.fields)
        not_null = " AND ".join(f"{quote(f)} IS NOT NULL" for f in rule.fields)
        capped = con.execute(
            f"SELECT concat_ws(' & ', {cols}), count(*) AS n FROM records WHERE {not_null}"
            f" GROUP BY {cols} HAVING count(*) > ? ORDER BY n DESC, 1",
            [max_block_size],
        ).fetchall()
        if capped:
            con.execute(
                f"UPDATE blocking_keys SET k{k} = NULL WHERE k{k} IN"
                f" (SELECT k{k} FROM blocking_keys GROUP BY k{k} HAVING count(*) > ?)",
                [max_block_size],
            )
        reports.append((rule, [(str(v), int(n)) for v, n in capped]))

    across = " AND a._src <> b._src" if across_only else ""
    selects = []
    for k, _ in enumerate(rules):
        earlier = " AND ".join(f"NOT coalesce(a.k{j} = b.k{j}, false)" for j in range(k))
        where = f" WHERE {earlier}" if earlier else ""
        selects.append(
            f"SELECT a._rid AS l, b._rid AS r, {k}::TINYINT AS rule FROM blocking_keys a"
            f" JOIN blocking_keys b ON a.k{k} = b.k{k} AND a._rid < b._rid{across}{where}"
        )
    con.execute("CREATE OR REPLACE TABLE candidates AS " + " UNION ALL ".join(selects))
    counts = dict(con.execute("SELECT rule, count(*) FROM candidates GROUP BY rule").fetchall())
    return [
        BlockingReport(
            rule=rule,
            pairs=int(counts.get(k, 0)),
            capped_keys=capped[:5],
            capped_key_count=len(capped),
        )
        for k, (rule, capped) in enumerate(reports)
    ]


def estimate_pairs(
    con: duckdb.DuckDBPyConnection, rule: BlockingRule, max_block_size: int, across_only: bool
) -> int:
    """Pairs a blocking rule would select on its own, after capping hot keys."""
    cols = ", ".join(quote(f) for f in rule.fields)
    not_null = " AND ".join(f"{quote(f)} IS NOT NULL" for f in rule.fields)
    if across_only:
        sql = (
            f"WITH k AS (SELECT {cols}, _src, count(*)::DOUBLE AS n FROM records"
            f" WHERE {not_null} GROUP BY ALL),"
            f" g AS (SELECT sum(n) AS n, sum(n * n) AS nn FROM k GROUP BY {cols})"
            " SELECT sum((n * n - nn) / 2) FROM g WHERE n <= ?"
        )
    else:
        sql = (
            f"WITH g AS (SELECT count(*)::DOUBLE AS n FROM records WHERE {not_null}"
            f" GROUP BY {cols}) SELECT sum(n * (n - 1) / 2) FROM g WHERE n <= ?"
        )
    row = first_row(con.execute(sql, [max_block_size]))
    return int(row[0] or 0) if row else 0


def vectors_select(
    comparisons: Sequence[ComparisonConfig],
    tf_fields: Sequence[str],
    rules: Sequence[Sequence[Criterion]],
) -> str:
    cols = [f"{vector_sql(c)} AS g{i}" for i, c in enumerate(comparisons)]
    for i, c in enumerate(comparisons):
        if c.field in tf_fields and isinstance(c.levels[0], ExactLevel):
            f = quote(c.field)
            cols.append(f"CASE WHEN l.{f} = r.{f} THEN l.{quote(c.field + '__tf')} END AS tf{i}")
    if rules:
        whens = " ".join(f"WHEN {criteria_sql(r)} THEN {k}" for k, r in enumerate(rules))
        cols.append(f"(CASE {whens} END)::SMALLINT AS match_rule")
    else:
        cols.append("NULL::SMALLINT AS match_rule")
    return ", ".join(cols)


def compare(
    con: duckdb.DuckDBPyConnection,
    comparisons: Sequence[ComparisonConfig],
    rules: Sequence[Sequence[Criterion]],
    tf_fields: Sequence[str],
) -> int:
    """Compute the comparison vector of every candidate pair into `pairs`; return the count."""
    select = vectors_select(comparisons, tf_fields, rules)
    con.execute(
        f"CREATE OR REPLACE TABLE pairs AS SELECT c.l, c.r, {select}"
        " FROM candidates c JOIN records l ON l._rid = c.l JOIN records r ON r._rid = c.r"
    )
    con.execute("DROP TABLE IF EXISTS candidates")
    (n,) = first_row(con.execute("SELECT count(*) FROM pairs")) or (0,)
    return int(n)


def vector_counts(
    con: duckdb.DuckDBPyConnection, comparisons: Sequence[ComparisonConfig]
) -> pa.Table:
    """How many candidate pairs share each comparison vector: the input of EM."""
    g = ", ".join(f"g{i}" for i in range(len(comparisons)))
    return arrow(con, f"SELECT {g}, count(*) AS n FROM pairs GROUP BY ALL ORDER BY ALL")


def random_pair_level_counts(
    con: duckdb.DuckDBPyConnection,
    n_records: int,
    comparisons: Sequence[ComparisonConfig],
    max_pairs: int,
    seed: int,
    across_only: bool,
) -> pa.Table:
    """Comparison vectors of random record pairs (for u), as counts per vector.

    Pairs are drawn with a seeded hash, not `random()`, so the draw does not depend on
    thread scheduling: a rerun samples the same pairs. The numbers are inlined (they are
    ints, not user text): as parameters they hide the row count from DuckDB's planner,
    which then builds its hash join on the wrong side and runs 20x slower.
    """
    n = n_records
    select = vectors_select(comparisons, (), ())
    across = " AND l._src <> r._src" if across_only else ""
    g = ", ".join(f"g{i}" for i in range(len(comparisons)))
    # Materialised first: a scan of a table runs on every thread, range() on one.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE random_pairs AS
        SELECT (hash(i, {int(seed)}, 'l') % {n})::BIGINT AS a,
               (hash(i, {int(seed)}, 'r') % {n})::BIGINT AS b
        FROM range({int(max_pairs)}) t(i)
        """
    )
    counts = arrow(
        con,
        f"""
        SELECT {g}, count(*) AS n FROM (
            SELECT {select} FROM random_pairs d
            JOIN records l ON l._rid = d.a JOIN records r ON r._rid = d.b
            WHERE d.a <> d.b{across}
        ) GROUP BY ALL ORDER BY ALL
        """,
    )
    con.execute("DROP TABLE random_pairs")
    return counts


def score(
    con: duckdb.DuckDBPyConnection,
    prior_weight: float,
    weights: Sequence[FieldWeights],
    conflicts: Sequence[Sequence[tuple[int, int]]] = (),
) -> None:
    """Score every compared pair into `scored`: weight, probability, conflict.

    A conflict is a list of (comparison index, level): the pair conflicts when it is at
    that level (the 'else' level) of every listed comparison.
    """
    terms = [number(prior_weight)]
    for i, fw in enumerate(weights):
        cases = " ".join(f"WHEN {k} THEN {number(w)}" for k, w in enumerate(fw.level_weights))
        base = f"(CASE g{i} {cases} ELSE 0.0 END)"
        if fw.tf_m_exact is not None:
            tf = f"log2({number(fw.tf_m_exact)} / greatest(tf{i}, {number(fw.tf_u_floor)}))"
            base = f"(CASE WHEN g{i} = 0 AND tf{i} IS NOT NULL THEN {tf} ELSE {base} END)"
        terms.append(base)
    weight = " + ".join(terms)
    conflict = (
        " OR ".join(
            "(" + " AND ".join(f"g{int(i)} = {int(level)}" for i, level in c) + ")"
            for c in conflicts
        )
        or "false"
    )
    con.execute(
        f"CREATE OR REPLACE TABLE scored AS SELECT l, r, match_rule, {weight} AS match_weight,"
        f" 1.0 / (1.0 + pow(2.0, -({weight}))) AS match_probability,"
        f" ({conflict}) AS conflict, false AS veto FROM pairs"
    )
