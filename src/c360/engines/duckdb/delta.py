"""Incremental runs in SQL: the last run's records and pairs brought back, and only what changed
compared again.

An incremental run reads the sources that changed, standardises them (the engine then holds
their rows in `records`), and calls, in order:

1. `rebase` — `records` becomes every current record: the fresh rows of the sources read again
   and the stored rows (`previous`) of the sources that were not. A fresh record whose content
   hash is new is *changed* (`_changed`) and *dirty* (`_dirty`: its pairs are compared again;
   steps 2 and a steward's decisions dirty more records); stored records of a source read
   again that are gone are returned as deleted.
2. `mark_hot_key_flips` — a blocking key that crossed `max_block_size` either way changes which
   pairs it selects: its records become dirty too.
3. `block_dirty` — candidate pairs touching a dirty record, the same pairs (and the same first
   rule) as blocking everything would give them.
4. `restore_pairs` — the stored scored pairs between clean records join the fresh ones in
   `scored`, so clustering sees every pair a full run would.
5. `affected` — the records whose customer can change: dirty records, every record of a
   customer that held a dirty or deleted record, and everything linked to them.
6. `retie_events` — events whose person key (a record or a contact value) moved.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from c360.engines.base import BlockingRule
from c360.engines.duckdb.render import literal, quote
from c360.engines.duckdb.results import arrow, first_row

__all__ = [
    "STORED_EXCLUDE",
    "affected",
    "block_dirty",
    "flagged_keys",
    "key_records",
    "mark_hot_key_flips",
    "rebase",
    "restore_pairs",
    "retie_events",
    "set_customers",
    "stored_records",
]

# Engine-only columns of `records` that the store's `match_records` does not keep.
STORED_EXCLUDE = ("_rid", "_src", "_raw", "_dirty", "_changed", "_rewrite")


def stored_records(con: duckdb.DuckDBPyConnection, rewrite_only: bool = False) -> pa.Table:
    """`records` as the store keeps it for the next run: source by name, no engine columns,
    term frequencies kept (`rewrite_only`: the rows an incremental run must write again)."""
    columns = [str(r[0]) for r in con.execute("DESCRIBE records").fetchall()]
    keep = [c for c in columns if c not in STORED_EXCLUDE]
    cols = ", ".join(f"r.{quote(c)}" for c in keep)
    where = " WHERE r._rewrite" if rewrite_only else ""
    return arrow(
        con, f"SELECT s.name AS source, {cols} FROM records r JOIN sources s USING (_src)"
        f"{where} ORDER BY r._rid"
    )  # fmt: skip


def flagged_keys(con: duckdb.DuckDBPyConnection, flag: str) -> pa.Table:
    """(source, record_id) of the records with a flag set (`_changed`, `_dirty`, `_rewrite`)."""
    assert flag in ("_changed", "_dirty", "_rewrite")
    return arrow(
        con, f"SELECT s.name AS source, r._id AS record_id FROM records r"
        f" JOIN sources s USING (_src) WHERE r.{flag} ORDER BY r._rid"
    )  # fmt: skip


def rebase(
    con: duckdb.DuckDBPyConnection,
    previous: pa.Table,
    sources: Sequence[str],
    reread: Sequence[tuple[str, str]],
) -> pa.Table:
    """Make `records` every current record; return the deleted ones as (source, record_id).

    `reread` names the sources read again, with their tables: `records` holds the rows of
    those whose content changed (or is new), with local `_src` indexes, and `seen_<table>`
    every row's id and position (`drop_unchanged`). `previous` is the store's
    `match_records`. `sources` is the project's people sources in order: `_src` becomes an
    index into it, and `_rid` is numbered by (`_src`, `_row`) as in a full run.
    """
    con.register("previous", previous)  # scanned in place: the caller keeps it alive
    con.execute(
        "CREATE OR REPLACE TABLE sources_now AS SELECT * FROM"
        " (SELECT unnest(?) AS name, unnest(range(?)) AS _src)",
        [list(sources), len(sources)],
    )
    if reread:
        con.execute(
            "CREATE OR REPLACE TABLE fresh AS SELECT s.name AS source, r.* EXCLUDE (_rid, _src)"
            " FROM records r JOIN sources s USING (_src)"
        )
        seen = " UNION ALL ".join(
            f"SELECT {literal(name)} AS source, _id, _row FROM {quote('seen_' + table)}"
            for name, table in reread
        )
    else:
        con.execute("CREATE OR REPLACE TABLE fresh AS SELECT * FROM previous LIMIT 0")
        seen = "SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS _id, NULL::BIGINT AS _row LIMIT 0"
    con.execute(f"CREATE OR REPLACE TABLE current_rows AS {seen}")
    names = ", ".join(literal(name) for name, _ in reread) or "NULL"
    # The stored versions of changed and deleted records: what the last run counted.
    con.execute(
        "CREATE OR REPLACE TABLE old_versions AS SELECT p.* FROM previous p"
        " LEFT JOIN current_rows c ON c.source = p.source AND c._id = p._id"
        " LEFT JOIN fresh f ON f.source = p.source AND f._id = p._id"
        f" WHERE p.source IN ({names}) AND (c._id IS NULL OR f._id IS NOT NULL)"
    )
    deleted = arrow(
        con,
        "SELECT p.source, p._id AS record_id FROM previous p"
        " ANTI JOIN current_rows c ON c.source = p.source AND c._id = p._id"
        f" WHERE p.source IN ({names}) ORDER BY 1, 2",
    )
    # Unchanged records come from the store, at the position their source has them now.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE current_records AS
        SELECT f.* REPLACE (coalesce(c._row, f._row) AS _row), true AS _changed,
               true AS _dirty, true AS _rewrite
        FROM fresh f LEFT JOIN current_rows c ON c.source = f.source AND c._id = f._id
        UNION ALL BY NAME
        SELECT p.* REPLACE (coalesce(c._row, p._row) AS _row), false AS _changed,
               false AS _dirty, coalesce(c._row <> p._row, false) AS _rewrite
        FROM previous p
        LEFT JOIN current_rows c ON c.source = p.source AND c._id = p._id
        ANTI JOIN fresh f ON f.source = p.source AND f._id = p._id
        WHERE {f"p.source NOT IN ({names}) OR c._id IS NOT NULL" if reread else "true"}
        """
    )
    # Numbered on the narrow keys, then joined: cheaper than sorting every wide row.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE record_numbers AS
        SELECT u.source, u._id, n._src::SMALLINT AS _src,
               (row_number() OVER (ORDER BY n._src, u._row) - 1)::BIGINT AS _rid
        FROM current_records u JOIN sources_now n ON n.name = u.source
        """
    )
    con.execute(
        "CREATE OR REPLACE TABLE records AS SELECT k._rid, k._src, u.* EXCLUDE (source)"
        " FROM current_records u JOIN record_numbers k ON k.source = u.source AND k._id = u._id"
    )
    con.execute("DROP TABLE current_records")
    con.execute("DROP TABLE record_numbers")
    if "_raw" not in {str(r[0]) for r in con.execute("DESCRIBE records").fetchall()}:
        con.execute("ALTER TABLE records ADD COLUMN _raw VARCHAR")  # no source was read again
    con.execute("CREATE OR REPLACE TABLE sources AS SELECT * FROM sources_now")
    for table in ("fresh", "sources_now", "current_rows"):
        con.execute(f"DROP TABLE {table}")
    return deleted


def _key_exprs(rules: Sequence[BlockingRule], table: str) -> list[str]:
    keys = []
    for k, rule in enumerate(rules):
        cols = ", ".join(f"{table}.{quote(f)}" for f in rule.fields)
        not_null = " AND ".join(f"{table}.{quote(f)} IS NOT NULL" for f in rule.fields)
        keys.append(f"CASE WHEN {not_null} THEN hash({cols}) END AS k{k}")
    return keys


def key_records(con: duckdb.DuckDBPyConnection, rules: Sequence[BlockingRule]) -> None:
    """`blocking_keys`: each record's hashed key per rule (null when a field is)."""
    con.execute(
        f"CREATE OR REPLACE TABLE blocking_keys AS SELECT _rid, _src, _dirty, _changed,"
        f" {', '.join(_key_exprs(rules, 'records'))} FROM records"
    )


