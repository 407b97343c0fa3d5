"""Each field of RetryPolicy changes behaviour everywhere it applies, against a real server.

The four places that retry are exercised in every test: a single request (``arun_status``),
the status polls of ``aresult()``, the starts of ``amap`` and the reconnections of a resumed
``astream``. Faults come from the local server's injector; a mock transport is used only for
the one case a server cannot produce (a connect timeout on a stream's reconnection).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest
from support import lorem_pipeline, unique

from vectorshift import (
    Client,
    InternalServerError,
    Pipeline,
    RetryPolicy,
    RunHandler,
    StreamInterruptedError,
    VectorshiftError,
)
from vectorshift._retry import parse_retry_after
from vectorshift.errors import ApiConnectionError, ApiTimeoutError, RateLimitError
from vectorshift.local import LocalServer
from vectorshift.local.faults import FaultInjector

pytestmark = pytest.mark.anyio

PLACES = ("request", "result", "map", "stream")

QUICK = RetryPolicy(max_retries=3, backoff_base=0.01, max_backoff=0.02)
"""The policy each test changes one field of."""

FAILURES = {"request": 2, "result": 5, "map": 5, "stream": 2}
"""Failures injected per place: within QUICK's budget for a request (3 retries) and a stream
(3 reconnections in a row); past it for result() and map, so that their own loops retry too."""


@dataclass
class Scene:
    server: LocalServer
    faults: FaultInjector
    pipeline_id: str
    finished_task: str
    caplog: pytest.LogCaptureFixture

    def client(self, policy: RetryPolicy, **options: Any) -> Client:
        return Client(
            api_key=self.server.api_key, base_url=self.server.base_url, retry=policy, **options
        )


@pytest.fixture
async def scene(
    client: Client, faults: FaultInjector, server: LocalServer, caplog: pytest.LogCaptureFixture
) -> Scene:
    pipeline = lorem_pipeline(unique("policy"), tokens=12, delay_ms=2, stream=True)
    pipeline.node("answer").inputs["output_type"] = "stream<string>"
    pipeline._client = client
    await pipeline.asave()
    handler = await pipeline.astart({"query": "x"})
    await handler.aresult(timeout=30)
    caplog.set_level(logging.DEBUG, logger="vectorshift")
    return Scene(server, faults, str(pipeline.id), handler.task_id, caplog)


Fault = dict[str, Any]


async def outcome(action: Callable[[], Awaitable[object]]) -> str:
    """``ok``, or the name of the SDK error the action raised."""
    try:
        await action()
    except VectorshiftError as exc:
        return type(exc).__name__
    return "ok"


async def at_request(scene: Scene, client: Client, fault: Fault, failures: int) -> str:
    path = f"/run/status/{scene.finished_task}$"
    scene.faults.add(method="GET", path=path, count=failures, **fault)
    handler = RunHandler(pipeline_id=scene.pipeline_id, task_id=scene.finished_task, client=client)
    return await outcome(handler.arun_status)


async def at_result(scene: Scene, client: Client, fault: Fault, failures: int) -> str:
    pipeline = await Pipeline.afetch(scene.pipeline_id, client=client)
    handler = await pipeline.astart({"query": "x"})
    if "delay" in fault:
        # Status requests that ask to be held are refused, so polls are plain requests whose
        # read timeout applies.
        scene.faults.add(method="GET", path=r"/run/status/.*\?.*wait=", status=400)
    path = f"/run/status/{handler.task_id}"
    scene.faults.add(method="GET", path=path, count=failures, **fault)
    return await outcome(lambda: handler.aresult(poll_interval=0.05, timeout=30))


async def at_map(scene: Scene, client: Client, fault: Fault, failures: int) -> str:
    pipeline = await Pipeline.afetch(scene.pipeline_id, client=client)
    path = f"/pipeline/{scene.pipeline_id}/run$"
    scene.faults.add(method="POST", path=path, count=failures, **fault)
    (result,) = [o async for o in pipeline.amap([{"query": "x"}], timeout=30)]
    return "ok" if result.ok else type(result.error).__name__


async def at_stream(scene: Scene, client: Client, fault: Fault, failures: int) -> str:
    pipeline = await Pipeline.afetch(scene.pipeline_id, client=client)
    scene.faults.add(
        method="POST", path=f"/pipeline/{scene.pipeline_id}/run$", cut_after_frames=3, count=1
    )
    if fault:
        scene.faults.add(method="GET", path="/run/events/", count=failures, **fault)

    async def read_to_the_end() -> None:
        async with pipeline.astream({"query": "x"}) as chunks:
            assert [chunk async for chunk in chunks][-1].type == "result"

    return await outcome(read_to_the_end)


AT = {"request": at_request, "result": at_result, "map": at_map, "stream": at_stream}


async def everywhere(
    scene: Scene,
    policy: RetryPolicy,
    fault: Fault,
    places: tuple[str, ...] = PLACES,
    failures: dict[str, int] = FAILURES,
    **options: Any,
) -> dict[str, str]:
    """The outcome at each place under ``policy``, each with ``fault`` injected afresh."""
    results = {}
    for place in places:
        scene.faults.clear()
        try:
            client = scene.client(policy, **options)
            results[place] = await AT[place](scene, client, fault, failures[place])
        finally:
            scene.faults.clear()
    return results


async def waits_everywhere(
    scene: Scene, policy: RetryPolicy, fault: Fault
) -> dict[str, list[float]]:
    """The waits each place logged before its retries, by place; every place must recover."""
    waits = {}
    for place in PLACES:
        scene.caplog.clear()
        scene.faults.clear()
        try:
            client = scene.client(policy)
            assert await AT[place](scene, client, fault, FAILURES[place]) == "ok", place
        finally:
            scene.faults.clear()
        waits[place] = [
            float(r.args[-1])  # type: ignore[index, arg-type]
            for r in scene.caplog.records
            if r.name == "vectorshift" and str(r.msg).endswith(" in %.2fs")
        ]
        assert waits[place], f"{place}: no retry was logged"
    return waits


ALL_OK = dict.fromkeys(PLACES, "ok")


async def test_retry_statuses_decide_which_statuses_are_retried_everywhere(scene: Scene) -> None:
    unavailable = {"status": 503}
    assert await everywhere(scene, QUICK, unavailable) == ALL_OK
    only_429 = RetryPolicy(
        max_retries=3, backoff_base=0.01, max_backoff=0.02, retry_statuses=frozenset({429})
    )
    assert await everywhere(scene, only_429, unavailable) == {
        "request": "InternalServerError",
        "result": "InternalServerError",
        "map": "InternalServerError",
        "stream": "StreamInterruptedError",
    }
    # ...and they are not a floor either: a status outside them is never retried.
    assert not only_429.is_retryable_status(501)
    assert await everywhere(scene, only_429, {"status": 429}) == ALL_OK


async def test_max_retries_bounds_requests_map_rounds_and_reconnections(scene: Scene) -> None:
    unavailable = {"status": 503}
    assert await everywhere(scene, QUICK, unavailable) == ALL_OK
    one = QUICK.with_max_retries(1)
    assert await everywhere(scene, one, unavailable) == {
        "request": "InternalServerError",
        # result() waits out transient failures until its own timeout: max_retries bounds
        # each of its status requests, not the wait.
        "result": "ok",
        "map": "InternalServerError",
        "stream": "StreamInterruptedError",
    }


async def test_retry_connection_errors_decides_if_lost_connections_are_retried(
    scene: Scene,
) -> None:
    # The stream place needs no extra fault: its cut is a lost connection.
    dropped = {"drop": True}
    assert await everywhere(scene, QUICK, dropped) == ALL_OK
    no_connection_retries = RetryPolicy(
        max_retries=3, backoff_base=0.01, max_backoff=0.02, retry_connection_errors=False
    )
    assert await everywhere(scene, no_connection_retries, dropped) == {
        "request": "ApiConnectionError",
        "result": "ApiConnectionError",
        "map": "ApiConnectionError",
        "stream": "StreamInterruptedError",
    }


class ConnectTimeoutOnEvents(httpx.AsyncBaseTransport):
    """Sends requests to the server, but the first ``count`` event requests time out connecting.

    A local server cannot make a connect time out; this is the one mock of these tests.
    """

    def __init__(self, count: int) -> None:
        self._real = httpx.AsyncHTTPTransport()
        self._left = count

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "/run/events/" in request.url.path and self._left > 0:
            self._left -= 1
            raise httpx.ConnectTimeout("connect timed out (injected)", request=request)
        return await self._real.handle_async_request(request)

    async def aclose(self) -> None:
        await self._real.aclose()


async def test_retry_timeouts_decides_if_timeouts_are_retried(scene: Scene) -> None:
    slow = {"delay": 1.0}
    quick_reads = {"timeout": httpx.Timeout(10.0, read=0.3)}
    no_timeout_retries = RetryPolicy(
        max_retries=3, backoff_base=0.01, max_backoff=0.02, retry_timeouts=False
    )
    read_places = ("request", "result", "map")
    once = dict.fromkeys(PLACES, 1)  # each failure costs a read timeout
    assert await everywhere(scene, QUICK, slow, read_places, once, **quick_reads) == dict.fromkeys(
        read_places, "ok"
    )
    assert await everywhere(
        scene, no_timeout_retries, slow, read_places, once, **quick_reads
    ) == dict.fromkeys(read_places, "ApiTimeoutError")
    # A stream reads without a timeout; its reconnection can still time out connecting.
    for policy, expected in [(QUICK, "ok"), (no_timeout_retries, "StreamInterruptedError")]:
        client = scene.client(policy, transport=ConnectTimeoutOnEvents(count=1))
        try:
            assert await at_stream(scene, client, {}, 0) == expected
        finally:
            scene.faults.clear()


async def test_max_retry_after_caps_the_wait_a_server_asks_for_everywhere(scene: Scene) -> None:
    asks_for_an_hour = {"status": 503, "retry_after": 3600}
    no_wait = RetryPolicy(max_retries=3, backoff_base=0.0, max_backoff=0.0, max_retry_after=0.0)
    assert set(flat(await waits_everywhere(scene, no_wait, asks_for_an_hour))) == {0.0}
    capped = RetryPolicy(max_retries=3, backoff_base=0.0, max_backoff=0.0, max_retry_after=0.15)
    started = anyio.current_time()
    waits = await waits_everywhere(scene, capped, asks_for_an_hour)
    # The stream's first reconnection follows the cut (no Retry-After), at the computed 0 s.
    assert set(flat(waits)) <= {0.0, 0.15}, waits
    assert all(0.15 in waits[place] for place in PLACES), waits
    honoured = sum(w.count(0.15) for w in waits.values())
    assert anyio.current_time() - started >= 0.15 * honoured


def flat(waits: dict[str, list[float]]) -> list[float]:
    return [wait for place in PLACES for wait in waits[place]]


async def test_backoff_base_scales_the_computed_waits_everywhere(scene: Scene) -> None:
    unavailable = {"status": 503}
    zero = RetryPolicy(max_retries=3, backoff_base=0.0, max_backoff=10.0)
    assert set(flat(await waits_everywhere(scene, zero, unavailable))) == {0.0}
    small = RetryPolicy(max_retries=3, backoff_base=0.02, max_backoff=10.0)
    waits = await waits_everywhere(scene, small, unavailable)
    # Full jitter: the n-th wait is uniform in [0, 0.02 * 2**n] (never exactly 0 in practice).
    assert all(wait > 0.0 for wait in flat(waits)), waits
    assert all(max(waits[place]) <= 0.02 * 2 ** (len(waits[place]) - 1) for place in PLACES)


async def test_max_backoff_caps_the_computed_waits_everywhere(scene: Scene) -> None:
    unavailable = {"status": 503}
    uncapped_base = 5.0
    no_backoff = RetryPolicy(max_retries=3, backoff_base=uncapped_base, max_backoff=0.0)
    assert set(flat(await waits_everywhere(scene, no_backoff, unavailable))) == {0.0}
    capped = RetryPolicy(max_retries=3, backoff_base=uncapped_base, max_backoff=0.03)
    waits = flat(await waits_everywhere(scene, capped, unavailable))
    assert all(0.0 < wait <= 0.03 for wait in waits), waits


def test_server_waits_are_sanitised_and_capped_in_one_place() -> None:
    policy = RetryPolicy(max_retry_after=10.0)
    assert policy.server_wait(None) is None
    assert policy.server_wait(math.nan) is None
    assert policy.server_wait(-3.0) == 0.0
    assert policy.server_wait(2.5) == 2.5
    assert policy.server_wait(math.inf) == 10.0
    assert policy.server_wait(1e300) == 10.0
    for header, expected in [
        ({"retry-after-ms": "nan"}, None),
        ({"Retry-After": "NaN"}, None),
        ({"Retry-After": "-5"}, 0.0),
        ({"retry-after-ms": "-5"}, 0.0),
        ({"Retry-After": "1e400"}, 10.0),
        ({"Retry-After": "inf"}, 10.0),
        ({"retry-after-ms": "250"}, 0.25),
    ]:
        assert policy.server_wait(parse_retry_after(header)) == expected, header
        # A wait the server asked for replaces the jittered one, sanitised the same way.
        error = RateLimitError(
            "slow down",
            status_code=429,
            method="GET",
            url="/x",
            retry_after=parse_retry_after(header),
        )
        waited = policy.delay(error, 0)
        if expected is None:  # no usable wait: the computed backoff applies
            assert 0.0 <= waited <= policy.backoff_base
        else:
            assert waited == expected
    # An event stream's retry: hint is a server-given wait too.
    assert 0.0 <= policy.delay(None, 0, hint=3600.0) <= 10.0
    assert policy.delay(None, 3, hint=math.nan) <= policy.max_backoff


def test_the_classification_reads_nothing_but_the_fields() -> None:
    unavailable = InternalServerError("down", status_code=503, method="GET", url="/x")
    limited = RateLimitError("slow", status_code=429, method="POST", url="/run")
    timeout = ApiTimeoutError("timed out", method="GET", url="/x")
    unsent = ApiConnectionError("refused", method="POST", url="/run", request_sent=False)
    reset = ApiConnectionError("reset", method="POST", url="/run")
    policy = RetryPolicy()
    assert all(policy.is_retryable(e) for e in (unavailable, limited, timeout, unsent, reset))
    # A call that could act twice is retried only when the failure proves nothing was done.
    assert [policy.is_retryable(e, repeatable=False) for e in (unavailable, limited)] == [
        False,
        True,
    ]
    assert [policy.is_retryable(e, repeatable=False) for e in (unsent, reset)] == [True, False]
    assert not RetryPolicy(retry_statuses=frozenset({429})).is_retryable(unavailable)
    assert not RetryPolicy(retry_timeouts=False).is_retryable(timeout)
    assert not RetryPolicy(retry_connection_errors=False).is_retryable(reset)
    assert RetryPolicy(retry_connection_errors=False).is_retryable(timeout)
    assert not policy.is_retryable(ValueError("not an API failure"))
    assert "DEFAULT_RETRY_STATUSES" in repr(policy)
    assert "frozenset({429})" in repr(RetryPolicy(retry_statuses=frozenset({429})))


def test_stream_interrupted_errors_are_not_retried_by_anyone() -> None:
    assert not RetryPolicy().is_retryable(StreamInterruptedError("gone", task_id="t"))
