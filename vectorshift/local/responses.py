"""How the local server answers: request ids, error bodies, exception handlers, SSE frames.

:class:`LocalApp` is the Starlette application class of :mod:`vectorshift.local.app`; every
error a handler raises (a :class:`~vectorshift.local.validation.Refusal`, Starlette's own HTTP
errors, anything unexpected) becomes the platform's JSON error body here, with the request id.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from vectorshift import _log
from vectorshift.local.faults import REQUEST_ID_KEY, TRANSPORT_KEY
from vectorshift.local.storage_errors import STORAGE_RETRY_AFTER, storage_error, storage_failure
from vectorshift.local.validation import Refusal, printable

if TYPE_CHECKING:
    from vectorshift.local.records import RunRecord
    from vectorshift.local.runs import RunManager

__all__ = [
    "IDEMPOTENT_STARTS",
    "LocalApp",
    "error_response",
    "on_http_error",
    "on_internal_error",
    "on_refusal",
    "on_storage_error",
    "sse_bytes",
]

logger = _log.get_logger("vectorshift.local")

IDEMPOTENT_STARTS = b"x-idempotent-starts"
"""Declares on every response, fault-injected ones included, the starts whose key is honoured."""


class LocalApp(Starlette):
    """Starlette with two things done before any middleware: a request id and transport access.

    The request id goes into the scope and into an ``X-Request-Id`` header on every response,
    500s included, beside ``X-Idempotent-Starts`` (idempotent starts: both kinds of start honour
    ``Idempotency-Key``). The transport (when the server is uvicorn) lets fault injection drop
    connections for real.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request_id = f"req_{uuid.uuid4().hex}"
        scope[REQUEST_ID_KEY] = request_id
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        if transport is not None:
            scope[TRANSPORT_KEY] = transport

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                headers.append((IDEMPOTENT_STARTS, b"background, stream"))
                message = {**message, "headers": headers}
            await send(message)

        await super().__call__(scope, receive, send_with_id)


def error_response(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    request_id = request.scope.get(REQUEST_ID_KEY)
    body = {"status": "failed", "error": printable(message), "request_id": request_id}
    return JSONResponse(body, status_code=status, headers=headers)


async def on_refusal(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refusal)
    return error_response(request, exc.status, exc.message, exc.headers)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"no such endpoint: {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    return error_response(request, exc.status_code, message, dict(exc.headers or {}))


async def on_internal_error(request: Request, exc: Exception) -> Response:
    """A generic answer: what failed goes to the server log only, under the request id.

    A storage failure (disk full, I/O error) is named instead: 503 with a ``Retry-After``.
    """
    request_id = request.scope.get(REQUEST_ID_KEY)
    failure = storage_failure(exc)
    if failure is not None:
        logger.error(
            "storage failure answering %s %s: %s",
            request.method,
            request.url.path,
            failure,
            extra=_log.fields(request_id=request_id),
        )
        return error_response(
            request, 503, storage_error(failure), {"Retry-After": str(STORAGE_RETRY_AFTER)}
        )
    logger.error(
        "unexpected error answering %s %s",
        request.method,
        request.url.path,
        exc_info=exc,
        extra=_log.fields(request_id=request_id),
    )
    message = (
        f"internal error of the local server; its log has the details under request id {request_id}"
    )
    return error_response(request, 500, message)


async def on_storage_error(request: Request, exc: Exception) -> Response:
    """A :class:`sqlite3.DatabaseError` answered in place (the connection stays usable): a
    storage failure is named (503), anything else is :func:`on_internal_error`'s answer."""
    return await on_internal_error(request, exc)


def sse_bytes(seq: int, frame: dict[str, Any]) -> bytes:
    data = json.dumps(frame, separators=(",", ":"), default=str)
    return f"id: {seq}\nevent: {frame.get('type', 'message')}\ndata: {data}\n\n".encode()


def event_stream(
    runs: RunManager, record: RunRecord, after: int, *, prelude: bytes = b""
) -> StreamingResponse:
    """A run's frames after ``after`` as Server-Sent Events, until its result frame.

    Frames written together go out in one write; a comment keeps the connection alive when none
    came for the configured interval. ``prelude`` is sent first (the dashboard's ``retry:``).
    """

    async def frames() -> AsyncIterator[bytes]:
        if prelude:
            yield prelude
        follow = runs.follow(record, after, runs.config.keepalive_interval)
        async with aclosing(follow) as items:
            async for item in items:
                if item is None:
                    yield b": keep-alive\n\n"
                else:
                    yield b"".join(sse_bytes(*frame) for frame in item)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(frames(), media_type="text/event-stream", headers=headers)