def mark_hot_key_flips(
    con: duckdb.DuckDBPyConnection, rules: Sequence[BlockingRule], max_block_size: int
) -> int:
    """Dirty every record holding a key that crossed `max_block_size` (either way) since the
    last run; return how many records that added.

    Only keys of changed records (their new and stored versions) and of deleted ones can
    have a new count: the last run's count is today's, less the new versions, plus the old.
    """
    key_records(con, rules)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE old_keys AS SELECT"
        f" {', '.join(_key_exprs(rules, 'old_versions'))} FROM old_versions"
    )
    cap = int(max_block_size)
    flips = []
    for k, _ in enumerate(rules):
        flips.append(
            f"""
            SELECT * FROM (
                WITH t AS (
                    SELECT k{k} AS k FROM blocking_keys WHERE _changed AND k{k} IS NOT NULL
                    UNION SELECT k{k} FROM old_keys WHERE k{k} IS NOT NULL
                )
                SELECT t.k, {k} AS rule FROM t
                LEFT JOIN (SELECT bk.k{k} AS k, count(*) AS n, count(*) FILTER (WHERE bk._changed) AS c
                           FROM blocking_keys bk SEMI JOIN t ON bk.k{k} = t.k GROUP BY 1) a ON a.k = t.k
                LEFT JOIN (SELECT k{k} AS k, count(*) AS n FROM old_keys GROUP BY 1) b ON b.k = t.k
                WHERE (coalesce(a.n, 0) > {cap})
                   <> (coalesce(a.n, 0) - coalesce(a.c, 0) + coalesce(b.n, 0) > {cap})
            )
            """
        )
    con.execute("CREATE OR REPLACE TEMP TABLE flipped AS " + " UNION ALL ".join(flips))
    hit = " OR ".join(f"(f.rule = {k} AND f.k = bk.k{k})" for k, _ in enumerate(rules))
    (n,) = first_row(
        con.execute(
            f"SELECT count(DISTINCT bk._rid) FROM blocking_keys bk JOIN flipped f ON {hit}"
            " WHERE NOT bk._dirty"
        )
    ) or (0,)
    if n:
        con.execute(
            f"UPDATE records SET _dirty = true WHERE _rid IN"
            f" (SELECT bk._rid FROM blocking_keys bk JOIN flipped f ON {hit})"
        )
        con.execute(
            "UPDATE blocking_keys SET _dirty = true FROM records r"
            " WHERE r._rid = blocking_keys._rid AND r._dirty"
        )
    con.execute("DROP TABLE old_keys")
    con.execute("DROP TABLE flipped")
    return int(n)


