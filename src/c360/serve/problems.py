"""Errors as RFC 9457 problem details: every failure the API answers is `application/problem+json`
with a title, the status and what to do; invalid input names each bad field. A client mistake
is a 4xx, never a 500."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from c360.errors import C360Error

__all__ = [
    "PROBLEM_RESPONSES",
    "BodyLimit",
    "install_problem_handlers",
    "problem",
    "user_detail",
]

log = logging.getLogger("c360.serve")
MEDIA_TYPE = "application/problem+json"


def problem(
    status: int,
    detail: str | None = None,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    instance: str | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": HTTPStatus(status).phrase,
                            "status": status}  # fmt: skip
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def user_detail(error: C360Error) -> str:
    """A c360 error as one line: what is wrong, then what to do."""
    return error.message if error.hint is None else f"{error.message} ({error.hint})"


class BodyLimit:
    """Answer 413 with a problem document for a body over `limit` bytes: at once when the
    Content-Length says so, else as soon as the bytes read pass it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers", [])).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            await self._too_large(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(413, f"the request body is over {self.limit:,} bytes; send less"
                           " (split a batch)", instance=scope.get("path"))  # fmt: skip
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ())]
        out.append({"field": ".".join(loc), "message": e.get("msg", "invalid"),
                    "type": e.get("type", "value_error")})  # fmt: skip
    return out


def install_problem_handlers(app: FastAPI) -> None:
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail: str | None = exc.detail if isinstance(exc.detail, str) else None
        if detail == HTTPStatus(exc.status_code).phrase:
            detail = None
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            # Every method of every route on this path (Starlette names only the first's).
            allowed = {m for r in app.routes if isinstance(r, APIRoute)
                       and r.path_regex.match(request.url.path) for m in r.methods or ()}  # fmt: skip
            headers["Allow"] = ", ".join(sorted(allowed))
        return problem(exc.status_code, detail, headers=headers or None,
                       instance=request.url.path)  # fmt: skip

    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        fields = ", ".join(e["field"] for e in errors)
        return problem(422, f"invalid request: {fields}", errors=errors,
                       instance=request.url.path)  # fmt: skip

    async def user_error(request: Request, exc: C360Error) -> JSONResponse:
        return problem(400, user_detail(exc), instance=request.url.path)

    async def bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "c360 failed on this request; the server log has the details",
                       instance=request.url.path)  # fmt: skip

    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, invalid)  # type: ignore[arg-type]
    app.add_exception_handler(C360Error, user_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, bug)


def _described(status: int, what: str) -> dict[str, Any]:
    return {"model": None, "description": what,
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}  # fmt: skip


# The error answers every authenticated path can give, for the OpenAPI schema.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _described(401, "No API key, or not a valid one."),
    403: _described(403, "The key's role may not do this."),
    422: _described(422, "Invalid input: each bad field is named."),
}
