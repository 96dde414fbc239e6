"""The write endpoints: source records upserted and deleted, resolved with the batch model."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from c360.errors import C360Error, StoreError
from c360.serve.keys import Principal
from c360.serve.outcomes import NeedsRun, UnknownSource, WriteRefused, WriteResult, WritesPaused
from c360.serve.posted_events import post_events
from c360.serve.problems import PROBLEM_RESPONSES, user_detail
from c360.serve.service import require, service_of

__all__ = ["router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    400: PROBLEM_RESPONSES[401] | {"description": "The body cannot be read as JSON."},
    404: PROBLEM_RESPONSES[401] | {"description": "No such source (or record, to delete)."},
    409: PROBLEM_RESPONSES[401] | {"description": "The project needs `c360 run` first."},
    503: PROBLEM_RESPONSES[401] | {"description": "Writes are paused (see the service's log)."},
}
router = APIRouter(responses=_ERRORS)
Writer = Annotated[Principal, Depends(require("write"))]
SourceName = Annotated[str, Path(min_length=1, max_length=100)]
RecordId = Annotated[str, Path(min_length=1, max_length=200)]
Columns = Annotated[
    dict[Annotated[str, Field(min_length=1, max_length=200)], Annotated[str | None, Field(max_length=10_000)]],
    Field(max_length=500, description="The record's columns as its source has them: raw values,"
          " which the project's mapping for that source standardises."),
]  # fmt: skip


class RecordIn(BaseModel):
    fields: Columns


class RecordWithId(BaseModel):
    id: Annotated[str, Field(min_length=1, max_length=200)]
    fields: Columns


class Batch(BaseModel):
    records: Annotated[list[RecordWithId], Field(min_length=1, max_length=1000)]


class Written(BaseModel):
    source: str
    record_id: str
    customer_id: str | None = Field(description="Its customer now; null once deleted.")


class Change(BaseModel):
    seq: int | None = Field(description="Its place in the change feed (null: not published yet).")
    changed_at: Any
    kind: str = Field(description="new, merge, split, retired or golden")
    customer_id: str | None
    other_id: str | None
    run_id: str | None


class WriteAnswer(BaseModel):
    outcome: str = Field(
        description="What happened to the record's customer: new_customer, linked, merged,"
        " updated, unchanged, deleted or retired (a batch: the most telling of its records')"
    )
    published: bool = Field(
        description="Whether the write was published before this answer. Most writes are"
        " resolved in memory, answered, and published a moment later by the same run as a"
        " batch; a read of their customers waits for that publish."
    )
    run_id: str | None = Field(description="The run that published it (null: not yet).")
    records: list[Written]
    changes: list[Change] = Field(
        description="The change-feed entries this write made: as published, or, before its"
        " publish, the identity entries it makes (without `seq`; golden-record changes follow"
        " in the feed)."
    )
    refused: list[str] = Field(
        default_factory=list, description="Records of a batch that could not be taken, and why."
    )


def _call(request: Request, action: str, *args: Any) -> WriteResult:
    writer = service_of(request).writer
    try:
        result: WriteResult = getattr(writer, action)(*args)
    except UnknownSource as e:
        raise HTTPException(404, user_detail(e)) from None
    except NeedsRun as e:
        raise HTTPException(409, user_detail(e)) from None
    except WritesPaused as e:
        raise HTTPException(503, user_detail(e)) from None
    except WriteRefused as e:
        raise HTTPException(422, user_detail(e)) from None
    except StoreError as e:
        raise HTTPException(404, user_detail(e)) from None
    except C360Error as e:
        raise HTTPException(422, user_detail(e)) from None
    for source, record_id, customer_id in result.records:
        service_of(request).audited(request, f"record.{action}", customer_id, (),
                                    source=source, record_id=record_id)  # fmt: skip
    return result


def _timed(response: Response, result: WriteResult) -> WriteResult:
    """Say where a write's time went (W3C Server-Timing: milliseconds per step)."""
    if result.timings:
        response.headers["Server-Timing"] = ", ".join(
            f"{step};dur={seconds * 1000:.2f}" for step, seconds in result.timings.items()
        )
    return result