def block_dirty(
    con: duckdb.DuckDBPyConnection,
    rules: Sequence[BlockingRule],
    max_block_size: int,
    across_only: bool,
    hot: Sequence[pa.Table] | None = None,
) -> int:
    """`candidates`: the pairs a full blocking would select that touch a dirty record.

    Hot keys are capped by their count over every record, and each pair is attributed to the
    first rule that finds it, exactly as `pairs.block` does over all records. When `records`
    holds only part of the store (a write's neighbourhood), `hot` names per rule the key
    values (the rule's fields as columns) that are hot over the whole store.
    """
    for k, rule in enumerate(rules):
        if hot is not None and hot[k].num_rows:
            con.register("hot_values", hot[k])
            cols = ", ".join(f"h.{quote(f)}" for f in rule.fields)
            con.execute(
                f"UPDATE blocking_keys SET k{k} = NULL"
                f" WHERE k{k} IN (SELECT hash({cols}) FROM hot_values h)"
            )
            con.unregister("hot_values")
    for k, _ in enumerate(rules):
        con.execute(
            f"UPDATE blocking_keys SET k{k} = NULL WHERE k{k} IN"
            f" (SELECT k{k} FROM blocking_keys GROUP BY k{k} HAVING count(*) > ?)",
            [max_block_size],
        )
    across = " AND a._src <> b._src" if across_only else ""
    selects = []
    for k, _ in enumerate(rules):
        earlier = "".join(f" AND NOT coalesce(a.k{j} = b.k{j}, false)" for j in range(k))
        # Each pair once: from its dirty side, and from the smaller record when both are.
        selects.append(
            f"SELECT least(a._rid, b._rid) AS l, greatest(a._rid, b._rid) AS r,"
            f" {k}::TINYINT AS rule FROM blocking_keys a JOIN blocking_keys b"
            f" ON a.k{k} = b.k{k} AND a._rid <> b._rid{across}"
            f" WHERE a._dirty AND NOT (b._dirty AND b._rid < a._rid){earlier}"
        )
    con.execute("CREATE OR REPLACE TABLE candidates AS " + " UNION ALL ".join(selects))
    (n,) = first_row(con.execute("SELECT count(*) FROM candidates")) or (0,)
    return int(n)


