"""Stable customer IDs: issued once, carried on by the customer that carries them on.

After each run's clustering, every new cluster gets an ID by looking at where its records were
before:

- each previous customer's *heir* is the new cluster holding most of its records;
- a cluster that is the heir of one or more previous customers keeps the ID of the **oldest**
  of them; the others are merged into it and leave a `merge` redirect;
- a previous customer's records that went elsewhere (a split) leave a `split` redirect from its
  ID to each cluster they went to, which keeps its own ID or gets a new one;
- a previous customer with no records left leaves a `deleted` redirect (to no one);
- a cluster that is nobody's heir is a new customer with a new ID.

So a rerun on the same data changes no ID, and new data changes only the IDs it must. Every
decision is deterministic given the clusters (ties go to the lower ID).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from ulid import ULID

__all__ = ["IdAssignment", "Redirect", "assign_customer_ids", "new_customer_id"]


K = TypeVar("K", bound=Hashable)


def new_customer_id() -> str:
    """`C-` and a ULID: unique without coordination, and sorts by time of issue."""
    return f"C-{ULID()}"


@dataclass(frozen=True)
class Redirect:
    old_id: str
    new_id: str | None
    reason: str  # "merge" | "split" | "deleted"


@dataclass(frozen=True)
class IdAssignment:
    customer_of: dict[int, str]  # cluster label → customer id
    redirects: list[Redirect] = field(default_factory=list)
    new_ids: list[str] = field(default_factory=list)


def assign_customer_ids(
    clusters: Mapping[K, int],
    previous: Mapping[K, str],
    issued: Mapping[str, object],
    new_id: Callable[[], str] = new_customer_id,
    reserved: Mapping[K, str] | None = None,
) -> IdAssignment:
    """Give every cluster label a customer ID.

    `clusters` maps each current record to its cluster label; `previous` maps each record of
    the last published state to its customer ID; `issued` orders previous IDs by age (anything
    comparable: the time the ID was issued; asked only when two or more IDs claim one cluster).
    `reserved` names IDs already promised to records (a real-time write answers before it is
    published): a new cluster holding such a record takes its ID (the smallest, if several).
    """
    spread: dict[str, Counter[int]] = defaultdict(Counter)
    for record, customer in previous.items():
        if record in clusters:
            spread[customer][clusters[record]] += 1

    def age(customer: str) -> tuple[object, str]:
        return (issued.get(customer, ""), customer)

    heir = {
        c: min(counts, key=lambda label: (-counts[label], label)) for c, counts in spread.items()
    }
    claims: dict[int, list[str]] = defaultdict(list)
    for customer, label in heir.items():
        claims[label].append(customer)

    customer_of: dict[int, str] = {}
    redirects: list[Redirect] = []
    for label, claimants in claims.items():
        owner, *merged = sorted(claimants, key=age) if len(claimants) > 1 else claimants
        customer_of[label] = owner
        redirects += [Redirect(c, owner, "merge") for c in merged]

    promised: dict[int, str] = {}
    for record, customer in (reserved or {}).items():
        if record in clusters and clusters[record] not in customer_of:
            at = clusters[record]
            promised[at] = min(customer, promised.get(at, customer))
    new_ids = []
    for label in sorted(set(clusters.values())):
        if label not in customer_of:
            customer_of[label] = promised.get(label) or new_id()
            new_ids.append(customer_of[label])

    for customer, counts in sorted(spread.items()):
        for label in sorted(counts):
            if label != heir[customer]:
                redirects.append(Redirect(customer, customer_of[label], "split"))
    for customer in sorted(set(previous.values()) - set(spread)):
        redirects.append(Redirect(customer, None, "deleted"))
    return IdAssignment(customer_of, redirects, new_ids)
