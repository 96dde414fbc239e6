"""Consent over HTTP: a customer's consent per purpose, with its history, read and stated."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from c360.errors import ConfigError
from c360.governance.consent import PROCESSING, consent_of, record_statement
from c360.project.subject import subject_ids
from c360.serve.keys import Principal
from c360.serve.problems import PROBLEM_RESPONSES, user_detail
from c360.serve.read_api import NOT_FOUND, current_of
from c360.serve.service import require, service_of

__all__ = ["router"]

router = APIRouter(responses=PROBLEM_RESPONSES)
Reader = Annotated[Principal, Depends(require("read"))]
Writer = Annotated[Principal, Depends(require("write"))]


class StatementOut(BaseModel):
    purpose: str
    granted: bool
    stated_at: str
    source: str = Field(description="api, cli, or the event source it was read from.")
    actor: str | None
    note: str | None
    event_id: str | None = Field(description="The event it was read from, if any.")


class Consent(BaseModel):
    customer_id: str
    current: dict[str, StatementOut | None] = Field(
        description="Per purpose, the latest statement (null: never stated)."
    )
    history: list[StatementOut] = Field(description="Every statement, oldest first.")


class StatementIn(BaseModel):
    granted: bool
    note: Annotated[str | None, Field(max_length=500)] = None
    stated_at: datetime | None = Field(
        None, description="When the person stated it (default: now), as ISO time in UTC."
    )


def _consent(service: Any, customer_id: str) -> dict[str, Any]:
    store = service.reader()
    current, history = consent_of(store, service.config.consent, customer_id,
                                  subject_ids(store, customer_id))  # fmt: skip
    return {"customer_id": customer_id,
            "current": {p: None if s is None else asdict(s) for p, s in current.items()},
            "history": [asdict(s) for s in history]}  # fmt: skip


@router.get("/customers/{customer_id}/consent", response_model=Consent, responses=NOT_FOUND,
            summary="The customer's consent per purpose, and every statement")  # fmt: skip
def get_consent(customer_id: str, request: Request, _: Reader) -> dict[str, Any]:
    service = service_of(request)
    current, _others, _chain = current_of(service, customer_id)
    service.audited(request, "customer.consent", current, ("consent",))
    return _consent(service, current)


_BAD_BODY: dict[int | str, dict[str, Any]] = {
    400: PROBLEM_RESPONSES[401] | {"description": "The body cannot be read as JSON."},
    413: PROBLEM_RESPONSES[401] | {"description": "The body is too big."},
}


@router.put("/customers/{customer_id}/consent/{purpose}", response_model=Consent,
            responses={**NOT_FOUND, **_BAD_BODY},
            summary="State the customer's consent for a purpose")  # fmt: skip
def put_consent(
    customer_id: str,
    purpose: Annotated[str, Path(min_length=1, max_length=100)],
    body: StatementIn,
    request: Request,
    who: Writer,
) -> dict[str, Any]:
    """The latest statement per purpose wins; earlier ones stay as history. Refusing
    `processing` takes the customer out of insights and exports."""
    service = service_of(request)
    current, _others, _chain = current_of(service, customer_id)
    stated = None if body.stated_at is None else body.stated_at.replace(tzinfo=None)
    with service.write_lock:
        try:
            record_statement(service.store, service.config.consent, current, purpose,
                             body.granted, source="api", actor=f"key:{who.key_id}",
                             note=body.note, stated_at=stated)  # fmt: skip
        except ConfigError as e:
            raise HTTPException(422, user_detail(e)) from None
        if purpose == PROCESSING:
            service.refresh_refusing()
    service.audited(request, "consent.set", current, ("consent",), purpose=purpose,
                    granted=body.granted)  # fmt: skip
    return _consent(service, current)