def restore_pairs(
    con: duckdb.DuckDBPyConnection, stored: pa.Table, rule_names: Sequence[str]
) -> int:
    """Add the stored pairs between two clean records to `scored`; return how many.

    `stored` is the store's `pairs` (records named by source and id; the rule by name).
    """
    con.register("stored_pairs", stored)
    con.register(
        "stored_rule_names",
        pa.table({"k": pa.array(range(len(rule_names)), pa.int16()), "name": list(rule_names)}),
    )
    before = first_row(con.execute("SELECT count(*) FROM scored")) or (0,)
    con.execute(
        """
        INSERT INTO scored (l, r, match_rule, match_weight, match_probability, conflict, veto)
        SELECT a._rid, b._rid, rn.k, p.match_weight, p.match_probability, p.conflict, false
        FROM stored_pairs p
        JOIN sources sa ON sa.name = p.source_l JOIN records a ON a._src = sa._src AND a._id = p.record_id_l
        JOIN sources sb ON sb.name = p.source_r JOIN records b ON b._src = sb._src AND b._id = p.record_id_r
        LEFT JOIN stored_rule_names rn ON rn.name = p.rule
        WHERE NOT a._dirty AND NOT b._dirty
        """
    )
    after = first_row(con.execute("SELECT count(*) FROM scored")) or (0,)
    con.unregister("stored_pairs")
    con.unregister("stored_rule_names")
    return int(after[0]) - int(before[0])


