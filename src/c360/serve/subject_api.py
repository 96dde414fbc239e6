"""Subject rights over HTTP, for admin keys: everything held about a person, and erasure."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from c360.project.subject import subject_document
from c360.serve.keys import Principal
from c360.serve.problems import PROBLEM_RESPONSES
from c360.serve.read_api import NOT_FOUND, current_of
from c360.serve.service import require, service_of

__all__ = ["router"]

router = APIRouter(responses=PROBLEM_RESPONSES)
Admin = Annotated[Principal, Depends(require("admin"))]


@router.get("/customers/{customer_id}/export", responses=NOT_FOUND,
            summary="Everything held about the person, in one document (admin keys)")  # fmt: skip
def export_subject(customer_id: str, request: Request, _: Admin) -> dict[str, Any]:
    """Right of access and portability: the golden record with lineage, every source record
    with its raw row, events, redirects and the audit log's entries about the person."""
    service = service_of(request)
    current, _others, _chain = current_of(service, customer_id)
    service.audit.flush()
    document = subject_document(service.reader(), service.config, current, service.audit)
    service.audited(request, "subject.export", current)
    return document


class Erased(BaseModel):
    customer_id: str
    ids: list[str] = Field(description="Every ID the person had; each now redirects to nobody.")
    still_held: dict[str, list[str]] = Field(
        description="The source systems that still hold the person's records, with their ids:"
        " delete them there (c360 will not take them again)."
    )
    events_cleared: int = Field(description="Events kept as counts, without personal fields.")


@router.delete("/customers/{customer_id}", response_model=Erased, responses=NOT_FOUND,
               summary="Erase the person: their data leaves every file the service keeps")  # fmt: skip
async def erase_subject(customer_id: str, request: Request, _: Admin) -> dict[str, Any]:
    """Publishes every answered write, then, with no other request running (they wait), deletes
    the person's records by the exact run, clears what stays of them, keeps only keyed hashes
    of their records and contacts so that no later sync brings them back, rewrites the store
    and builds the read model and the match index again. On a million records this takes
    about two minutes, during which other requests wait."""
    service = service_of(request)
    current, _others, _chain = await run_in_threadpool(current_of, service, customer_id)
    erasure = await run_in_threadpool(service.erase, current)
    service.audited(request, "subject.erase", current, ("*",), ids=len(erasure.ids),
                    records={s: len(r) for s, r in erasure.records.items()},
                    events_cleared=erasure.events_cleared)  # fmt: skip
    return {"customer_id": current, "ids": erasure.ids, "still_held": erasure.records,
            "events_cleared": erasure.events_cleared}  # fmt: skip
