"""Subject rights: everything c360 holds about one person, found and gathered in one document.

A data subject is named the way a request names them: a customer ID (any ever issued), an email
or a phone. `find_subject` turns that into the person's current customer; `subject_document`
gathers what the store holds about them (right of access, and portability: one JSON document):
the golden record with each value's lineage, every source record with its raw row and why it
was linked, every event, their consent (now, and every statement), the redirects of every ID
they have had, and the audit log's entries about them.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from c360 import __version__
from c360.errors import StoreError
from c360.governance import AuditLog
from c360.governance.consent import consent_of
from c360.project.config import ProjectConfig
from c360.project.view import current_customer, customer_records, find_customers
from c360.store import Store

__all__ = ["find_subject", "subject_document", "subject_ids"]

_FORMAT = 1  # the document's shape


def find_subject(store: Store, config: ProjectConfig, named: str) -> str:
    """The current customer ID of the person `named` names: a customer ID, an email or a
    phone. More than one customer, or none, is an error that says what to do."""
    named = named.strip()
    if "@" in named:
        found = find_customers(store, email=named, settings=config.standardize)
    elif (
        store.query("SELECT 1 AS x FROM links WHERE customer_id = ? LIMIT 1", [named])
        or (store.resolve_id(named)[1])
    ):
        return current_customer(store, named)[0]
    else:
        try:
            found = find_customers(store, phone=named, settings=config.standardize)
        except StoreError:
            raise StoreError(
                f"{named!r} is not a customer ID, an email or a phone c360 knows",
                hint="name the person by a customer ID, an email or a phone number",
            ) from None
    if not found:
        raise StoreError(f"no customer holds {named!r}", hint="try another of their identifiers")
    if len(found) > 1:
        raise StoreError(
            f"{len(found)} customers hold {named!r}: {', '.join(found[:10])}",
            hint="name one of them by its customer ID",
        )
    return found[0]


def subject_ids(store: Store, customer_id: str) -> list[str]:
    """Every ID the person has had: the current one and each that redirects to it."""
    ids, frontier = {customer_id}, [customer_id]
    while frontier:
        marks = ", ".join("?" for _ in frontier)
        rows = store.query(
            f"SELECT DISTINCT old_id FROM redirects WHERE new_id IN ({marks})", frontier
        )
        frontier = [r["old_id"] for r in rows if r["old_id"] not in ids]
        ids.update(frontier)
    return sorted(ids)


def subject_document(
    store: Store, config: ProjectConfig, customer_id: str, audit: AuditLog | None
) -> dict[str, Any]:
    """Everything held about the person whose current ID is `customer_id`."""
    ids = subject_ids(store, customer_id)
    marks = ", ".join("?" for _ in ids)
    golden = store.query(
        "SELECT field, value, source, record_id, updated_at, rule FROM golden"
        " WHERE customer_id = ? ORDER BY field",
        [customer_id],
    )
    contact_points = store.query(
        "SELECT kind, value, preferred, sources FROM contact_points WHERE customer_id = ?"
        " ORDER BY kind, value",
        [customer_id],
    )
    events = store.query(
        "SELECT source, event_id, type, department, occurred_at, status, amount, attributes,"
        " person, tie_kind, tie_value FROM events WHERE customer_id = ?"
        " ORDER BY occurred_at, source, event_id",
        [customer_id],
    )
    for e in events:
        e["attributes"] = json.loads(e["attributes"]) if e["attributes"] else {}
    redirects = store.query(
        f"SELECT old_id, new_id, reason, redirected_at, run_id FROM redirects"
        f" WHERE old_id IN ({marks}) OR new_id IN ({marks}) ORDER BY redirected_at, old_id",
        [*ids, *ids],
    )
    customer = store.query(
        "SELECT created_at, updated_at FROM customers WHERE customer_id = ?", [customer_id]
    )
    now, history = consent_of(store, config.consent, customer_id, ids)
    audited: list[dict[str, Any]] = []
    if audit is not None:
        audited = audit.entries(customer_ids=ids, limit=None) if ids else []
    document: dict[str, Any] = json.loads(json.dumps({
        "format": _FORMAT,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "exported_by": f"c360 {__version__}, project {config.project}",
        "customer_id": customer_id,
        "ids": ids,
        "created_at": customer[0]["created_at"] if customer else None,
        "updated_at": customer[0]["updated_at"] if customer else None,
        "golden": golden,
        "contact_points": contact_points,
        "records": customer_records(store, customer_id),
        "events": events,
        "consent": {"current": {p: None if st is None else asdict(st) for p, st in now.items()},
                    "history": [asdict(st) for st in history]},
        "redirects": redirects,
        "audit": audited,
    }, default=str))  # fmt: skip
    return document
