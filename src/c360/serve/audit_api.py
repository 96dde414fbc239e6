"""The audit log over HTTP (`GET /audit`): for keys whose role may `admin`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from c360.serve.keys import Principal
from c360.serve.problems import PROBLEM_RESPONSES
from c360.serve.schemas import AuditPage
from c360.serve.service import require, service_of

__all__ = ["router"]

router = APIRouter(responses=PROBLEM_RESPONSES)
Admin = Annotated[Principal, Depends(require("admin"))]
Text = Annotated[str | None, Query(min_length=1, max_length=200)]


@router.get("/audit", response_model=AuditPage,
            summary="The audit log: reads of customers and changes, oldest first")  # fmt: skip
def audit(
    request: Request,
    _: Admin,
    customer_id: Text = None,
    action: Text = None,
    actor: Text = None,
    since: Annotated[int, Query(ge=0, le=2**62, description="The last `seq` already seen.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Entries name fields, never values. Reads are written to the log within a fraction of a
    second of their answer."""
    log = service_of(request).audit
    log.flush()
    rows = log.entries(customer_id=customer_id, action=action, actor=actor, since=since,
                       limit=limit)  # fmt: skip
    return {"entries": rows, "next": rows[-1]["seq"] if rows else since}
