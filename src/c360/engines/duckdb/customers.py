"""Customers in SQL: steward decisions on pairs, golden records, contact points, events.

These run on the engine's `records` (see `engine.py`) once clustering has given every record a
customer ID (the `customer_of` table: `_rid → customer_id`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb
import pyarrow as pa

from c360.engines.base import EventMapping, GoldenField
from c360.engines.duckdb.render import literal, quote
from c360.engines.duckdb.results import arrow

__all__ = [
    "apply_decisions",
    "contact_points",
    "golden_records",
    "resolve_events",
    "store_links",
    "store_pairs",
    "store_records",
]


def apply_decisions(
    con: duckdb.DuckDBPyConnection,
    links: Sequence[tuple[int, int]],
    unlinks: Sequence[tuple[int, int]],
) -> None:
    """Make a steward's decisions part of the scored pairs, whatever the model said.

    A link becomes a pair matched by the steward rule (`match_rule = -1`); an unlink becomes a
    veto, which no rule and no chain of links can overrule.
    """
    for name, pairs in (("steward_links", links), ("steward_unlinks", unlinks)):
        ordered = [(min(a, b), max(a, b)) for a, b in pairs if a != b]
        con.register(
            name,
            pa.table(
                {
                    "l": pa.array([p[0] for p in ordered], pa.int64()),
                    "r": pa.array([p[1] for p in ordered], pa.int64()),
                }
            ),
        )
    con.execute(
        """
        INSERT INTO scored (l, r, match_rule, match_weight, match_probability, conflict, veto)
        SELECT d.l, d.r, NULL, 0.0, 0.5, false, false
        FROM (SELECT * FROM steward_links UNION SELECT * FROM steward_unlinks) d
        ANTI JOIN scored s ON s.l = d.l AND s.r = d.r
        """
    )
    con.execute(
        "UPDATE scored SET match_rule = -1 FROM steward_links d"
        " WHERE scored.l = d.l AND scored.r = d.r"
    )
    con.execute(
        "UPDATE scored SET veto = true, match_rule = NULL, conflict = true FROM steward_unlinks d"
        " WHERE scored.l = d.l AND scored.r = d.r"
    )
    con.unregister("steward_links")
    con.unregister("steward_unlinks")


def _order(g: GoldenField, source_rank: Mapping[int, int]) -> str:
    recent = "try_cast(_updated_at AS TIMESTAMP) DESC NULLS LAST"
    tie = "_src, record_id"
    if g.rule == "most_frequent":
        return f"_frequency DESC, {recent}, {tie}"
    if g.rule == "source_priority":
        ranks = " ".join(f"WHEN {int(src)} THEN {int(rank)}" for src, rank in source_rank.items())
        return f"(CASE _src {ranks} ELSE 1000 END), {recent}, {tie}"
    if g.rule == "most_complete":
        return f"_completeness DESC, {recent}, {tie}"
    return f"{recent}, {tie}"


def _not_shared(g: GoldenField, only: pa.Array | None, shared: pa.Table | None) -> str:
    if g.max_sharing is None:
        return ""
    f = quote(g.field)
    if shared is not None:  # judged over the whole store by the caller
        return (
            f" AND r.{f} NOT IN (SELECT value FROM shared_values WHERE field = {literal(g.field)})"
        )
    # With `only`, just the values those customers hold (each still counted over everyone).
    theirs = (
        ""
        if only is None
        else f" AND x.{f} IN (SELECT z.{f} FROM records z JOIN customer_of w ON w.rid = z._rid"
        " WHERE w.customer_id IN (SELECT customer_id FROM only_customers))"
    )
    return (
        f" AND r.{f} NOT IN (SELECT x.{f} FROM golden_input x JOIN customer_of y ON y.rid = x._rid"
        f" WHERE x.{f} IS NOT NULL{theirs} GROUP BY x.{f}"
        f" HAVING count(DISTINCT y.customer_id) > {int(g.max_sharing)})"
    )


def golden_records(
    con: duckdb.DuckDBPyConnection,
    fields: Sequence[GoldenField],
    sources: Sequence[str],
    only: pa.Array | None = None,
    shared: pa.Table | None = None,
) -> pa.Table:
    """One row per (customer, field): the chosen value and where it came from.

    With `only` (customer IDs), just those customers' records; whether a contact value is
    shared too widely is still judged over every customer — or given as `shared` (`field`,
    `value`) when `records` holds only part of the store.
    """
    _register_only(con, only)
    if shared is not None:
        con.register("shared_values", shared)
    columns = {str(r[0]) for r in con.execute("DESCRIBE records").fetchall()}
    std_fields = [g.field for g in fields]
    complete = " + ".join(f"({quote(f)} IS NOT NULL)::INTEGER" for f in std_fields) or "0"
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW golden_input AS SELECT *, {complete} AS _completeness"
        " FROM records"
    )
    selects = []
    for g in fields:
        raw = f"{g.field}__raw"
        std = f"r.{quote(g.field)}"
        # Shown as written where the source wrote the field itself; a part of a full name
        # ("SMITH, Johnny") only exists standardised, so show it in title case.
        titled = f"array_to_string(list_transform(string_split({std}, ' '), lambda w: upper(w[1]) || w[2:]), ' ')"
        if not g.display_raw:
            value = std
        elif raw in columns:
            value = f"coalesce(r.{quote(raw)}, {titled})"
        else:
            value = titled
        rank = {sources.index(s): i for i, s in enumerate(g.priority) if s in sources}
        selects.append(
            f"""
            SELECT customer_id, {literal(g.field)} AS field, value, source, record_id, updated_at,
                   {literal(g.rule)} AS rule
            FROM (
                SELECT *, row_number() OVER (PARTITION BY customer_id ORDER BY {_order(g, rank)}) AS k
                FROM (
                    SELECT c.customer_id, {value} AS value, s.name AS source, r._id AS record_id,
                           r._updated_at AS updated_at, r._updated_at, r._src, r._completeness,
                           count(*) OVER (PARTITION BY c.customer_id, r.{quote(g.field)}) AS _frequency
                    FROM golden_input r
                    JOIN customer_of c ON c.rid = r._rid
                    JOIN sources s ON s._src = r._src
                    WHERE r.{quote(g.field)} IS NOT NULL{_not_shared(g, only, shared)}{_only_clause(only)}
                )
            ) WHERE k = 1
            """
        )
    if not selects:
        return pa.schema(
            [(c, pa.string()) for c in
             ("customer_id", "field", "value", "source", "record_id", "updated_at", "rule")]
        ).empty_table()  # fmt: skip
    result = con.sql(" UNION ALL ".join(selects) + " ORDER BY customer_id, field").to_arrow_table()
    if shared is not None:
        con.unregister("shared_values")
    return result


def _register_only(con: duckdb.DuckDBPyConnection, only: pa.Array | None) -> None:
    if only is not None:
        con.register("only_customers", pa.table({"customer_id": only}))


def _only_clause(only: pa.Array | None) -> str:
    return "" if only is None else " AND c.customer_id IN (SELECT customer_id FROM only_customers)"


def contact_points(
    con: duckdb.DuckDBPyConnection,
    kinds: Mapping[str, str],
    golden: pa.Table,
    only: pa.Array | None = None,
) -> pa.Table:
    """Every email and phone of each customer; the one the golden record chose is preferred.

    `kinds` maps standardised fields (`email`, `email_2`, `phone`…) to `email` or `phone`;
    `only` limits it to some customers.
    """
    _register_only(con, only)
    if not kinds:
        return pa.table(
            {
                "customer_id": pa.array([], pa.string()),
                "kind": pa.array([], pa.string()),
                "value": pa.array([], pa.string()),
                "preferred": pa.array([], pa.bool_()),
                "sources": pa.array([], pa.string()),
            }
        )
    con.register("golden_now", golden)
    union = " UNION ALL ".join(
        f"SELECT c.customer_id, {literal(kind)} AS kind, r.{quote(f)} AS value, s.name AS source"
        f" FROM records r JOIN customer_of c ON c.rid = r._rid JOIN sources s USING (_src)"
        f" WHERE r.{quote(f)} IS NOT NULL{_only_clause(only)}"
        for f, kind in kinds.items()
    )
    result = con.sql(
        f"""
        WITH points AS ({union})
        SELECT p.customer_id, p.kind, p.value,
               coalesce(bool_or(g.value = p.value), false) AS preferred,
               string_agg(DISTINCT p.source, ',' ORDER BY p.source) AS sources
        FROM points p
        LEFT JOIN golden_now g ON g.customer_id = p.customer_id AND g.field = p.kind
        GROUP BY ALL ORDER BY p.customer_id, p.kind, preferred DESC, p.value
        """
    ).to_arrow_table()
    con.unregister("golden_now")
    return result


def resolve_events(
    con: duckdb.DuckDBPyConnection,
    event: EventMapping,
    contact_lookup: pa.Table | None,
) -> tuple[pa.Table, pa.Table]:
    """Tie each event to a customer; return (events, quarantined rows with reasons).

    `contact_lookup` maps the event's raw contact values to standardised ones (`raw`, `value`).
    An event whose person is unknown, or whose contact point several customers share, is
    quarantined with the reason — never silently dropped.
    """
    t = quote(event.table)
    attrs = ", ".join(f"{quote(a)} := e.{quote(a)}" for a in event.attributes)
    attributes = f"CAST(to_json(struct_pack({attrs})) AS VARCHAR)" if attrs else "NULL::VARCHAR"
    status = f"e.{quote(event.status)}" if event.status else "NULL::VARCHAR"
    amount = f"e.{quote(event.amount)}" if event.amount else "NULL::VARCHAR"
    if event.person_source is not None and event.person_record_id is not None:
        person = f"e.{quote(event.person_record_id)}"
        match = f"""
            LEFT JOIN records r ON r._src = {int(event.person_source)} AND r._id = {person}
            LEFT JOIN customer_of c ON c.rid = r._rid
        """
        customer = "c.customer_id"
        candidates = "CASE WHEN c.customer_id IS NULL THEN 0 ELSE 1 END"
        tie_kind = "'record'"
        tie_value = (
            f"(SELECT name FROM sources WHERE _src = {int(event.person_source)}) || ':' || {person}"
        )
    else:
        assert event.contact_column is not None and contact_lookup is not None
        con.register("contact_lookup", contact_lookup)
        person = f"e.{quote(event.contact_column)}"
        match = f"""
            LEFT JOIN contact_lookup k ON k.raw = {person}
            LEFT JOIN (
                SELECT value, min(customer_id) AS customer_id, count(DISTINCT customer_id) AS n
                FROM contact_points_now WHERE kind = {literal(event.contact_kind or "")} GROUP BY value
            ) cp ON cp.value = k.value
        """
        customer = "CASE WHEN cp.n = 1 THEN cp.customer_id END"
        candidates = "coalesce(cp.n, 0)"
        tie_kind = literal(event.contact_kind or "")
        tie_value = "k.value"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE event_rows AS
        SELECT e._row, e.{quote(event.id)} AS event_id, e.{quote(event.occurred_at)} AS occurred_raw,
               try_cast(e.{quote(event.occurred_at)} AS TIMESTAMP) AS occurred_at,
               {status} AS status, {amount} AS amount_raw, try_cast({amount} AS DOUBLE) AS amount,
               {attributes} AS attributes, {person} AS person, {customer} AS customer_id,
               {candidates} AS candidates, {tie_kind} AS tie_kind, {tie_value} AS tie_value,
               count(*) OVER (PARTITION BY e.{quote(event.id)}) AS copies,
               row_number() OVER (PARTITION BY e.{quote(event.id)} ORDER BY e._row) AS copy
        FROM {t} e {match}
        """
    )
    # A malformed event is never stored; one whose person is not (or not uniquely) known yet
    # is stored untied, so that a later run can tie it when its person arrives.
    problem = f"""
        CASE
            WHEN event_id IS NULL THEN {literal("missing id in column " + event.id)}
            WHEN copy > 1 THEN 'duplicate event id ' || event_id
            WHEN occurred_at IS NULL THEN {literal("column " + event.occurred_at + ": not a date/time: ")}
                 || coalesce(occurred_raw, 'empty')
            WHEN amount_raw IS NOT NULL AND amount IS NULL THEN {literal(f"column {event.amount}: not a number: ")}
                 || amount_raw
            WHEN person IS NULL THEN {literal("no person: the event names no " + (event.contact_kind or "record"))}
        END
    """
    untied = """
        CASE
            WHEN candidates = 0 THEN 'points at no known person: ' || person
            WHEN candidates > 1 THEN person || ' is shared by ' || candidates || ' customers'
        END
    """
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE event_checked AS SELECT *, {problem} AS problem,"
        f" {untied} AS untied FROM event_rows"
    )
    good = con.sql(
        f"""
        SELECT {literal(event.name)} AS source, event_id, {literal(event.type)} AS type,
               {literal(event.department)} AS department, strftime(occurred_at, '%Y-%m-%dT%H:%M:%S') AS occurred_at,
               status, amount, attributes, customer_id, person, tie_kind, tie_value
        FROM event_checked WHERE problem IS NULL ORDER BY _row
        """
    ).to_arrow_table()
    bad = con.sql(
        f"""
        SELECT {literal(event.name)} AS source, NULL::BIGINT AS line, _row AS row_number,
               coalesce(problem, untied) AS reason, NULL::VARCHAR AS raw
        FROM event_checked WHERE coalesce(problem, untied) IS NOT NULL ORDER BY _row
        """
    ).to_arrow_table()
    if event.contact_column is not None:
        con.unregister("contact_lookup")
    return good, bad


