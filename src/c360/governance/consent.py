"""Consent: what each person agreed to, per purpose, with where each statement came from.

A statement says that a customer granted or refused a purpose (`processing`, `email_marketing`,
`sms`, `profiling`, or the project's own), when, from which source, and who recorded it. They
come from two places:

- set through the API or the command line: kept in the store's `consent` table, with the
  customer ID they were made for (an ID that later merged still finds its statements);
- read from events: `consent.from_events` in `c360.yaml` turns an event of a source with a
  status (an email platform's `unsubscribed`) into a statement, at the event's time.

For each purpose the latest statement wins; every statement is kept as history. A customer
whose latest `processing` statement refuses it is left out of insights and exports, while their
records go on matching as before (identity resolution is not processing for a purpose).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from c360.errors import ConfigError
from c360.store.base import Store

__all__ = [
    "PROCESSING",
    "ConsentConfig",
    "EventConsent",
    "Statement",
    "consent_of",
    "record_statement",
    "refusing_processing",
]

PROCESSING = "processing"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventConsent(_Strict):
    """Events of `source` whose status is `status` state `granted` for `purpose`."""

    source: str
    status: str
    purpose: str
    granted: bool


class ConsentConfig(_Strict):
    purposes: list[str] = Field(
        default_factory=lambda: [PROCESSING, "email_marketing", "sms", "profiling"],
        description="The purposes consent is stated for.",
    )
    from_events: list[EventConsent] = Field(default_factory=list)


@dataclass(frozen=True)
class Statement:
    purpose: str
    granted: bool
    stated_at: str
    source: str  # "api", "cli", or the event source it was read from
    actor: str | None = None
    note: str | None = None
    event_id: str | None = None  # the event it was read from: its lineage


def _time(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def consent_of(
    store: Store, config: ConsentConfig, customer_id: str, ids: Sequence[str]
) -> tuple[dict[str, Statement | None], list[Statement]]:
    """The person's consent now, per purpose (None: never stated), and every statement,
    oldest first. `ids` are every ID they have had (statements made for an old one count)."""
    marks = ", ".join("?" for _ in ids)
    history = [
        Statement(
            r["purpose"],
            bool(r["granted"]),
            _time(r["stated_at"]),
            r["source"],
            r["actor"],
            r["note"],
        )
        for r in store.query(
            f"SELECT purpose, granted, stated_at, source, actor, note FROM consent"
            f" WHERE customer_id IN ({marks})",
            list(ids),
        )
    ]
    for rule in config.from_events:
        for e in store.query(
            "SELECT event_id, occurred_at FROM events WHERE customer_id = ? AND source = ?"
            " AND lower(status) = lower(?)",
            [customer_id, rule.source, rule.status],
        ):
            history.append(Statement(rule.purpose, rule.granted, str(e["occurred_at"]),
                                     rule.source, event_id=e["event_id"]))  # fmt: skip
    history.sort(key=lambda s: (s.stated_at, s.source, s.event_id or ""))
    current: dict[str, Statement | None] = dict.fromkeys(config.purposes)
    for s in history:
        current[s.purpose] = s
    return current, history


def refusing_processing(store: Store) -> set[str]:
    """The current customers whose latest `processing` statement refuses it."""
    latest: dict[str, tuple[str, bool]] = {}
    for r in store.query(
        "SELECT customer_id, granted, stated_at FROM consent WHERE purpose = ? ORDER BY stated_at",
        [PROCESSING],
    ):
        current, _chain = store.resolve_id(str(r["customer_id"]))
        for c in current:
            at = _time(r["stated_at"])
            if c not in latest or latest[c][0] <= at:
                latest[c] = (at, bool(r["granted"]))
    return {c for c, (_at, granted) in latest.items() if not granted}


def record_statement(
    store: Store,
    config: ConsentConfig,
    customer_id: str,
    purpose: str,
    granted: bool,
    *,
    source: str,
    actor: str,
    note: str | None = None,
    stated_at: datetime | None = None,
) -> Statement:
    """Keep a statement made for `customer_id` (a current ID); it is the latest from now on
    unless `stated_at` says it was made earlier."""
    if purpose not in config.purposes:
        raise ConfigError(f"unknown consent purpose {purpose!r}",
                          hint=f"purposes: {', '.join(config.purposes)} (consent.purposes in"
                          " c360.yaml)")  # fmt: skip
    at = stated_at or datetime.now(UTC).replace(tzinfo=None)
    store.query("INSERT INTO consent VALUES (?, ?, ?, ?, ?, ?, ?)",
                [customer_id, purpose, granted, at, source, actor, note])  # fmt: skip
    return Statement(purpose, granted, _time(at), source, actor, note)
