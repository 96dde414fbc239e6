"""What the API answers, as pydantic models: they are the OpenAPI schema clients and the fuzz
tests work from."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

# The dataclasses the views are built of serve as schemas as they are.
from c360.project.view import Insights
from c360.resolve.explain import FieldExplanation

__all__ = [
    "AuditPage",
    "Change",
    "ChangePage",
    "Customer360",
    "CustomerHit",
    "CustomerHits",
    "Explanation",
    "Health",
    "Problem",
    "RecordList",
    "Timeline",
]


class Problem(BaseModel):
    """An error, as RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, Any]] | None = Field(
        None, description="For invalid input: each bad field, where it is and what is wrong."
    )


class Health(BaseModel):
    status: str
    project: str
    last_run: str | None
    last_change: int


class GoldenValue(BaseModel):
    field: str
    value: str | None
    source: str | None
    record_id: str | None
    updated_at: str | None
    rule: str | None


class ContactPoint(BaseModel):
    kind: str
    value: str
    preferred: bool | None
    sources: str | None


class SourceRecord(BaseModel):
    source: str
    record_id: str
    updated_at: str | None
    evidence: Any = None
    raw: dict[str, Any] | None = None


class TimelineEvent(BaseModel):
    occurred_at: str | None
    department: str | None
    type: str | None
    status: str | None
    amount: float | None
    source: str
    event_id: str
    attributes: dict[str, Any] = {}


class Redirect(BaseModel):
    old_id: str
    new_id: str | None
    reason: str
    redirected_at: Any
    run_id: str | None


class Customer360(BaseModel):
    asked: str = Field(description="The ID asked for; an old ID's redirects say where it went.")
    customer_id: str
    other_ids: list[str] = Field(description="The other current IDs an old, split ID went to.")
    redirects: list[Redirect]
    created_at: Any = None
    golden: list[GoldenValue]
    contact_points: list[ContactPoint]
    records: list[SourceRecord]
    timeline: list[TimelineEvent] = Field(description="The newest events; page with /timeline.")
    insights: Insights | None = Field(description="Null for a role whose policy hides them.")


class CustomerHit(BaseModel):
    customer_id: str
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    phone: str | None = None


class CustomerHits(BaseModel):
    customers: list[CustomerHit]


class Timeline(BaseModel):
    customer_id: str
    events: list[TimelineEvent]
    next_offset: int | None = Field(description="Pass as `offset` for the next page.")


class RecordList(BaseModel):
    customer_id: str
    records: list[SourceRecord]


class Explanation(BaseModel):
    a: str
    b: str
    same_customer: bool = Field(description="Whether the two records share a customer now.")
    rule: str | None = Field(description="The deterministic match rule that links them, if any.")
    fields: list[FieldExplanation]
    prior_weight: float
    match_weight: float
    match_probability: float
    threshold: float
    conflict: list[str] | None = Field(description="The hard conflict the pair falls under.")


class Change(BaseModel):
    seq: int
    changed_at: Any
    kind: str = Field(description="new, merge, split, retired or golden")
    customer_id: str | None
    other_id: str | None
    run_id: str | None


class AuditEntry(BaseModel):
    seq: int
    at: str
    actor: str = Field(description="`key:<id>` for an API key, `cli:<user>` for a command.")
    role: str
    action: str = Field(description="customer.read, customer.search, record.write, run, …")
    customer_id: str | None
    fields: list[str] = Field(
        description="The fields answered (`*`: all c360 holds, nothing withheld), never their"
        " values."
    )
    detail: dict[str, Any]
    hash: str


class AuditPage(BaseModel):
    entries: list[AuditEntry]
    next: int = Field(description="The cursor to pass as `since` next time.")


class ChangePage(BaseModel):
    changes: list[Change]
    next: int = Field(description="The cursor to pass as `since` next time.")