def store_records(
    con: duckdb.DuckDBPyConnection, fields: Sequence[str], changed_only: bool = False
) -> pa.Table:
    """Records as the store keeps them: raw row and standardised values as JSON (with
    `changed_only`, the new and changed records of an incremental run)."""
    where = "WHERE r._changed" if changed_only else ""
    packed = ", ".join(f"{quote(f)} := r.{quote(f)}" for f in fields) or "none := NULL"
    return arrow(
        con,
        f"""
        SELECT s.name AS source, r._id AS record_id, r._hash AS content_hash,
               r._updated_at AS updated_at, r._raw AS raw,
               CAST(to_json(struct_pack({packed})) AS VARCHAR) AS std
        FROM records r JOIN sources s USING (_src) {where} ORDER BY r._rid
        """,
    )


def store_links(
    con: duckdb.DuckDBPyConnection, rule_names: Sequence[str], affected_only: bool = False
) -> pa.Table:
    """Record → customer with the evidence: the strongest pair that holds it there (with
    `affected_only`, the records of an incremental run's `affected_now`)."""
    where = "WHERE r._rid IN (SELECT _rid FROM affected_now)" if affected_only else ""
    pairs = (
        "(SELECT * FROM scored WHERE l IN (SELECT _rid FROM affected_now)"
        " OR r IN (SELECT _rid FROM affected_now))"
        if affected_only
        else "scored"
    )
    _register_rule_names(con, rule_names)
    result = arrow(
        con,
        f"""
        WITH same AS (
            SELECT s.l AS rid, s.r AS other, s.match_weight, s.match_probability, s.match_rule
            FROM {pairs} s JOIN customer_of a ON a.rid = s.l JOIN customer_of b ON b.rid = s.r
            WHERE a.customer_id = b.customer_id AND NOT coalesce(s.veto, false)
            UNION ALL
            SELECT s.r, s.l, s.match_weight, s.match_probability, s.match_rule
            FROM {pairs} s JOIN customer_of a ON a.rid = s.l JOIN customer_of b ON b.rid = s.r
            WHERE a.customer_id = b.customer_id AND NOT coalesce(s.veto, false)
        ),
        best AS (
            SELECT rid, arg_max(struct_pack(other, match_weight, match_rule),
                                (match_rule IS NOT NULL, match_weight)) AS b
            FROM same GROUP BY rid
        )
        SELECT src.name AS source, r._id AS record_id, c.customer_id,
               CASE WHEN best.rid IS NULL THEN '{{"alone": true}}'
                    ELSE CAST(to_json(struct_pack(
                        rule := rn.name,
                        match_weight := round(best.b.match_weight, 3),
                        pair := os.name || ':' || o._id)) AS VARCHAR) END AS evidence
        FROM records r
        JOIN sources src ON src._src = r._src
        JOIN customer_of c ON c.rid = r._rid
        LEFT JOIN best ON best.rid = r._rid
        LEFT JOIN records o ON o._rid = best.b.other
        LEFT JOIN sources os ON os._src = o._src
        LEFT JOIN rule_names rn ON rn.k = best.b.match_rule
        {where}
        ORDER BY r._rid
        """,
    )
    con.unregister("rule_names")
    return result


