"""A server cannot make the SDK wait for ever, crash on its delays, or re-read a run for ever.

Each test points the SDK at a raw HTTP server on loopback that answers with a script: the
waits it asks for (``retry:``, ``Retry-After``, ``retry-after-ms``) are hostile, or the frames
it replays on a resumed stream carry no ids. The retry policy caps and sanitises every such
wait; a resumption that makes no progress ends with a ``StreamError`` saying why.
"""

from __future__ import annotations

import json
import math
from typing import Any

import anyio
import pytest
from raw_servers import RawRequest, event_stream, http_response, raw_server

from vectorshift import (
    InternalServerError,
    RetryPolicy,
    RunHandler,
    StreamChunk,
    StreamError,
    StreamInterruptedError,
)
from vectorshift._retry import parse_retry_after
from vectorshift._sse import MAX_RETRY_MS, SSEDecoder

pytestmark = pytest.mark.anyio

RUN = "run-1"


def frame(value: Any, event_id: str | None = None, *, type: str = "stream") -> str:
    data: dict[str, Any] = {"type": type, "run_id": RUN}
    if type == "result":
        data.update(status="success", outputs={"a": value})
    else:
        data.update(output_name="a", output_value=value)
    return (f"id: {event_id}\n" if event_id is not None else "") + f"data: {json.dumps(data)}\n\n"


def unavailable(header: str) -> bytes:
    body = b'{"status": "failed", "error": "busy"}'
    name, _, value = header.partition(": ")
    return http_response(503, body, headers={name: value})


async def collect(handler: RunHandler) -> list[StreamChunk]:
    async with handler.astream() as chunks:
        return [chunk async for chunk in chunks]


@pytest.mark.parametrize(
    "retry",
    ["99999999999999", "9" * 401, "9" * 5000, "0" * 5000 + "99999999999999"],
    ids=["years", "past-float", "past-int-conversion", "leading-zeros"],
)
async def test_a_retry_field_of_years_waits_no_longer_than_the_policy_allows(
    retry: str,
) -> None:
    def script(request: RawRequest) -> bytes:
        if request.n == 0:  # the first connection asks for an endless wait, then drops
            return event_stream(f"retry: {retry}\n" + frame("a", "1"))
        return event_stream(frame("b", "2") + frame("ab", "3", type="result"))

    policy = RetryPolicy(max_retries=2, backoff_base=0.01, max_backoff=0.05, max_retry_after=0.2)
    async with raw_server(script) as server:
        handler = RunHandler(pipeline_id="p", task_id=RUN, client=server.client(policy))
        with anyio.fail_after(5):  # an honoured 3-year wait would never get here
            chunks = await collect(handler)
    assert [c.output_value for c in chunks] == ["a", "b", None]
    assert [c.id for c in chunks] == ["1", "2", "3"]
    assert server.requests[1].line.startswith("GET /v1/pipeline/p/run/events/run-1 ")


def test_a_retry_after_ms_that_is_not_a_number_leaves_retry_after_in_force() -> None:
    headers = {"retry-after-ms": "nan", "Retry-After": "2"}
    assert RetryPolicy().server_wait(parse_retry_after(headers)) == 2.0
    assert parse_retry_after({"retry-after-ms": "soon"}) is None


def test_the_decoder_holds_any_retry_field_and_the_policy_caps_it() -> None:
    decoder = SSEDecoder()
    for value, held in [("9" * 5000, MAX_RETRY_MS), ("0" * 5000 + "5", 5), ("000", 0)]:
        decoder.feed(f"retry: {value}\n\n".encode())
        assert decoder.retry == held
    policy = RetryPolicy(max_retry_after=7.0, max_backoff=1.0)
    assert policy.server_wait(MAX_RETRY_MS / 1000.0) == 7.0
    assert policy.server_wait(10**400) == 7.0  # an int beyond any float is not an error
    assert policy.server_wait(-(10**400)) == 0.0
    # The wait a hint produces stays within the policy's two caps, whatever the attempt.
    waits = [policy.delay(None, n, hint=MAX_RETRY_MS / 1000.0) for n in range(40)]
    assert all(0.0 <= wait <= 7.0 for wait in waits)


@pytest.mark.parametrize("header", ["Retry-After: nan", "retry-after-ms: nan", "Retry-After: -inf"])
async def test_a_retry_after_that_is_not_a_number_is_not_slept_on(header: str) -> None:
    status = json.dumps({"task_id": RUN, "status": "completed", "result": {"a": "x"}}).encode()
    ok = http_response(200, status)

    def script(request: RawRequest) -> bytes:
        return ok if request.n == 2 else unavailable(header)  # two 503s, then the answer

    policy = RetryPolicy(max_retries=2, backoff_base=0.01, max_backoff=0.02)
    async with raw_server(script) as server:
        handler = RunHandler(pipeline_id="p", task_id=RUN, client=server.client(policy))
        with anyio.fail_after(5):
            status_seen = await handler.arun_status()
        assert status_seen.status == "succeeded" and len(server.requests) == 3
        # Past the budget, the error carries no wait rather than NaN.
        with pytest.raises(InternalServerError) as info:
            await handler.client.http.request("GET", "/x", max_retries=0)
    wait = info.value.retry_after
    assert wait is None or (not math.isnan(wait) and wait >= 0.0)


async def test_a_resumed_stream_whose_frames_carry_no_ids_stops_without_duplicates() -> None:
    def script(request: RawRequest) -> bytes:
        if request.n == 0:
            return event_stream(frame("a", "1") + frame("b"))  # "b" inherits id 1
        return event_stream(frame("a") + frame("b"))  # a replay that numbers nothing

    policy = RetryPolicy(max_retries=5, backoff_base=0.0)
    async with raw_server(script) as server:
        handler = RunHandler(pipeline_id="p", task_id=RUN, client=server.client(policy))
        delivered: list[Any] = []
        with anyio.fail_after(5), pytest.raises(StreamInterruptedError) as info:
            async with handler.astream() as chunks:
                async for chunk in chunks:
                    delivered.append(chunk.output_value)
    assert delivered == ["a", "b"]  # nothing twice
    assert isinstance(info.value, StreamError)
    assert "carry no ids" in str(info.value) and info.value.last_event_id == "1"
    assert len(server.requests) == 2  # it gave up on the first replay, not after the budget


async def test_a_server_that_resends_only_old_frames_exhausts_the_retry_budget() -> None:
    def script(request: RawRequest) -> bytes:
        # Every connection replays frame 1 and ends: the run never gets further.
        return event_stream(frame("a", "1"))

    policy = RetryPolicy(max_retries=3, backoff_base=0.0)
    async with raw_server(script) as server:
        handler = RunHandler(pipeline_id="p", task_id=RUN, client=server.client(policy))
        with anyio.fail_after(5), pytest.raises(StreamInterruptedError) as info:
            await collect(handler)
    assert "3 reconnection(s) in a row brought no new frame" in str(info.value)
    assert len(server.requests) == 1 + policy.max_retries
