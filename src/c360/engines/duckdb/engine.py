"""The DuckDB engine: batch identity resolution in-process, on one file or in memory.

Tables it keeps, in flow order:

- `src_<i>`       one per source file, text columns plus `_row`
- `records`       one row per ingested record: `_rid` (dense 0..N-1), `_src`, `_id`, `_row`,
                  the standardised fields, `<field>__roots`, `<field>__raw`, `<field>__tf`
- `blocking_keys` one hashed key per blocking rule and record (null when absent or capped)
- `candidates`    the pairs blocking selected, each once, with the first rule that found it
- `pairs`         candidates with a comparison vector (`g0, g1, …`), tf values and rule hit
- `scored`        pairs with `match_weight`, `match_probability` and the deterministic rule hit
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from c360.config import ComparisonConfig, Criterion
from c360.engines.base import (
    BlockingReport,
    BlockingRule,
    EngineCapabilities,
    FieldWeights,
    Lookup,
    PairsWithin,
    ReadReport,
)
from c360.engines.duckdb import pairs, reading, records
from c360.engines.duckdb.customer_methods import CustomerMethods
from c360.engines.duckdb.incremental import IncrementalMethods
from c360.engines.duckdb.render import FUNCTIONS, literal, quote
from c360.engines.duckdb.results import arrow, first_row

__all__ = ["DuckDBEngine"]


class DuckDBEngine(CustomerMethods, IncrementalMethods):
    capabilities = EngineCapabilities(
        name="duckdb",
        file_formats=frozenset({"csv", "parquet", "jsonl"}),
        similarity_functions=frozenset(FUNCTIONS),
    )

    def __init__(
        self,
        database: str = ":memory:",
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        temp_directory: str | None = None,
    ) -> None:
        self._con = duckdb.connect(database)
        if threads is not None:
            self._con.execute(f"SET threads = {int(threads)}")
        if memory_limit is not None:
            self._con.execute("SET memory_limit = ?", [memory_limit])
        if temp_directory is not None:
            self._con.execute("SET temp_directory = ?", [temp_directory])
        self._n_records = 0
        self._previous: pa.Table | None = None

    def _arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        return arrow(self._con, sql, params)

    def close(self) -> None:
        self._con.close()

    # --- reading ------------------------------------------------------------------------------

    def read_file(self, path: Path, table: str, fmt: str) -> ReadReport:
        return reading.read_file(self._con, path, table, fmt)

    def load_arrow(self, rows: pa.Table, table: str, where: str) -> ReadReport:
        return reading.load_rows(self._con, rows, table, where)

    def sample_rows(self, table: str, n: int) -> pa.Table:
        # Evenly spaced rows, not the first n: exports are often sorted by something.
        (total,) = first_row(self._con.execute(f"SELECT count(*) FROM {quote(table)}")) or (0,)
        step = max(1, int(total) // max(1, n))
        return self._arrow(
            f"SELECT * EXCLUDE (_row) FROM {quote(table)} WHERE _row % ? = 0 LIMIT ?", [step, n]
        )

    def distinct_values(self, table: str, column: str) -> pa.Array:
        col = quote(column)
        result = self._arrow(
            f"SELECT DISTINCT {col} AS v FROM {quote(table)} WHERE {col} IS NOT NULL ORDER BY v"
        )
        return result.column("v").combine_chunks()

    def null_counts(self, table: str, columns: Sequence[str]) -> dict[str, int]:
        if not columns:
            return {}
        exprs = ", ".join(f"count(*) - count({quote(c)})" for c in columns)
        row = first_row(self._con.execute(f"SELECT {exprs} FROM {quote(table)}")) or ()
        return {c: int(v) for c, v in zip(columns, row, strict=True)}

    def quarantine_ids(self, table: str, id_column: str) -> list[tuple[int, str]]:
        """Remove rows whose id is missing or repeated; return (row, reason) for each."""
        t, col = quote(table), quote(id_column)
        bad = self._con.execute(
            f"""
            WITH ranked AS (
                SELECT _row, {col} AS id,
                       row_number() OVER (PARTITION BY {col} ORDER BY _row) AS k,
                       min(_row) OVER (PARTITION BY {col}) AS first_row
                FROM {t}
            )
            SELECT _row, id, first_row FROM ranked WHERE id IS NULL OR k > 1 ORDER BY _row
            """
        ).fetchall()
        reasons = [
            (
                int(row),
                f"missing id in column {id_column!r}"
                if rid is None
                else f"duplicate id {rid!r} in column {id_column!r} (first on data row {first})",
            )
            for row, rid, first in bad
        ]
        if reasons:
            rows = pa.table({"_row": pa.array([r for r, _ in reasons], pa.int64())})
            self._con.register("bad_rows", rows)
            self._con.execute(f"DELETE FROM {t} WHERE _row IN (SELECT _row FROM bad_rows)")
            self._con.unregister("bad_rows")
        return reasons

    def suppress(self, table: str, id_column: str, source: str, keys: frozenset[str],
                 secret: str, normalise: str | None = None) -> int:  # fmt: skip
        """Remove the rows of erased people (`c360.governance.suppression`); return how many.
        `normalise` ("email" or "phone") hashes the column as `contact_key` does."""
        if not keys:
            return 0
        t, col = quote(table), f"CAST({quote(id_column)} AS VARCHAR)"
        if normalise == "email":
            col = f"lower(trim({col}))"
        elif normalise == "phone":
            col = f"regexp_replace({col}, '[^0-9]', '', 'g')"
        self._con.register("suppressed_keys", pa.table({"key": pa.array(sorted(keys))}))
        try:
            found = self._con.execute(
                f"DELETE FROM {t} WHERE sha256(? || ? || chr(31) || {col})"
                " IN (SELECT key FROM suppressed_keys)",
                [secret, source],
            ).fetchone()
        finally:
            self._con.unregister("suppressed_keys")
        return int(found[0]) if found else 0

    # --- records ------------------------------------------------------------------------------

    def build_records(
        self,
        sources: Sequence[tuple[str, str]],
        id_columns: Sequence[str | None],
        lookups: Sequence[Lookup],
        fields: Sequence[str],
        raw_fields: Sequence[tuple[str, str, str]],
        updated_at_columns: Sequence[str | None] | None = None,
        keep_raw: bool = False,
    ) -> int:
        """Build `records` from the source tables and the standardised-value lookups."""
        self._n_records = records.build_records(
            self._con,
            sources,
            id_columns,
            lookups,
            fields,
            raw_fields,
            updated_at_columns,
            keep_raw,
        )
        return self._n_records

    def drop_unchanged(self, table: str, id_column: str | None, known: pa.Table) -> None:
        records.drop_unchanged(self._con, table, id_column, known)

    def set_seen(
        self, table: str, ids: Sequence[str | None], rows: Sequence[int] | None = None
    ) -> None:
        records.set_seen(self._con, table, ids, rows)

    def add_composite(self, field: str, parts: Sequence[str]) -> None:
        """A field made of others (an address of its parts), null when every part is."""
        joined = ", ".join(quote(p) for p in parts)
        self._con.execute(f"ALTER TABLE records ADD COLUMN {quote(field)} VARCHAR")
        self._con.execute(
            f"UPDATE records SET {quote(field)} = nullif(concat_ws(' | ', {joined}), '')"
        )

    def source_sizes(self) -> list[int]:
        rows = self._con.execute(
            "SELECT s._src, count(r._rid) FROM sources s LEFT JOIN records r USING (_src)"
            " GROUP BY 1 ORDER BY 1"
        ).fetchall()
        return [int(n) for _, n in rows]

    def flag_counts(self, lookups: Sequence[Lookup]) -> dict[tuple[str, str, str], int]:
        """How many rows each standardisation flag hit: (table, column, flag) → rows."""
        counts: dict[tuple[str, str, str], int] = {}
        for lk in lookups:
            if "flag" not in lk.table.column_names or lk.table.column("flag").null_count == len(
                lk.table
            ):
                continue
            self._con.register("lk_flags", lk.table.select(["raw", "flag"]))
            rows = self._con.execute(
                f"SELECT f.flag, count(*) FROM {quote(lk.source_table)} t"
                f" JOIN lk_flags f ON f.raw = t.{quote(lk.column)}"
                " WHERE f.flag IS NOT NULL GROUP BY f.flag"
            ).fetchall()
            self._con.unregister("lk_flags")
            for flag, n in rows:
                counts[(lk.source_table, lk.column, str(flag))] = int(n)
        return counts

    def records(self, rids: Sequence[int] | None, fields: Sequence[str]) -> pa.Table:
        cols = ", ".join(["_rid", "_src", "_id", *(quote(f) for f in fields)])
        if rids is None:
            return self._arrow(f"SELECT {cols} FROM records ORDER BY _rid")
        self._con.register("want", pa.table({"rid": pa.array(list(rids), pa.int64())}))
        result = self._arrow(
            f"SELECT {cols} FROM records WHERE _rid IN (SELECT rid FROM want) ORDER BY _rid"
        )
        self._con.unregister("want")
        return result

    def record_columns(self) -> list[str]:
        return [str(r[0]) for r in self._con.execute("DESCRIBE records").fetchall()]

    def find_records(self, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], int]:
        """Map (source index, record id) to `_rid` for the keys that exist."""
        if not keys:
            return {}
        wanted = pa.table(
            {
                "src": pa.array([k[0] for k in keys], pa.int16()),
                "id": pa.array([k[1] for k in keys], pa.string()),
            }
        )
        self._con.register("wanted_keys", wanted)
        rows = self._con.execute(
            "SELECT r._src, r._id, r._rid FROM records r"
            " JOIN wanted_keys w ON w.src = r._src AND w.id = r._id"
        ).fetchall()
        self._con.unregister("wanted_keys")
        return {(int(src), str(rid)): int(n) for src, rid, n in rows}

    def add_term_frequencies(self, fields: Sequence[str], frozen: pa.Table | None = None) -> None:
        """Add `<field>__tf`: the share of non-null records holding the same value.

        With `frozen` (`field, value, tf`, from `term_frequencies`), those shares are used
        instead of counting: a project keeps them with its model, so that a rerun scores
        every pair as the run that trained the model did. A value they do not hold gets no
        tf adjustment.
        """
        if not fields:
            return
        if frozen is not None:
            self._con.register("frozen_tf", frozen)
        joins, cols = [], []
        present = set(self.record_columns())
        for i, f in enumerate(fields):
            if f not in present:  # no record read here has the field (a source without it)
                cols.append(f"NULL::DOUBLE AS {quote(f + '__tf')}")
                continue
            source = (
                f"SELECT value, tf FROM frozen_tf WHERE field = {literal(f)}"
                if frozen is not None
                else f"SELECT {quote(f)} AS value, count(*)::DOUBLE / sum(count(*)) OVER () AS tf"
                f" FROM records WHERE {quote(f)} IS NOT NULL GROUP BY 1"
            )
            self._con.execute(f"CREATE OR REPLACE TABLE {quote('tf__' + f)} AS {source}")
            joins.append(f"LEFT JOIN {quote('tf__' + f)} t{i} ON t{i}.value = rec.{quote(f)}")
            cols.append(f"t{i}.tf AS {quote(f + '__tf')}")
        self._con.execute(
            f"CREATE OR REPLACE TABLE records AS SELECT rec.*, {', '.join(cols)}"
            f" FROM records rec {' '.join(joins)} ORDER BY rec._rid"
        )
        if frozen is not None:
            self._con.unregister("frozen_tf")

    def term_frequencies(self, fields: Sequence[str]) -> pa.Table:
        """The tables `add_term_frequencies` built, as `field, value, tf`."""
        if not fields:
            return pa.table(
                {"field": pa.array([], pa.string()), "value": pa.array([], pa.string()),
                 "tf": pa.array([], pa.float64())}
            )  # fmt: skip
        return self._arrow(
            " UNION ALL ".join(
                f"SELECT {literal(f)} AS field, value::VARCHAR AS value, tf"
                f" FROM {quote('tf__' + f)}"
                for f in fields
            )
        )

    def term_frequency(self, field: str, value: str) -> float | None:
        row = first_row(
            self._con.execute(f"SELECT tf FROM {quote('tf__' + field)} WHERE value = ?", [value])
        )
        return None if row is None else float(row[0])

    def exact_agreement(self, fields: Sequence[str], across_only: bool) -> dict[str, float]:
        """P(two random records agree exactly on a field | both non-null), computed exactly."""
        return records.exact_agreement(self._con, fields, across_only)

    # --- blocking, comparing, scoring (SQL in `pairs`) ------------------------------------

    def block(
        self, rules: Sequence[BlockingRule], max_block_size: int, across_only: bool
    ) -> list[BlockingReport]:
        """Select candidate pairs: records agreeing on all fields of at least one rule."""
        return pairs.block(self._con, rules, max_block_size, across_only)

    def estimate_pairs(self, rule: BlockingRule, max_block_size: int, across_only: bool) -> int:
        return pairs.estimate_pairs(self._con, rule, max_block_size, across_only)

    def compare(
        self,
        comparisons: Sequence[ComparisonConfig],
        rules: Sequence[Sequence[Criterion]],
        tf_fields: Sequence[str],
    ) -> int:
        return pairs.compare(self._con, comparisons, rules, tf_fields)

    def vector_counts(self, comparisons: Sequence[ComparisonConfig]) -> pa.Table:
        return pairs.vector_counts(self._con, comparisons)

    def random_pair_level_counts(
        self,
        comparisons: Sequence[ComparisonConfig],
        max_pairs: int,
        seed: int,
        across_only: bool,
    ) -> pa.Table:
        return pairs.random_pair_level_counts(
            self._con, self._n_records, comparisons, max_pairs, seed, across_only
        )

    def score(
        self,
        prior_weight: float,
        weights: Sequence[FieldWeights],
        conflicts: Sequence[Sequence[tuple[int, int]]] = (),
    ) -> None:
        pairs.score(self._con, prior_weight, weights, conflicts)

    def linked_pairs(self, threshold: float) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Pairs at or above the threshold, or matched by a deterministic rule."""
        t = self._arrow(
            "SELECT l, r FROM scored"
            " WHERE (match_probability >= ? AND NOT conflict) OR match_rule IS NOT NULL",
            [threshold],
        )
        return (
            t.column("l").to_numpy().astype(np.int64),
            t.column("r").to_numpy().astype(np.int64),
        )

    def pairs_within(self, component: npt.NDArray[np.int64]) -> PairsWithin:
        """Every scored pair whose records share a component (label -1 = singleton, skipped).

        Returns l, r, match probability, whether a deterministic rule matched, and whether
        the pair is a hard conflict.
        """
        rids = np.flatnonzero(component >= 0).astype(np.int64)
        comp = pa.table({"rid": rids, "c": component[rids]})
        self._con.register("comp", comp)
        t = self._arrow(
            "SELECT s.l, s.r, s.match_probability AS p, s.match_rule IS NOT NULL AS ruled,"
            " s.conflict, s.veto"
            " FROM scored s JOIN comp a ON a.rid = s.l JOIN comp b ON b.rid = s.r"
            " WHERE a.c = b.c ORDER BY s.l, s.r"
        )
        self._con.unregister("comp")
        return PairsWithin(
            t.column("l").to_numpy().astype(np.int64),
            t.column("r").to_numpy().astype(np.int64),
            t.column("p").to_numpy().astype(np.float64),
            t.column("ruled").to_numpy(zero_copy_only=False).astype(np.bool_),
            t.column("conflict").to_numpy(zero_copy_only=False).astype(np.bool_),
            t.column("veto").to_numpy(zero_copy_only=False).astype(np.bool_),
        )

    # --- output -------------------------------------------------------------------------------

    def write_clusters(
        self, cluster_of: npt.NDArray[np.int64], path: Path, with_source: bool
    ) -> None:
        """Write `[source,]record_id,cluster_id` in input order; a cluster is named by its
        first record, so a rerun on the same data writes the same ids."""
        self._con.register(
            "clusters_in", pa.table({"rid": np.arange(len(cluster_of)), "c": cluster_of})
        )
        head = "s.name AS source, " if with_source else ""
        rep = "s2.name || ':' || rep._id" if with_source else "rep._id"
        self._con.execute(
            f"""
            COPY (
                SELECT {head}rec._id AS record_id, {rep} AS cluster_id
                FROM records rec
                JOIN clusters_in ci ON ci.rid = rec._rid
                JOIN records rep ON rep._rid = ci.c
                JOIN sources s ON s._src = rec._src
                JOIN sources s2 ON s2._src = rep._src
                ORDER BY rec._rid
            ) TO '{_path_literal(path)}' (HEADER, DELIMITER ',')
            """
        )
        self._con.unregister("clusters_in")

    def write_pairs(self, path: Path, with_source: bool, rule_names: Sequence[str]) -> int:
        names = pa.table(
            {"k": pa.array(range(len(rule_names)), pa.int16()), "name": list(rule_names)}
        )
        self._con.register("rule_names", names)
        src = (
            "sl.name AS source_l, a._id AS record_id_l, sr.name AS source_r, b._id AS record_id_r"
            if with_source
            else "a._id AS record_id_l, b._id AS record_id_r"
        )
        self._con.execute(
            f"""
            COPY (
                SELECT {src}, s.match_weight, s.match_probability, rn.name AS match_rule
                FROM scored s
                JOIN records a ON a._rid = s.l JOIN records b ON b._rid = s.r
                JOIN sources sl ON sl._src = a._src JOIN sources sr ON sr._src = b._src
                LEFT JOIN rule_names rn ON rn.k = s.match_rule
                ORDER BY s.match_weight DESC, s.l, s.r
            ) TO '{_path_literal(path)}' (HEADER, DELIMITER ',')
            """
        )
        self._con.unregister("rule_names")
        (n,) = first_row(self._con.execute("SELECT count(*) FROM scored")) or (0,)
        return int(n)


def _path_literal(path: Path) -> str:
    # COPY ... TO does not take a prepared parameter; escape the one character that matters.
    return str(path).replace("'", "''")
