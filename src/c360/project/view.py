"""The 360 view of one customer: golden record with lineage, source records, one timeline
across departments, calculated insights and the flags a user would act on.

Found by any customer ID ever issued (old IDs follow their redirects), or by email, phone or
name — searched on standardised values, names fuzzily.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from c360.config import StandardizeConfig
from c360.errors import StoreError
from c360.standardize import emails, names, phones
from c360.store import Store
from c360.store.duckdb_store import now

__all__ = [
    "CustomerRetired",
    "CustomerView",
    "Insights",
    "current_customer",
    "customer_records",
    "customer_view",
    "find_customers",
    "high_value_line",
    "timeline",
]

_CLOSED_ORDER = ("refunded", "cancelled", "canceled", "failed")
_OPEN_CASE = ("open", "pending", "new", "in progress", "waiting")


@dataclass(frozen=True)
class Insights:
    lifetime_value: float
    orders: int
    last_order: str | None
    open_cases: int
    last_service_contact: str | None
    emails_opened: int
    emails_clicked: int
    unsubscribed: bool
    web_visits_30d: int
    flags: list[str]


@dataclass(frozen=True)
class CustomerView:
    asked: str
    customer_id: str
    redirects: list[dict[str, Any]]
    golden: list[dict[str, Any]]
    contact_points: list[dict[str, Any]]
    records: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    insights: Insights | None  # None: the reader's role may not see them
    created_at: Any = None
    other_ids: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(
            {
                "asked": self.asked,
                "customer_id": self.customer_id,
                "redirects": self.redirects,
                "created_at": self.created_at,
                "golden": self.golden,
                "contact_points": self.contact_points,
                "records": self.records,
                "timeline": self.timeline,
                "insights": None if self.insights is None else self.insights.__dict__,
                "other_ids": self.other_ids,
            },
            indent=2,
            default=str,
        )


def find_customers(
    store: Store,
    *,
    email: str | None = None,
    phone: str | None = None,
    name: str | None = None,
    settings: StandardizeConfig | None = None,
    limit: int = 20,
) -> list[str]:
    """Customer IDs by contact point or by name (fuzzy, best first).

    A contact point is standardised with the project's settings first, exactly as the records'
    were, so `J.Doe+news@Gmail.com` finds the customer whose address is `jdoe@gmail.com`.
    """
    settings = settings or StandardizeConfig()
    for kind, given in (("email", email), ("phone", phone)):
        if given is None:
            continue
        value = (
            emails.email(given, provider_rules=settings.email_provider_rules).value
            if kind == "email"
            else phones.phone(given, default_region=settings.default_region).value
        )
        if value is None:
            raise StoreError(f"{given!r} is not a valid {kind}", hint="check it for typos")
        rows = store.query(
            "SELECT DISTINCT customer_id FROM contact_points WHERE kind = ? AND value = ?"
            " ORDER BY customer_id",
            [kind, value],
        )
        return [r["customer_id"] for r in rows]
    if name is not None:
        parsed = names.full_name(name)
        wanted = " ".join(p for p in (parsed.given_name, parsed.family_name) if p)
        rows = store.query(
            """
            WITH people AS (
                SELECT customer_id,
                       lower(concat_ws(' ', max(value) FILTER (WHERE field = 'given_name'),
                                            max(value) FILTER (WHERE field = 'family_name'))) AS n
                FROM golden WHERE field IN ('given_name', 'family_name') GROUP BY customer_id
            )
            SELECT customer_id, jaro_winkler_similarity(strip_accents(n), ?) AS score
            FROM people WHERE jaro_winkler_similarity(strip_accents(n), ?) >= 0.85
            ORDER BY score DESC, customer_id LIMIT ?
            """,
            [wanted, wanted, limit],
        )
        return [r["customer_id"] for r in rows]
    raise StoreError("give a customer ID, --email, --phone or --name")


def high_value_line(store: Store) -> float | None:
    """The lifetime value from which a customer is "high value": the top 10% of buyers."""
    row = store.query(
        f"""
        SELECT quantile_cont(v, 0.9) AS p90 FROM (
            SELECT sum(amount) AS v FROM events WHERE type = 'order'
              AND coalesce(lower(status), '') NOT IN {_CLOSED_ORDER} GROUP BY customer_id)
        """
    )[0]["p90"]
    return None if row is None else float(row)


_INSIGHTS = f"""
    coalesce(sum(amount) FILTER (WHERE type = 'order'
             AND coalesce(lower(status), '') NOT IN {_CLOSED_ORDER}), 0) AS ltv,
    count(*) FILTER (WHERE type = 'order') AS orders,
    max(occurred_at) FILTER (WHERE type = 'order') AS last_order,
    count(*) FILTER (WHERE type = 'case' AND lower(status) IN {_OPEN_CASE}) AS open_cases,
    max(occurred_at) FILTER (WHERE type = 'case' OR department = 'service') AS last_service,
    count(*) FILTER (WHERE type = 'email' AND lower(status) = 'opened') AS opened,
    count(*) FILTER (WHERE type = 'email' AND lower(status) = 'clicked') AS clicked,
    coalesce(bool_or(type = 'email' AND lower(status) = 'unsubscribed'), false) AS unsubscribed,
    count(*) FILTER (WHERE type = 'web_visit' AND occurred_at >= ?) AS visits
