"""Both API surfaces as users call them; checked by ``mypy --strict`` (tests/test_typing.py).

Never executed: it only has to type-check, which proves the generated sync signatures match the
async ones users read about.
"""

from __future__ import annotations

from typing import Any, Literal

import httpx
from pydantic import BaseModel
from typing_extensions import assert_type

from vectorshift import (
    AsyncStream,
    Client,
    Interceptor,
    NotFoundError,
    Operation,
    Pipeline,
    PollTimeoutError,
    RunHandler,
    RunResult,
    RunStatus,
    SSEFrame,
    StreamChunk,
    SyncStream,
)
from vectorshift.otel import OpenTelemetryInterceptor


def sync_surface(client: Client) -> None:
    try:
        pipeline = Pipeline.fetch(name="guide", client=client)
    except NotFoundError:
        pipeline = Pipeline.new(name="guide", client=client)
    assert_type(pipeline, Pipeline)
    assert_type(pipeline.save(deploy=True), Pipeline)
    assert_type(pipeline.run({"query": "x"}), RunResult)
    assert_type(pipeline.run({"query": "x"}, stream=True), SyncStream[SSEFrame])
    assert_type(pipeline.stream({"query": "x"}), SyncStream[StreamChunk])
    handler = pipeline.start({"query": "x"}, trace_id="t")
    assert_type(handler, RunHandler)
    assert_type(handler.run_status(), RunStatus)
    try:
        final = handler.result(poll_interval=0.5, timeout=60.0)
    except PollTimeoutError as exc:
        assert_type(exc.timeout, float)
        return
    outputs: dict[str, Any] | None = final.result
    assert_type(outputs, dict[str, Any] | None)
    assert_type(handler.terminate(), RunStatus)
    assert_type(pipeline.terminate(run_id=handler.task_id), RunStatus)
    assert_type(pipeline.bulk_run([{"query": "a"}]), list[RunResult])
    with pipeline.stream({"query": "x"}) as chunks:
        for chunk in chunks:
            assert_type(chunk, StreamChunk)
    for frame in pipeline.run({"query": "x"}, stream=True):
        assert_type(frame.json(), Any)
    with Client(api_key="k") as scoped:
        assert_type(Pipeline.list(client=scoped), list[Pipeline])


async def async_surface(client: Client) -> None:
    pipeline = await Pipeline.afetch(name="guide", client=client)
    assert_type(await pipeline.arun({"query": "x"}), RunResult)
    assert_type(await pipeline.arun({"query": "x"}, stream=True), AsyncStream[SSEFrame])
    assert_type(pipeline.astream({"query": "x"}), AsyncStream[StreamChunk])
    handler = await pipeline.astart({"query": "x"})
    assert_type(await handler.aresult(timeout=None), RunStatus)
    assert_type(await handler.aterminate(), RunStatus)
    async with pipeline.astream({"query": "x"}) as chunks:
        async for chunk in chunks:
            assert_type(chunk, StreamChunk)
    async with Client(api_key="k") as scoped:
        assert_type(await Pipeline.alist(client=scoped), list[Pipeline])
    rebuilt = RunHandler(pipeline_id="p", task_id="t", client=client)
    assert_type(await rebuilt.arun_status(), RunStatus)


class Summary(BaseModel):
    title: str


def typed_outputs(pipeline: Pipeline) -> str:
    result = pipeline.run({"query": "x"})
    assert_type(result.output("answer"), Any)
    assert_type(result.output("count", int), int)
    assert_type(result.output("tags", list[str]), list[str])
    assert_type(result.output("summary", Summary), Summary)
    with pipeline.stream({"query": "x"}) as chunks:
        for chunk in chunks:
            assert_type(chunk.type, Literal["stream", "result"])
    return result.output("answer", str)


class _Tagging(Interceptor):
    """An interceptor as a user writes one: plain methods, serving both APIs."""

    def on_operation_start(self, operation: Operation) -> None:
        operation.attributes["team"] = "search"
        assert_type(operation.task_id, str | None)

    def on_operation_event(
        self, operation: Operation, name: str, attributes: dict[str, Any]
    ) -> None:
        assert_type(operation.parent, Operation | None)

    def on_request(self, request: httpx.Request, operation: Operation | None) -> None:
        request.headers["X-Team"] = "search"

    def on_response(self, response: httpx.Response, operation: Operation | None) -> None:
        if operation is not None:
            assert_type(operation.request_id, str | None)


def interceptor_surface() -> None:
    client = Client(interceptors=[_Tagging(), OpenTelemetryInterceptor()])
    assert_type(client.interceptors, tuple[Interceptor, ...])
