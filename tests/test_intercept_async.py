"""Interceptors: every operation begins and ends for them, retries and reconnections are its
events, and they see each request and response at the HTTP boundary."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from support import echo_pipeline, lorem_pipeline, unique

from vectorshift import (
    Client,
    ConfigurationError,
    Interceptor,
    NotFoundError,
    Operation,
    Pipeline,
    RetryPolicy,
)
from vectorshift.local import LocalServer
from vectorshift.local.faults import FaultInjector

pytestmark = pytest.mark.anyio


class Spy(Interceptor):
    """Writes down everything it is told, as plain tuples."""

    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []
        self.ended: list[Operation] = []

    def on_operation_start(self, operation: Operation) -> None:
        parent = operation.parent.name if operation.parent else None
        self.seen.append(("start", operation.name, parent))

    def on_operation_end(self, operation: Operation) -> None:
        self.seen.append(("end", operation.name, type(operation.error).__name__))
        self.ended.append(operation)

    def on_operation_event(
        self, operation: Operation, name: str, attributes: dict[str, Any]
    ) -> None:
        self.seen.append(("event", operation.name, name, attributes))

    def on_request(self, request: httpx.Request, operation: Operation | None) -> None:
        self.seen.append(
            (
                "request",
                operation and operation.name,
                request.method,
                request.url.path,
                "authorization" in request.headers,
            )
        )

    def on_response(self, response: httpx.Response, operation: Operation | None) -> None:
        self.seen.append(
            (
                "response",
                operation and operation.name,
                response.status_code,
                response.request.headers.get("authorization"),
            )
        )

    def names(self, kind: str) -> list[str]:
        return [entry[1] for entry in self.seen if entry[0] == kind]

    def events(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [(e[1], e[2], e[3]) for e in self.seen if e[0] == "event"]


def spied(server: LocalServer, *, max_retries: int = 3) -> tuple[Client, Spy]:
    spy = Spy()
    retry = RetryPolicy(max_retries=max_retries, backoff_base=0.01, max_backoff=0.05)
    client = Client(
        api_key=server.api_key, base_url=server.base_url, retry=retry, interceptors=[spy]
    )
    return client, spy


async def test_each_of_the_ten_operations_begins_and_ends_once(server: LocalServer) -> None:
    client, spy = spied(server)
    pipeline = await Pipeline.anew(unique("ops"), client=client)
    for node in echo_pipeline("x").nodes:
        pipeline.add_node(node)
    await pipeline.asave()
    await Pipeline.afetch(pipeline.id, client=client)
    await pipeline.arun({"query": "a"})
    handler = await pipeline.astart({"query": "b"})
    await handler.arun_status()
    await handler.aresult(timeout=30)
    await handler.aterminate()
    async with handler.astream() as chunks:
        [chunk async for chunk in chunks]
    [outcome async for outcome in pipeline.amap([{"query": "c"}])]

    operations = [
        "new",
        "save",
        "fetch",
        "run",
        "start",
        "status",
        "result",
        "terminate",
        "stream",
        "map",
    ]
    started = spy.names("start")
    assert set(started) == set(operations)
    assert sorted(started) == sorted(spy.names("end"))
    assert started[:9] == operations[:9]
    assert all(entry[2] == "NoneType" for entry in spy.seen if entry[0] == "end")


async def test_operations_learn_their_ids_as_the_server_answers(server: LocalServer) -> None:
    client, spy = spied(server)
    pipeline = echo_pipeline(unique("ids"))
    pipeline._client = client
    await pipeline.asave()
    handler = await pipeline.astart({"query": "hi"})
    await handler.aresult(timeout=30)
    start, result = spy.ended[-2:]
    assert (start.name, result.name) == ("start", "result")
    for operation in (start, result):
        assert operation.pipeline_id == pipeline.id
        assert operation.task_id == handler.task_id
        assert operation.trace_id == handler.trace_id
        assert operation.request_id is not None and operation.request_id.startswith("req_")
    assert "task_id=" in repr(start)


async def test_the_starts_and_waits_of_a_map_are_its_children(server: LocalServer) -> None:
    client, spy = spied(server)
    pipeline = echo_pipeline(unique("mapped"))
    pipeline._client = client
    await pipeline.asave()
    spy.seen.clear()
    outcomes = [o async for o in pipeline.amap([{"query": "a"}, {"query": "b"}])]
    assert all(outcome.ok for outcome in outcomes)
    starts = [entry for entry in spy.seen if entry[0] == "start"]
    assert starts[0] == ("start", "map", None)
    assert sorted(starts[1:]) == [("start", "result", "map")] * 2 + [("start", "start", "map")] * 2


async def test_request_and_response_hooks_see_every_request_without_the_key(
    server: LocalServer,
) -> None:
    client, spy = spied(server)
    pipeline = echo_pipeline(unique("hooks"))
    pipeline._client = client
    await pipeline.asave()
    spy.seen.clear()
    handler = await pipeline.astart({"query": "hi"})
    await handler.arun_status()
    requests = [entry for entry in spy.seen if entry[0] == "request"]
    responses = [entry for entry in spy.seen if entry[0] == "response"]
    assert requests == [
        ("request", "start", "POST", f"/v1/pipeline/{pipeline.id}/run", False),
        (
            "request",
            "status",
            "GET",
            f"/v1/pipeline/{pipeline.id}/run/status/{handler.task_id}",
            False,
        ),
    ]
    assert responses == [
        ("response", "start", 200, "[redacted]"),
        ("response", "status", 200, "[redacted]"),
    ]


async def test_a_request_hook_may_add_headers(server: LocalServer) -> None:
    seen: list[str | None] = []

    class Team(Interceptor):
        def on_request(self, request: httpx.Request, operation: Operation | None) -> None:
            request.headers["X-Team"] = "search"

        def on_response(self, response: httpx.Response, operation: Operation | None) -> None:
            seen.append(response.request.headers.get("x-team"))

    client = Client(api_key=server.api_key, base_url=server.base_url, interceptors=[Team()])
    await Pipeline.alist(limit=1, client=client)
    assert seen == ["search"]


async def test_calls_that_are_not_operations_have_hooks_but_no_operation(
    server: LocalServer,
) -> None:
    client, spy = spied(server)
    await Pipeline.alist(limit=1, client=client)
    assert [entry[:2] for entry in spy.seen] == [("request", None), ("response", None)]


async def test_retries_are_events_of_the_operation(
    server: LocalServer, faults: FaultInjector
) -> None:
    client, spy = spied(server)
    pipeline = echo_pipeline(unique("retried"))
    pipeline._client = client
    await pipeline.asave()
    faults.add(
        method="POST", path=f"/pipeline/{pipeline.id}/run$", status=503, retry_after=0, count=1
    )
    faults.add(method="GET", path="/run/status/", status=429, retry_after=0, count=1)
    handler = await pipeline.astart({"query": "hi"})
    await handler.arun_status()
    events = spy.events()
    assert [(operation, name) for operation, name, _ in events] == [
        ("start", "retry"),
        ("status", "retry"),
    ]
    assert events[0][2]["attempt"] == 1
    assert events[0][2]["delay"] == 0
    assert events[0][2]["cause"].startswith("InternalServerError: ")
    assert events[1][2]["cause"].startswith("RateLimitError: ")


async def test_a_failed_operation_ends_with_its_error(server: LocalServer) -> None:
    client, spy = spied(server)
    with pytest.raises(NotFoundError):
        await Pipeline.afetch("0" * 24, client=client)
    assert spy.seen[-1] == ("end", "fetch", "NotFoundError")
    assert isinstance(spy.ended[-1].error, NotFoundError)


async def test_a_stream_reconnection_is_an_event_of_the_stream(
    server: LocalServer, faults: FaultInjector
) -> None:
    client, spy = spied(server)
    pipeline = lorem_pipeline(unique("cut"), tokens=30, stream=True)
    pipeline.node("answer").inputs["output_type"] = "stream<string>"
    pipeline._client = client
    await pipeline.asave()
    faults.add(method="POST", path=f"/pipeline/{pipeline.id}/run$", cut_after_frames=5)
    async with pipeline.astream({"query": "hi"}) as chunks:
        delivered = [chunk async for chunk in chunks]
    assert delivered[-1].type == "result"
    ((operation, name, attributes),) = spy.events()
    assert (operation, name) == ("stream", "reconnect")
    assert attributes["attempt"] == 1
    assert attributes["last_event_id"] == "5"
    stream = spy.ended[-1]
    assert stream.name == "stream" and stream.task_id == delivered[-1].run_id
    assert stream.error is None


async def test_an_interceptor_that_raises_changes_nothing(
    server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(Interceptor):
        def on_operation_start(self, operation: Operation) -> None:
            raise RuntimeError("broken hook")

        def on_request(self, request: httpx.Request, operation: Operation | None) -> None:
            raise RuntimeError("broken hook")

    client = Client(api_key=server.api_key, base_url=server.base_url, interceptors=[Broken()])
    caplog.set_level(logging.WARNING, logger="vectorshift")
    pipeline = echo_pipeline(unique("broken"))
    pipeline._client = client
    await pipeline.asave()
    assert pipeline.id is not None
    assert any("broken hook" in (r.exc_text or "") for r in caplog.records)


def test_interceptors_must_be_interceptors() -> None:
    with pytest.raises(ConfigurationError, match="Interceptor"):
        Client(api_key="k", interceptors=[object()])  # type: ignore[list-item]


def test_the_sync_api_calls_the_same_interceptors(server: LocalServer) -> None:
    client, spy = spied(server)
    pipeline = echo_pipeline(unique("sync"))
    pipeline._client = client
    pipeline.save()
    handler = pipeline.start({"query": "hi"})
    handler.result(timeout=30)
    with handler.stream() as chunks:
        list(chunks)
    assert spy.names("end") == ["save", "start", "result", "stream"]
    assert spy.ended[-1].task_id == handler.task_id
