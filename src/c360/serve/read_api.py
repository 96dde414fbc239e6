"""The read endpoints: the 360 view, search, timeline, records, explain and the change feed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.exceptions import HTTPException

from c360.errors import StoreError
from c360.governance import Guard
from c360.governance.guard import HIT_FIELDS
from c360.project.explain import explain_in_store
from c360.project.view import (
    CustomerRetired,
    current_customer,
    customer_records,
    customer_view,
    find_customers,
    timeline,
)
from c360.serve.keys import Principal
from c360.serve.problems import PROBLEM_RESPONSES, user_detail
from c360.serve.schemas import (
    ChangePage,
    Customer360,
    CustomerHits,
    Explanation,
    RecordList,
    Timeline,
)
from c360.serve.service import Service, require, service_of

__all__ = ["router"]

router = APIRouter(responses=PROBLEM_RESPONSES)
Reader = Annotated[Principal, Depends(require("read"))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[401] | {"description": "No such customer."},
    410: PROBLEM_RESPONSES[401] | {"description": "The customer was retired."},
}


def _not_found(error: StoreError) -> HTTPException:
    return HTTPException(410 if isinstance(error, CustomerRetired) else 404, user_detail(error))


def _settled(service: Service, customer_id: str) -> None:
    """A customer whose write was answered but is not published yet is read once it is."""
    pending = service.writer.pending
    if customer_id in pending.customers:
        pending.wait_for(customer_id)


def current_of(service: Service, asked: str) -> tuple[str, list[str], list[dict[str, Any]]]:
    """The current customer an ID names, once its pending writes are published; 404 or 410
    (retired) otherwise."""
    _settled(service, asked)
    try:
        return current_customer(service.reader(), asked)
    except StoreError as e:
        raise _not_found(e) from None


@router.get("/customers/{customer_id}", response_model=Customer360, responses=NOT_FOUND,
            summary="The 360 view of a customer, by any ID ever issued")  # fmt: skip
async def get_customer(customer_id: str, request: Request, who: Reader) -> Any:
    service = service_of(request)
    guard = service.guard(who.role)
    if customer_id in service.writer.pending.customers:
        await run_in_threadpool(_settled, service, customer_id)
    refusing = customer_id in service.refusing
    # Guarded with the read model, for a prepared role. Not for a customer who refuses
    # processing (no insights), nor where visits age and the role sees their count.
    if who.role in service.views.prepared and not refusing:
        prepared = service.views.guarded(who.role, customer_id)
        if prepared is not None and (prepared[2] is None or not guard.insights_shown):
            service.metrics.guarded["prepared"] += 1
            service.noted(who, "customer.read", customer_id, prepared[1])
            return Response(prepared[0], media_type="application/json")
    # A current ID: its view, rendered when the service started (a lookup of microseconds,
    # answered on the event loop). Any other ID is resolved in the store, off the loop.
    stored = service.views.stored(customer_id)
    if stored is None:
        doc = await run_in_threadpool(_view_from_store, service, customer_id)
        view, fields = _guarded(service, guard, doc)
        service.audited(request, "customer.read", view["customer_id"], fields)
        return view
    ready = None
    if not refusing and guard.may_leave_untouched:
        ready = service.views.render(stored)
        if guard.untouched(ready):
            # Nothing in it is for the policy to hide or mask: sent as rendered, all of what
            # c360 holds (`*`).
            service.noted(who, "customer.read", customer_id)
            return Response(ready, media_type="application/json")

    def guarded() -> tuple[bytes, list[str]]:
        rendered = ready if ready is not None else service.views.render(stored)
        view, fields = _guarded(service, guard, orjson.loads(rendered))
        return orjson.dumps(view), fields

    # Kept from an earlier read of the same view, it is sent without the view being rendered.
    body, shown, kept = service.guarded_views.get(guard.role.name, customer_id, refusing,
                                                  service.views.version(stored), guarded)  # fmt: skip
    service.metrics.guarded["kept" if kept else "new"] += 1
    service.noted(who, "customer.read", customer_id, shown)
    return Response(body, media_type="application/json")


def _guarded(
    service: Service, guard: Guard, doc: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """A 360 view as the role may see it, and the fields it answers with (for the audit log).
    A customer who refuses `processing` is not profiled: no insights."""
    view, fields = guard.view_and_fields(doc)
    if view["customer_id"] in service.refusing:
        view = {**view, "insights": None}
        # Not `*` (everything held) any more: the fields there are, insights left out.
        fields = guard.shown(view) if fields == ["*"] else [f for f in fields if f != "insights"]
    return view, fields


def _shown(guard: Guard, view: dict[str, Any]) -> list[str]:
    """The fields answered, for the audit log: all of them (`*`) to a role that sees all."""
    return ["*"] if guard.open else guard.shown(view)


def _view_from_store(service: Service, customer_id: str) -> dict[str, Any]:
    store = service.reader()
    try:
        view = customer_view(store, customer_id, high_value=service.high_value(store))
    except StoreError as e:
        raise _not_found(e) from None
    return {
        "asked": view.asked, "customer_id": view.customer_id, "other_ids": view.other_ids,
        "redirects": view.redirects, "created_at": view.created_at, "golden": view.golden,
        "contact_points": view.contact_points, "records": view.records,
        "timeline": view.timeline,
        "insights": None if view.insights is None else view.insights.__dict__,
    }  # fmt: skip


@router.get("/customers", response_model=CustomerHits,
            summary="Find customers by email, phone or name")  # fmt: skip
def search_customers(
    request: Request,
    who: Reader,
    email: Annotated[str | None, Query(max_length=320)] = None,
    phone: Annotated[str | None, Query(max_length=64)] = None,
    name: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """Emails and phones are standardised as the records' were (so any spelling of the same
    address finds it); names match fuzzily, best first. Give exactly one of the three."""
    given = [k for k, v in (("email", email), ("phone", phone), ("name", name)) if v is not None]
    if len(given) != 1:
        raise HTTPException(422, "give exactly one of email, phone or name")
    service = service_of(request)
    guard = service.guard(who.role)
    by = "full_name" if given[0] == "name" else given[0]
    if guard.role.for_field(by) == "hide":
        raise HTTPException(403, f"role {who.role!r} may not search by {given[0]}: its policy"
                            f" hides {by}")  # fmt: skip
    store = service.reader()
    try:
        found = find_customers(store, email=email, phone=phone, name=name,
                               settings=service.config.standardize, limit=limit)  # fmt: skip
    except StoreError as e:
        raise HTTPException(422, f"{given[0]}: {user_detail(e)}") from None
    hits = [guard.hit(h) for h in _summaries(store, found[:limit])]
    for h in hits:  # the value searched by is not kept: the log holds no personal data
        service.audited(request, "customer.search", h["customer_id"],
                        sorted(set(h) - {"customer_id"}), by=given[0])  # fmt: skip
    return {"customers": hits}


def _summaries(store: Any, ids: list[str]) -> list[dict[str, Any]]:
    """Each customer's golden name, email and phone, and the source of each."""
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    picked = ", ".join(
        f"max(value) FILTER (WHERE field = '{f}') AS {f},"
        f" max(source) FILTER (WHERE field = '{f}') AS {f}_source"
        for f in HIT_FIELDS
    )
    rows = store.query(
        f"SELECT customer_id, {picked} FROM golden WHERE customer_id IN ({marks})"
        " GROUP BY customer_id",
        ids,
    )
    by_id = {r["customer_id"]: r for r in rows}
    return [by_id.get(i, {"customer_id": i}) for i in ids]