def _answer(result: WriteResult, deleting: bool = False) -> dict[str, Any]:
    kinds = {c["kind"] for c in result.changes}
    written = {c for _, _, c in result.records}
    if deleting:
        outcome = "retired" if "retired" in kinds else "deleted"
    elif result.unchanged:
        outcome = "unchanged"
    elif "merge" in kinds:
        outcome = "merged"
    elif any(c["kind"] == "new" and c["customer_id"] in written for c in result.changes):
        outcome = "new_customer"
    elif {r for _, r, _ in result.records} <= result.existed:
        outcome = "updated"
    else:
        outcome = "linked"
    return {
        "outcome": outcome,
        "published": result.published,
        "run_id": result.run_id,
        "records": [{"source": s, "record_id": r, "customer_id": c} for s, r, c in result.records],
        "changes": result.changes,
        "refused": result.refused,
    }


@router.put("/sources/{source}/records/{record_id}", response_model=WriteAnswer,
            summary="Add or replace a source record; resolved now, with the batch model")  # fmt: skip
def put_record(
    source: SourceName,
    record_id: RecordId,
    body: RecordIn,
    request: Request,
    response: Response,
    _: Writer,
) -> dict[str, Any]:
    return _answer(_timed(response, _call(request, "upsert", source, {record_id: body.fields})))


@router.post("/sources/{source}/records", response_model=WriteAnswer,
             summary="Add or replace many records of a source in one write")  # fmt: skip
def post_records(
    source: SourceName, body: Batch, request: Request, response: Response, _: Writer
) -> dict[str, Any]:
    records = {r.id: r.fields for r in body.records}
    if len(records) != len(body.records):
        raise HTTPException(422, "the batch names a record id twice")
    return _answer(_timed(response, _call(request, "upsert", source, records)))


@router.delete("/sources/{source}/records/{record_id}", response_model=WriteAnswer,
               summary="Delete a source record; its customer is rebuilt or retired")  # fmt: skip
def delete_record(
    source: SourceName, record_id: RecordId, request: Request, response: Response, _: Writer
) -> dict[str, Any]:
    return _answer(_timed(response, _call(request, "delete", source, record_id)), deleting=True)


class EventsIn(BaseModel):
    events: Annotated[list[Columns], Field(min_length=1, max_length=1000)]


class Untied(BaseModel):
    event_id: str
    reason: str


class Refused(BaseModel):
    row: int | None = Field(description="The event's place in the batch (1 = first), if known.")
    reason: str


class EventsAnswer(BaseModel):
    stored: int = Field(description="Events stored (an event with a stored id replaces it).")
    untied: list[Untied] = Field(
        description="Stored, but their person is not known (or not uniquely) yet: the write"
        " that brings the person ties them."
    )
    refused: list[Refused] = Field(description="Not stored, each with why.")


@router.post("/sources/{source}/events", response_model=EventsAnswer,
             summary="Post engagement events; each is tied to its customer now")  # fmt: skip
def post_source_events(
    source: SourceName, body: EventsIn, request: Request, _: Writer
) -> dict[str, Any]:
    """Each event is an object of the event source's own columns (its id, time, person…), tied
    to a customer by record id or contact point exactly as a run ties that source."""
    service = service_of(request)
    try:
        result = post_events(service.writer, source, body.events)
    except UnknownSource as e:
        raise HTTPException(404, user_detail(e)) from None
    except C360Error as e:
        raise HTTPException(422, user_detail(e)) from None
    service.notify_change()
    return {
        "stored": result.stored,
        "untied": [{"event_id": e, "reason": r} for e, r in result.untied],
        "refused": [{"row": n, "reason": r} for n, r in result.refused],
    }
