"""The FastAPI application of `c360 serve`."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from c360 import __version__
from c360.serve import read_api
from c360.serve.keys import Principal
from c360.serve.problems import PROBLEM_RESPONSES, BodyLimit, install_problem_handlers
from c360.serve.schemas import Health, Problem
from c360.serve.service import Service, require, service_of

__all__ = ["MAX_BODY_BYTES", "create_app"]

# A batch of records is at most this big; a bigger body is answered 413.
MAX_BODY_BYTES = 4 * 1024 * 1024


def create_app(root: Path, *, url: str | None = None, service: Service | None = None) -> FastAPI:
    """The API over the project in `root`. Given an open `service`, the app uses it and its
    owner closes it; otherwise the app opens one (the project lock and the store) when it
    starts and closes it when it stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
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
    )
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    if service is not None:
        app.state.service = service  # usable before the lifespan runs (test transports)
    install_problem_handlers(app)
    app.include_router(read_api.router)

    @app.middleware("http")
    async def measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        metrics = service_of(request).metrics
        metrics.requests.labels(request.method, path, str(response.status_code)).inc()
        metrics.latency.labels(request.method, path).observe(time.perf_counter() - start)
        return response

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