"""
_TIMELINE_COLUMNS = ("occurred_at", "department", "type", "status", "amount", "source",
                     "event_id", "attributes")  # fmt: skip


def _events_and_insights(
    store: Store, customer_id: str, as_of: datetime, high_value: float | None, limit: int
) -> tuple[list[dict[str, Any]], Insights]:
    """The newest `limit` events and the insights over all of them, in one query: the
    customer's events are found by index once, then both are computed from them."""
    rows = store.query(
        f"""
        WITH mine AS MATERIALIZED (
            SELECT {", ".join(_TIMELINE_COLUMNS)} FROM events WHERE customer_id = ?),
        agg AS (SELECT {_INSIGHTS} FROM mine),
        newest AS (SELECT * FROM mine ORDER BY occurred_at DESC NULLS LAST, source, event_id
                   LIMIT ?)
        SELECT agg.*, newest.* FROM agg LEFT JOIN newest ON true
        ORDER BY newest.occurred_at DESC NULLS LAST, newest.source, newest.event_id
        """,
        [customer_id, (as_of - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S"), limit],
    )
    events = [{c: r[c] for c in _TIMELINE_COLUMNS} for r in rows if r["event_id"] is not None]
    for e in events:
        e["attributes"] = json.loads(e["attributes"]) if e["attributes"] else {}
    row = rows[0]
    flags = []
    if row["open_cases"]:
        flags.append("open case")
    if high_value is not None and row["ltv"] > 0 and row["ltv"] >= high_value:
        flags.append("high value")
    if row["unsubscribed"]:
        flags.append("unsubscribed")
    return events, Insights(
        lifetime_value=round(float(row["ltv"]), 2),
        orders=int(row["orders"]),
        last_order=row["last_order"],
        open_cases=int(row["open_cases"]),
        last_service_contact=row["last_service"],
        emails_opened=int(row["opened"]),
        emails_clicked=int(row["clicked"]),
        unsubscribed=bool(row["unsubscribed"]),
        web_visits_30d=int(row["visits"]),
        flags=flags,
    )


class CustomerRetired(StoreError):
    """An ID whose customer lost its last source record: it resolves to nobody now."""


def current_customer(store: Store, asked: str) -> tuple[str, list[str], list[dict[str, Any]]]:
    """The current customer an ID ever issued names: (its ID, other current IDs a split one
    went to, the redirects followed). A retired or unknown ID is an error saying which."""
    if store.query("SELECT 1 AS x FROM customers WHERE customer_id = ?", [asked]):
        return asked, [], []  # a current ID: nothing to follow
    current, chain = store.resolve_id(asked)
    if not current:
        if chain:
            raise CustomerRetired(
                f"customer {asked} was retired: all its source records were deleted",
                hint=f"redirects: {', '.join(str(r['reason']) for r in chain)}",
            )
        raise StoreError(f"no customer {asked!r}", hint="search with --email, --phone or --name")
    return current[0], current[1:], chain


def customer_records(store: Store, customer_id: str) -> list[dict[str, Any]]:
    """The customer's source records: raw rows and the evidence that linked each."""
    # Links first, then their records by id: two index lookups, not a join over every record.
    links = store.query(
        "SELECT source, record_id, evidence FROM links WHERE customer_id = ?"
        " ORDER BY source, record_id",
        [customer_id],
    )
    if not links:
        return []
    marks = ", ".join("?" for _ in links)
    found = {
        (r["source"], r["record_id"]): r
        for r in store.query(
            f"SELECT source, record_id, updated_at, raw FROM records WHERE record_id IN ({marks})",
            [link["record_id"] for link in links],
        )
    }
    records = [
        {**link, "updated_at": None, "raw": None,
         **{k: v for k, v in found.get((link["source"], link["record_id"]), {}).items()
            if k in ("updated_at", "raw")}}
        for link in links
    ]  # fmt: skip
    for r in records:
        r["raw"] = json.loads(r["raw"]) if r["raw"] else None
        r["evidence"] = json.loads(r["evidence"]) if r["evidence"] else None
    return records


def timeline(
    store: Store,
    customer_id: str,
    *,
    limit: int = 50,
    offset: int = 0,
    department: str | None = None,
    kind: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> list[dict[str, Any]]:
    """The customer's events across departments, newest first, optionally filtered; `since`
    and `until` are ISO times (inclusive, exclusive)."""
    where, params = ["customer_id = ?"], [customer_id]
    for clause, value in (("department = ?", department), ("type = ?", kind),
                          ("occurred_at >= ?", since), ("occurred_at < ?", until)):  # fmt: skip
        if value is not None:
            where.append(clause)
            params.append(value)
    # Materialised first, so that the customer's few events are found by index, then sorted.
    events = store.query(
        f"""
        WITH mine AS MATERIALIZED (
            SELECT occurred_at, department, type, status, amount, source, event_id, attributes
            FROM events WHERE {" AND ".join(where)})
        SELECT * FROM mine ORDER BY occurred_at DESC NULLS LAST, source, event_id
        LIMIT ? OFFSET ?
        """,
        [*params, limit, offset],
    )
    for e in events:
        e["attributes"] = json.loads(e["attributes"]) if e["attributes"] else {}
    return events


def customer_view(
    store: Store,
    asked: str,
    *,
    timeline_limit: int = 50,
    as_of: datetime | None = None,
    high_value: float | None = None,
) -> CustomerView:
    """Everything the store knows about the customer `asked` names (any ID ever issued).
    `high_value` is the lifetime value the "high value" flag starts at (computed if absent)."""
    customer_id, others, chain = current_customer(store, asked)
    golden = store.query(
        "SELECT field, value, source, record_id, updated_at, rule FROM golden"
        " WHERE customer_id = ? ORDER BY field",
        [customer_id],
    )
    points = store.query(
        "SELECT kind, value, preferred, sources FROM contact_points WHERE customer_id = ?"
        " ORDER BY kind, preferred DESC, value",
        [customer_id],
    )
    created = store.query("SELECT created_at FROM customers WHERE customer_id = ?", [customer_id])
    events, insights = _events_and_insights(
        store, customer_id, as_of or now(),
        high_value if high_value is not None else high_value_line(store), timeline_limit,
    )  # fmt: skip
    return CustomerView(
        asked=asked,
        customer_id=customer_id,
        redirects=chain,
        golden=golden,
        contact_points=points,
        records=customer_records(store, customer_id),
        timeline=events,
        insights=insights,
        created_at=created[0]["created_at"] if created else None,
        other_ids=others,
    )