def store_pairs(
    con: duckdb.DuckDBPyConnection, rule_names: Sequence[str], dirty_only: bool = False
) -> pa.Table:
    """Every scored pair: for review and explain, and for the next incremental run, which
    compares again only the pairs that touch a changed record (`dirty_only`: those)."""
    where = "WHERE a._dirty OR b._dirty" if dirty_only else ""
    _register_rule_names(con, rule_names)
    result = arrow(
        con,
        f"""
        SELECT sl.name AS source_l, a._id AS record_id_l, sr.name AS source_r,
               b._id AS record_id_r, s.match_weight, s.match_probability, rn.name AS rule,
               s.conflict
        FROM scored s
        JOIN records a ON a._rid = s.l JOIN records b ON b._rid = s.r
        JOIN sources sl ON sl._src = a._src JOIN sources sr ON sr._src = b._src
        LEFT JOIN rule_names rn ON rn.k = s.match_rule
        {where}
        ORDER BY s.l, s.r
        """,
    )
    con.unregister("rule_names")
    return result


def _register_rule_names(con: duckdb.DuckDBPyConnection, rule_names: Sequence[str]) -> None:
    """`rule_names(k, name)`: match_rule index → name; -1 is a steward's link."""
    names = pa.table(
        {"k": pa.array(range(-1, len(rule_names)), pa.int16()),
         "name": ["steward link", *rule_names]}
    )  # fmt: skip
    con.register("rule_names", names)
