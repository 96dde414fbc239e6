"""The FastAPI application of `c360 serve`."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from c360 import __version__
from c360.serve import audit_api, consent_api, read_api, subject_api, write_api
from c360.serve.gate import gated
from c360.serve.keys import Principal
from c360.serve.problems import PROBLEM_RESPONSES, BodyLimit, install_problem_handlers
from c360.serve.schemas import Health, Problem
from c360.serve.service import Service, require, service_of

__all__ = ["MAX_BODY_BYTES", "create_app"]

# A batch of records is at most this big; a bigger body is answered 413.
MAX_BODY_BYTES = 4 * 1024 * 1024


class Served:
    """What every HTTP request passes through: the service's gate (closed while erasure swaps
    the store: `c360.serve.gate`), then counted and timed by route and status. Plain ASGI, one
    layer for both: a middleware of its own cost the gate a microsecond a request. The answer
    says how long the service took to start it (Server-Timing `app`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), 500
        service: Service | None = getattr(scope["app"].state, "service", None)
        gate = service.gate if service is not None and gated(scope["path"]) else None
        if gate is not None and not gate.enter():
            await gate.wait_to_enter()

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                took = f"app;dur={(time.perf_counter() - start) * 1000:.2f}".encode()
                message["headers"] = [*message.get("headers", ()), (b"server-timing", took)]
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            if gate is not None:
                gate.leave()
            if service is not None:
                route = getattr(scope.get("route"), "path", "unmatched")
                method = scope["method"]
                service.metrics.requests.labels(method, route, str(status)).inc()
                service.metrics.latency.labels(method, route).observe(time.perf_counter() - start)


async def _each_query_parameter_once(request: Request) -> None:
    """Every query parameter of the API takes one value: one given twice is refused (422),
    rather than the last one silently winning. (A coroutine, so that it runs on the event
    loop: FastAPI hands a plain function to a worker thread, a thread hop for every
    request.)"""
    given = Counter(k for k, _ in request.query_params.multi_items())
    repeated = sorted(k for k, n in given.items() if n > 1)
    if repeated:
        raise RequestValidationError([
            {"type": "value_error", "loc": ("query", k),
             "msg": f"given {given[k]} times; give it once", "input": None}
            for k in repeated
        ])  # fmt: skip


def create_app(root: Path, *, url: str | None = None, service: Service | None = None) -> FastAPI:
    """The API over the project in `root`. Given an open `service`, the app uses it and its
    owner closes it; otherwise the app opens one (the project lock and the store) when it
    starts and closes it when it stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # FastAPI builds a router's routes (their dependencies and models) at the first request
        # into it: the first write took 20-25 ms more for it. Building the OpenAPI schema
        # builds every route now (and the schema `/docs` asks for).
        app.openapi()
        if getattr(app.state, "service", None) is not None:
            yield
            return
        app.state.service = Service(root, url=url)
        try:
            yield
        finally:
            app.state.service.close()
            app.state.service = None

    app = FastAPI(
        title="c360",
        version=__version__,
        summary="Customer 360: one customer ID, one golden record and one timeline per person.",
        description="Every endpoint but `/health` needs an API key (`c360 keys create`), sent as"
        " `X-API-Key` or as a bearer token. Errors are RFC 9457 problem details.",
        lifespan=lifespan,
        dependencies=[Depends(_each_query_parameter_once)],
    )
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    if service is not None:
        app.state.service = service  # usable before the lifespan runs (test transports)
    install_problem_handlers(app)
    app.include_router(read_api.router)
    app.include_router(write_api.router)
    app.include_router(consent_api.router)
    app.include_router(subject_api.router)
    app.include_router(audit_api.router)

    app.add_middleware(Served)

    @app.get("/health", response_model=Health, summary="Is the service up (no key needed)")
    def health(request: Request) -> dict[str, Any]:
        service = service_of(request)
        store = service.reader()
        run = store.last_run()
        return {"status": "ok", "project": service.config.project,
                "last_run": run.run_id if run else None, "last_change": store.last_change()}  # fmt: skip

    @app.get(
        "/metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}}, **PROBLEM_RESPONSES},
        summary="Prometheus metrics",
    )
    def metrics(request: Request, _: Annotated[Principal, Depends(require("read"))]) -> Response:
        service = service_of(request)
        store = service.reader()
        service.metrics.customers.set(store.counts()[0])
        service.metrics.last_change.set(store.last_change())
        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # Problem details are the body of every error answer.
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(title=app.title, version=app.version, summary=app.summary,
                                 description=app.description, routes=app.routes)  # fmt: skip
            schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = (
                Problem.model_json_schema()
            )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