def affected(
    con: duckdb.DuckDBPyConnection, previous_links: pa.Table, deleted: pa.Table, threshold: float
) -> npt.NDArray[np.int64]:
    """Records whose customer may change, closed over the links of this run.

    Seeds: dirty records, and every record of a customer that held a dirty or a deleted
    record. A record linked (as clustering would link it) to an affected one is affected;
    everything else keeps its customer, because its component of links is the one the last
    run clustered. Leaves `record_customer` (`_rid → customer_id` before this run).
    """
    con.register("previous_links_in", previous_links)
    con.execute("CREATE OR REPLACE TABLE previous_links AS SELECT * FROM previous_links_in")
    con.unregister("previous_links_in")
    con.register("deleted_in", deleted)
    con.execute(
        "CREATE OR REPLACE TABLE record_customer AS SELECT r._rid, pl.customer_id"
        " FROM records r JOIN sources s USING (_src)"
        " LEFT JOIN previous_links pl ON pl.source = s.name AND pl.record_id = r._id"
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE touched_customers AS
        SELECT rc.customer_id FROM record_customer rc JOIN records r USING (_rid)
        WHERE r._dirty AND rc.customer_id IS NOT NULL
        UNION
        SELECT pl.customer_id FROM previous_links pl
        JOIN deleted_in d ON d.source = pl.source AND d.record_id = pl.record_id
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE affected_now AS
        SELECT r._rid FROM records r WHERE r._dirty
        UNION
        SELECT rc._rid FROM record_customer rc SEMI JOIN touched_customers t USING (customer_id)
        """
    )
    con.unregister("deleted_in")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE links_now AS SELECT l, r FROM scored"
        " WHERE (match_probability >= ? AND NOT conflict) OR match_rule IS NOT NULL",
        [threshold],
    )
    while True:
        (grown,) = first_row(
            con.execute(
                """
                INSERT INTO affected_now
                SELECT DISTINCT x FROM (
                    SELECT k.r AS x FROM links_now k SEMI JOIN affected_now a ON a._rid = k.l
                    UNION ALL
                    SELECT k.l AS x FROM links_now k SEMI JOIN affected_now a ON a._rid = k.r
                ) ANTI JOIN affected_now b ON b._rid = x
                """
            )
        ) or (0,)
        if not grown:
            break
    rids = arrow(con, "SELECT _rid FROM affected_now ORDER BY _rid").column("_rid")
    con.execute("DROP TABLE links_now")
    out: npt.NDArray[np.int64] = rids.to_numpy().astype(np.int64)
    return out


def retie_events(con: duckdb.DuckDBPyConnection, events: pa.Table) -> pa.Table:
    """Tie stored events again by their person key: a record (`source:id`) or a contact value.

    Uses `customer_of` and `contact_points_now`; an event whose key now matches no customer,
    or several, keeps a null customer and gets the reason.
    """
    con.register("events_in", events)
    result = arrow(
        con,
        """
        WITH keyed AS (
            SELECT s.name || ':' || r._id AS tie, c.customer_id
            FROM records r JOIN sources s USING (_src) JOIN customer_of c ON c.rid = r._rid
            WHERE s.name || ':' || r._id IN
                  (SELECT tie_value FROM events_in WHERE tie_kind = 'record')
        ),
        contacts AS (
            SELECT kind, value, min(customer_id) AS customer_id, count(DISTINCT customer_id) AS n
            FROM contact_points_now GROUP BY ALL
        )
        SELECT e.* EXCLUDE (customer_id),
               CASE WHEN e.tie_kind = 'record' THEN k.customer_id
                    WHEN cp.n = 1 THEN cp.customer_id END AS customer_id,
               CASE WHEN e.tie_kind = 'record' AND k.customer_id IS NULL
                        THEN 'points at no known person: ' || e.person
                    WHEN e.tie_kind <> 'record' AND coalesce(cp.n, 0) = 0
                        THEN 'points at no known person: ' || e.person
                    WHEN e.tie_kind <> 'record' AND cp.n > 1
                        THEN e.person || ' is shared by ' || cp.n || ' customers'
               END AS reason
        FROM events_in e
        LEFT JOIN keyed k ON e.tie_kind = 'record' AND k.tie = e.tie_value
        LEFT JOIN contacts cp ON cp.kind = e.tie_kind AND cp.value = e.tie_value
        ORDER BY e.source, e.event_id
        """,
    )
    con.unregister("events_in")
    return result


def set_customers(
    con: duckdb.DuckDBPyConnection, rids: npt.NDArray[np.int64], customer_ids: Sequence[str]
) -> None:
    """`customer_of` for every record: the new IDs of the affected records, the previous
    customer of all others."""
    con.register(
        "customer_of_in",
        pa.table({"rid": rids, "customer_id": pa.array(customer_ids, pa.string())}),
    )
    con.execute(
        "CREATE OR REPLACE TABLE customer_of AS SELECT rc._rid AS rid,"
        " coalesce(n.customer_id, rc.customer_id) AS customer_id"
        " FROM record_customer rc LEFT JOIN customer_of_in n ON n.rid = rc._rid"
    )
    con.unregister("customer_of_in")