@router.get("/customers/{customer_id}/timeline", response_model=Timeline, responses=NOT_FOUND,
            summary="The customer's events across departments, newest first, paged")  # fmt: skip
def get_timeline(
    customer_id: str,
    request: Request,
    who: Reader,
    department: Annotated[str | None, Query(max_length=100)] = None,
    type: Annotated[str | None, Query(max_length=100)] = None,
    since: Annotated[str | None, Query(max_length=40, description="ISO time, inclusive")] = None,
    until: Annotated[str | None, Query(max_length=40, description="ISO time, exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    service = service_of(request)
    current, _others, _chain = current_of(service, customer_id)
    events = timeline(service.reader(), current, limit=limit + 1, offset=offset,
                      department=department, kind=type, since=since, until=until)  # fmt: skip
    more = len(events) > limit
    # Events the role may not see are left out of the page; paging goes on past them.
    shown = service.guard(who.role).timeline(events[:limit])
    service.audited(request, "customer.timeline", current,
                    sorted({str(e["type"]) for e in shown}))  # fmt: skip
    return {"customer_id": current, "events": shown,
            "next_offset": offset + limit if more else None}  # fmt: skip


@router.get("/customers/{customer_id}/records", response_model=RecordList, responses=NOT_FOUND,
            summary="The customer's source records, with raw rows and link evidence")  # fmt: skip
def get_records(customer_id: str, request: Request, who: Reader) -> dict[str, Any]:
    service = service_of(request)
    current, _others, _chain = current_of(service, customer_id)
    guard = service.guard(who.role)
    records = customer_records(service.reader(), current)
    if not guard.open:
        records = guard.records(records)
    service.audited(request, "customer.records", current,
                    _shown(guard, {"records": records}))  # fmt: skip
    return {"customer_id": current, "records": records}


RecordKey = Annotated[str, Query(min_length=3, max_length=300, pattern=r"^[^:]+:.+$",
                                 description="A source record as source:id, e.g. crm:10042")]  # fmt: skip


@router.get("/explain", response_model=Explanation,
            responses={404: PROBLEM_RESPONSES[401] | {"description": "No such record."}},
            summary="Why two records are, or are not, the same customer")  # fmt: skip
def explain(a: RecordKey, b: RecordKey, request: Request, who: Reader) -> dict[str, Any]:
    service = service_of(request)
    store = service.reader()
    try:
        pair = explain_in_store(store, service.config, a, b)
    except StoreError as e:
        raise HTTPException(404, user_detail(e)) from None
    customers = []
    for key in (a, b):
        source, _sep, record_id = key.partition(":")
        rows = store.query("SELECT customer_id FROM links WHERE source = ? AND record_id = ?",
                           [source, record_id])  # fmt: skip
        customers.append(rows[0]["customer_id"] if rows else None)
    why = pair.explanation
    guard = service.guard(who.role)
    for c in {c for c in customers if c is not None}:
        service.audited(request, "customer.explain", c, [f.field for f in why.fields],
                        a=a, b=b)  # fmt: skip
    return guard.explanation({
        "a": a, "b": b, "same_customer": customers[0] is not None and customers[0] == customers[1],
        "rule": why.rule, "fields": [f.__dict__ for f in why.fields],
        "prior_weight": why.prior_weight, "match_weight": why.match_weight,
        "match_probability": why.match_probability, "threshold": pair.threshold,
        "conflict": list(pair.conflict) if pair.conflict else None,
    })  # fmt: skip


Since = Annotated[int, Query(ge=0, le=2**62, description="The last `seq` already seen.")]


@router.get("/changes", response_model=ChangePage,
            summary="The change feed: new customers, merges, splits, golden-record changes")  # fmt: skip
def changes(
    request: Request,
    _: Reader,
    since: Since = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Poll with the `next` of the last answer as `since`: every change comes once, in order."""
    rows = service_of(request).reader().changes(since, limit)
    return {"changes": rows, "next": rows[-1]["seq"] if rows else since}


@router.get("/changes/stream", response_class=EventSourceResponse,
            summary="The change feed as server-sent events")  # fmt: skip
async def change_stream(
    request: Request, _: Reader, since: Since = 0
) -> AsyncIterator[ServerSentEvent]:
    """Each change is an event whose `id` is its `seq` (resume with `since`, or the
    `Last-Event-ID` header); the stream stays open and sends new changes as they are published."""
    service = service_of(request)
    header = request.headers.get("last-event-id", "")
    cursor = int(header) if header.isdigit() else since
    while not await request.is_disconnected():
        rows = await asyncio.to_thread(_changes_after, service, cursor)
        for row in rows:
            cursor = int(row["seq"])
            yield ServerSentEvent(data={**row, "changed_at": str(row["changed_at"])},
                                  event=row["kind"], id=str(cursor))  # fmt: skip
        if not rows:
            await asyncio.to_thread(service.wait_for_change, 1.0)


def _changes_after(service: Service, cursor: int) -> list[dict[str, Any]]:
    return service.reader().changes(cursor, 500)
