"""The API key never escapes in an exception (issue 12, point 13).

An error tracker records, for every exception of a chain (``__cause__``, ``__context__``), its
message and the locals of every frame of its traceback; code that inspects an error reads
``exc.__cause__.request.headers``. :func:`tracked` collects what such a tracker stores, the
way they serialise it (containers walked, other objects by ``repr``), and the key must not be
in it: not after a refused connection, not after one that broke mid-answer, not when the
server's error body echoes the key.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from raw_servers import RawRequest, http_response, raw_server

from vectorshift import (
    ApiConnectionError,
    BadRequestError,
    Client,
    InternalServerError,
    Pipeline,
    RetryPolicy,
    StreamInterruptedError,
)

pytestmark = pytest.mark.anyio

KEY = "vs-secret-0123456789abcdef"  # a module global: a tracker records locals, not globals


def _serialised(value: Any, depth: int = 0) -> list[str]:
    if isinstance(value, (str, bytes)):
        return [value.decode("latin-1") if isinstance(value, bytes) else value]
    if depth > 6:
        return []
    if isinstance(value, dict):
        return [
            text
            for k, v in value.items()
            for text in _serialised(k, depth + 1) + _serialised(v, depth + 1)
        ]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [text for item in value for text in _serialised(item, depth + 1)]
    return [repr(value)]


def tracked(exc: BaseException) -> str:
    """What an error tracker that records locals keeps of ``exc`` and its chain."""
    kept: list[str] = []
    pending: list[BaseException | None] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        kept += [str(current), repr(current), *_serialised(vars(current))]
        traceback = current.__traceback__
        while traceback is not None:
            kept += _serialised(dict(traceback.tb_frame.f_locals))
            traceback = traceback.tb_next
        pending += [current.__cause__, current.__context__]
    return "\n".join(kept)


async def raised(call: Callable[[], Awaitable[Any]]) -> BaseException:
    """What ``call`` raised, caught in a frame of its own (a tracker starts at this frame).

    The tests' own frames hold the raw server, which keeps the requests it received, key
    and all; they are not what is being tested.
    """
    try:
        await call()
    except Exception as exc:
        return exc
    raise AssertionError("nothing was raised")


def client_of(base_url: str, retries: int = 1) -> Client:
    return Client(
        api_key=KEY, base_url=base_url, retry=RetryPolicy(max_retries=retries, backoff_base=0)
    )


async def test_a_refused_connection_keeps_no_key_in_its_cause_or_frames() -> None:
    error = await raised(lambda: Pipeline.alist(client=client_of("http://127.0.0.1:9/v1")))
    assert isinstance(error, ApiConnectionError)
    cause = error.__cause__
    assert isinstance(cause, httpx.HTTPError)
    assert cause.request.headers["authorization"] == "[redacted]"
    assert KEY not in tracked(error)


async def test_a_connection_dropped_mid_answer_keeps_no_key_anywhere() -> None:
    with raw_server(lambda request: b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{") as server:
        client = client_of(server.base_url)
        error = await raised(lambda: Pipeline.alist(client=client))
        assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"  # it was sent
    assert isinstance(error, ApiConnectionError)
    cause = error.__cause__
    assert isinstance(cause, httpx.HTTPError)
    assert cause.request.headers["authorization"] == "[redacted]"
    assert KEY not in tracked(error)


async def test_a_stream_dropped_mid_answer_keeps_no_key_anywhere() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 900\r\n\r\n"
    frame = b'data: {"type": "stream", "output_name": "a", "output_value": "x"}\n\n'

    async def read_all(pipeline: Pipeline) -> None:
        async with pipeline.astream({"q": "x"}) as chunks:
            async for _ in chunks:
                pass

    with raw_server(lambda request: head + frame) as server:
        pipeline = Pipeline("remote", id="p-1", client=client_of(server.base_url))
        error = await raised(lambda: read_all(pipeline))
    assert isinstance(error, ApiConnectionError | StreamInterruptedError)
    assert KEY not in tracked(error)


async def test_an_error_body_that_echoes_the_key_is_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    def echo(request: RawRequest) -> bytes:
        sent = request.headers["authorization"]
        return http_response(
            400,
            f'{{"error": "key {sent} is not valid here", "sent": ["{sent}"]}}',
            headers={"X-Echo": sent},
        )

    with raw_server(echo) as server:
        client = client_of(server.base_url)
        error = await raised(lambda: Pipeline.alist(client=client))
    assert isinstance(error, BadRequestError)
    assert "key Bearer [redacted] is not valid here" in str(error)
    assert KEY not in tracked(error)
    # httpcore's own DEBUG trace prints response headers as received; the SDK's records:
    assert all(KEY not in r.getMessage() for r in caplog.records if r.name == "vectorshift")


async def test_retried_failures_log_no_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    respond = http_response(503, f'{{"error": "overloaded, {KEY}"}}')
    with raw_server(lambda request: respond) as server:
        client = client_of(server.base_url, retries=2)
        error = await raised(lambda: Pipeline.alist(client=client))
    assert isinstance(error, InternalServerError)
    assert len(server.requests) == 3
    assert KEY not in tracked(error)
    logged = [record.getMessage() for record in caplog.records]
    assert any("retry 2/2" in message for message in logged)
    assert all(KEY not in message for message in logged)
