"""OpenTelemetry: each operation a span in the caller's trace, read with the in-memory exporter."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from support import echo_pipeline, lorem_pipeline, unique

from vectorshift import Client, NotFoundError, Pipeline, RetryPolicy
from vectorshift.local import LocalServer
from vectorshift.local.faults import FaultInjector
from vectorshift.otel import OpenTelemetryInterceptor

pytestmark = pytest.mark.anyio


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    yield memory
    memory.clear()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> TracerProvider:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    return tracer_provider


@pytest.fixture
def traced(server: LocalServer, provider: TracerProvider) -> Client:
    return Client(
        api_key=server.api_key,
        base_url=server.base_url,
        retry=RetryPolicy(max_retries=3, backoff_base=0.01, max_backoff=0.05),
        interceptors=[OpenTelemetryInterceptor(provider)],
    )


async def saved(pipeline: Pipeline, client: Client) -> Pipeline:
    pipeline._client = client
    await pipeline.asave()
    return pipeline


def render(spans: Sequence[ReadableSpan]) -> str:
    """The spans as the report shows them: name, ids, parent, attributes, events."""
    lines = []
    for span in spans:
        parent = f"{span.parent.span_id:016x}" if span.parent else "-"
        assert span.context is not None
        lines.append(
            f"{span.name}  span={span.context.span_id:016x}  parent={parent}  "
            f"trace={span.context.trace_id:032x}  status={span.status.status_code.name}"
        )
        for key, value in sorted((span.attributes or {}).items()):
            lines.append(f"    {key} = {value}")
        for event in span.events:
            lines.append(f"    event {event.name} {dict(event.attributes or {})}")
    return "\n".join(lines)


async def test_a_start_and_its_result_are_spans_in_the_callers_trace(
    traced: Client, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    pipeline = await saved(echo_pipeline(unique("traced")), traced)
    exporter.clear()
    with provider.get_tracer("app").start_as_current_span("handle order 42") as caller:
        handler = await pipeline.astart({"query": "hi"})
        await handler.aresult(timeout=30)
    print("\n" + render(exporter.get_finished_spans()))
    start, result, outer = exporter.get_finished_spans()
    assert (start.name, result.name, outer.name) == (
        "vectorshift.start",
        "vectorshift.result",
        "handle order 42",
    )
    for span in (start, result):
        assert span.kind is SpanKind.CLIENT
        assert span.parent is not None
        assert span.parent.span_id == caller.get_span_context().span_id
        assert span.context is not None
        assert span.context.trace_id == caller.get_span_context().trace_id
        assert span.status.status_code is StatusCode.UNSET
        attributes = dict(span.attributes or {})
        assert attributes["vectorshift.pipeline_id"] == pipeline.id
        assert attributes["vectorshift.task_id"] == handler.task_id
        assert attributes["vectorshift.trace_id"] == handler.trace_id
        assert str(attributes["vectorshift.request_id"]).startswith("req_")


async def test_the_local_server_records_the_starts_traceparent_with_the_run(
    traced: Client, exporter: InMemorySpanExporter
) -> None:
    pipeline = await saved(echo_pipeline(unique("recorded")), traced)
    exporter.clear()
    handler = await pipeline.astart({"query": "hi"})
    status = await handler.arun_status()
    start = exporter.get_finished_spans()[0]
    assert start.context is not None
    version, trace_id, parent_id, _ = status.raw["traceparent"].split("-")
    assert (version, trace_id, parent_id) == (
        "00",
        f"{start.context.trace_id:032x}",
        f"{start.context.span_id:016x}",
    )


async def test_retries_are_span_events(
    traced: Client, exporter: InMemorySpanExporter, faults: FaultInjector
) -> None:
    pipeline = await saved(echo_pipeline(unique("retry")), traced)
    faults.add(
        method="POST", path=f"/pipeline/{pipeline.id}/run$", status=429, retry_after=0, count=2
    )
    exporter.clear()
    await pipeline.astart({"query": "hi"})
    (start,) = exporter.get_finished_spans()
    assert [event.name for event in start.events] == ["retry", "retry"]
    first = dict(start.events[0].attributes or {})
    assert first["attempt"] == 1
    assert first["delay"] == 0
    assert str(first["cause"]).startswith("RateLimitError: ")


async def test_a_stream_reconnection_is_a_span_event(
    traced: Client, exporter: InMemorySpanExporter, faults: FaultInjector
) -> None:
    pipeline = lorem_pipeline(unique("otel-cut"), tokens=30, stream=True)
    pipeline.node("answer").inputs["output_type"] = "stream<string>"
    await saved(pipeline, traced)
    faults.add(method="POST", path=f"/pipeline/{pipeline.id}/run$", cut_after_frames=4)
    exporter.clear()
    async with pipeline.astream({"query": "hi"}) as chunks:
        last = [chunk async for chunk in chunks][-1]
    (stream,) = exporter.get_finished_spans()
    assert stream.name == "vectorshift.stream"
    assert [event.name for event in stream.events] == ["reconnect"]
    assert dict(stream.events[0].attributes or {})["last_event_id"] == "4"
    assert dict(stream.attributes or {})["vectorshift.task_id"] == last.run_id


async def test_a_failed_operation_is_an_error_span_with_its_exception(
    traced: Client, exporter: InMemorySpanExporter
) -> None:
    with pytest.raises(NotFoundError):
        await Pipeline.afetch("0" * 24, client=traced)
    (fetch,) = exporter.get_finished_spans()
    assert fetch.status.status_code is StatusCode.ERROR
    assert fetch.status.description is not None
    assert fetch.status.description.startswith("NotFoundError")
    assert [event.name for event in fetch.events] == ["exception"]


async def test_a_maps_runs_are_children_of_the_map_span(
    traced: Client, exporter: InMemorySpanExporter
) -> None:
    pipeline = await saved(echo_pipeline(unique("otel-map")), traced)
    exporter.clear()
    [outcome async for outcome in pipeline.amap([{"query": "a"}, {"query": "b"}])]
    spans = exporter.get_finished_spans()
    (map_span,) = [span for span in spans if span.name == "vectorshift.map"]
    children = [span for span in spans if span is not map_span]
    assert sorted(span.name for span in children) == [
        "vectorshift.result",
        "vectorshift.result",
        "vectorshift.start",
        "vectorshift.start",
    ]
    assert map_span.context is not None
    assert all(
        span.parent is not None and span.parent.span_id == map_span.context.span_id
        for span in children
    )


def test_the_sync_api_makes_the_same_spans(
    traced: Client, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    pipeline = echo_pipeline(unique("otel-sync"))
    pipeline._client = traced
    pipeline.save()
    exporter.clear()
    with provider.get_tracer("app").start_as_current_span("sync caller") as caller:
        pipeline.start({"query": "hi"}).result(timeout=30)
    start, result, _ = exporter.get_finished_spans()
    assert (start.name, result.name) == ("vectorshift.start", "vectorshift.result")
    assert start.parent is not None and result.parent is not None
    assert start.parent.span_id == result.parent.span_id == caller.get_span_context().span_id


PROBE = r"""
import json, sys
from vectorshift.local import LocalServer, ServerConfig
import vectorshift

with LocalServer(ServerConfig()) as server:
    client = vectorshift.Client(api_key=server.api_key, base_url=server.base_url)
    pipeline = vectorshift.Pipeline("probe", client=client)
    query = pipeline.add(name="query").input()
    pipeline.add(name="answer").output(query.text)
    pipeline.save()
    pipeline.start({"query": "hi"}).result(timeout=30)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry")))
"""


def test_a_run_without_the_interceptor_imports_no_opentelemetry() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert json.loads(out.splitlines()[-1]) == []
