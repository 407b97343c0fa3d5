"""Streams that drop are resumed through replayable events (X3): every chunk once, in order."""

from __future__ import annotations

import json
import random
from typing import Any

import anyio
import pytest
from support import lorem_pipeline, unique

from vectorshift import (
    Client,
    NotFoundError,
    Pipeline,
    PipelineRunCancelledError,
    PipelineRunFailedError,
    RetryPolicy,
    RunHandler,
    StreamChunk,
    StreamInterruptedError,
)
from vectorshift.local import LocalServer
from vectorshift.local.faults import FaultInjector
from vectorshift.pipeline._async_stream import AsyncStream
from vectorshift.types import normalize_status

pytestmark = pytest.mark.anyio

TOKENS = 120


async def token_pipeline(client: Client, *, tokens: int = TOKENS, delay_ms: int = 1) -> Pipeline:
    pipeline = lorem_pipeline(unique("resume"), tokens=tokens, delay_ms=delay_ms, stream=True)
    pipeline.node("answer").inputs["output_type"] = "stream<string>"
    pipeline._client = client
    await pipeline.asave()
    return pipeline


def cut_every(faults: FaultInjector, pipeline: Pipeline, frames: int) -> None:
    """Cut the streaming run and every events request of the pipeline after ``frames`` frames."""
    faults.add(path=rf"/pipeline/{pipeline.id}/run(/events/[^/]+)?$", cut_after_frames=frames)


async def collect(chunks: AsyncStream[StreamChunk]) -> list[StreamChunk]:
    async with chunks as stream:
        return [chunk async for chunk in stream]


def assert_each_once_in_order(seen: list[StreamChunk], first_id: int = 1) -> str:
    """Every frame exactly once, ids consecutive from ``first_id``; returns the streamed text."""
    ids = [int(chunk.id) for chunk in seen if chunk.id is not None]
    assert ids == list(range(first_id, first_id + len(seen)))
    assert seen[-1].type == "result" and [c.type for c in seen].count("result") == 1
    tokens = [c.output_value for c in seen if c.type == "stream" and c.output_name == "answer"]
    return "".join(tokens)


async def test_a_stream_cut_every_20_frames_delivers_every_token_once(
    client: Client, faults: FaultInjector
) -> None:
    pipeline = await token_pipeline(client)
    cut_every(faults, pipeline, 20)
    seen = await collect(pipeline.astream({"query": "resume me"}))
    text = assert_each_once_in_order(seen)
    assert seen[-1].outputs is not None and text == seen[-1].outputs["answer"]
    assert len(text.split()) == TOKENS
    # It really was cut: one reconnection per 20 frames.
    assert faults.seen("GET", f"/pipeline/{pipeline.id}/run/events/") >= len(seen) // 20
    final = await pipeline.run_handler(str(seen[-1].run_id)).aresult(timeout=30)
    assert final.result == seen[-1].outputs


async def test_watching_a_background_run_survives_cuts(
    client: Client, faults: FaultInjector
) -> None:
    pipeline = await token_pipeline(client, delay_ms=2)
    handler = await pipeline.astart({"query": "watch me"})
    cut_every(faults, pipeline, 20)
    seen = await collect(handler.astream())
    text = assert_each_once_in_order(seen)
    final = await handler.aresult(timeout=30)
    assert final.result is not None and text == final.result["answer"]
    assert all(chunk.run_id == handler.task_id for chunk in seen)


async def test_watching_after_an_event_id_starts_with_the_next_event(client: Client) -> None:
    pipeline = await token_pipeline(client, tokens=10)
    handler = await pipeline.astart({"query": "late"})
    everything = await collect(handler.astream())
    rest = await collect(handler.astream(after="4"))
    assert rest == everything[4:]
    assert_each_once_in_order(rest, first_id=5)


@pytest.mark.parametrize("past", [0, 1, 1000])
async def test_watching_an_ended_run_after_its_last_event_ends_at_once(
    client: Client, server: LocalServer, caplog: pytest.LogCaptureFixture, past: int
) -> None:
    pipeline = await token_pipeline(client, tokens=3)
    handler = await pipeline.astart({"query": "over"})
    everything = await collect(handler.astream())
    last = int(everything[-1].id or 0)
    # A retry policy that would take seconds to give up: the status answers at once instead.
    patient = Client(
        api_key=server.api_key,
        base_url=server.base_url,
        retry=RetryPolicy(max_retries=5, backoff_base=1.0),
    )
    watcher = RunHandler(pipeline_id=handler.pipeline_id, task_id=handler.task_id, client=patient)
    caplog.set_level("INFO", logger="vectorshift")
    with anyio.fail_after(3):
        rest = await collect(watcher.astream(after=str(last + past)))
    assert rest == []
    assert "nothing follows it" in caplog.text and "reconnection" not in caplog.text
    await patient.aclose()


async def test_a_running_run_after_its_last_event_is_followed_live(client: Client) -> None:
    pipeline = await token_pipeline(client, tokens=40, delay_ms=25)
    handler = await pipeline.astart({"query": "live"})
    async with handler.astream() as stream:
        first = await stream.__anext__()
    # Nothing after event 1 may exist yet when this connects: the run is followed, not ended.
    rest = await collect(handler.astream(after=first.id))
    assert_each_once_in_order(rest, first_id=2)


async def test_frames_sent_again_are_skipped_and_unnumbered_ones_kept(
    client: Client, faults: FaultInjector
) -> None:
    pipeline = await token_pipeline(client, tokens=2)
    handler = await pipeline.astart({"query": "x"})
    await handler.aresult(timeout=30)

    def frame(event_id: str | None, **data: Any) -> str:
        line = f"id: {event_id}\n" if event_id is not None else ""
        return f"{line}data: {json.dumps({'run_id': handler.task_id, **data})}\n\n"

    # A server that ignores Last-Event-ID and replays from the start.
    body = (
        frame("1", type="stream", output_name="a", output_value="old")
        + frame("2", type="stream", output_name="a", output_value="new")
        + frame(None, type="stream", output_name="b", output_value="unnumbered")
        + frame("3", type="result", status="success", outputs={"a": "new"})
    )
    faults.add(method="GET", path=f"/run/events/{handler.task_id}", status=200, body=body)
    seen = await collect(handler.astream(after="1"))
    assert [(c.output_value, c.id) for c in seen[:2]] == [("new", "2"), ("unnumbered", "2")]
    assert seen[-1].type == "result" and len(seen) == 3


async def test_a_server_without_replayable_events_raises_interrupted_with_the_run(
    client: Client, faults: FaultInjector
) -> None:
    pipeline = await token_pipeline(client)
    faults.add(method="POST", path=f"/pipeline/{pipeline.id}/run$", cut_after_frames=5)
    faults.add(method="GET", path="/run/events/", status=404)
    seen: list[StreamChunk] = []
    with pytest.raises(StreamInterruptedError) as info:
        async with pipeline.astream({"query": "x"}) as chunks:
            async for chunk in chunks:
                seen.append(chunk)
    assert len(seen) == 5
    assert info.value.task_id == seen[0].run_id and info.value.last_event_id == "5"
    assert "404" in str(info.value)
    # The run itself went on: its outcome is one status call away.
    final = await pipeline.run_handler(str(info.value.task_id)).aresult(timeout=30)
    assert final.status == "succeeded"


async def test_reconnecting_gives_up_after_max_retries_failures_in_a_row(
    client: Client, faults: FaultInjector
) -> None:
    pipeline = await token_pipeline(client)
    faults.add(method="POST", path=f"/pipeline/{pipeline.id}/run$", cut_after_frames=3)
    faults.add(method="GET", path="/run/events/", status=503)
    with pytest.raises(StreamInterruptedError) as info:
        await collect(pipeline.astream({"query": "x"}))
    assert info.value.last_event_id == "3" and "503" in str(info.value)
    assert faults.seen("GET", "/run/events/") == client.retry.max_retries


async def test_a_policy_without_retries_does_not_reconnect(
    server: LocalServer, faults: FaultInjector
) -> None:
    strict = Client(api_key=server.api_key, base_url=server.base_url, max_retries=0)
    pipeline = await token_pipeline(strict)
    faults.add(method="POST", path=f"/pipeline/{pipeline.id}/run$", cut_after_frames=3)
    with pytest.raises(StreamInterruptedError, match="max_retries=0") as info:
        await collect(pipeline.astream({"query": "x"}))
    assert info.value.last_event_id == "3"
    assert faults.seen("GET", "/run/events/") == 0


async def test_transient_reconnection_failures_are_ridden_out(
    client: Client, faults: FaultInjector
) -> None:
    pipeline = await token_pipeline(client)
    # The first reconnection answers 503, the second is dropped, the third gets through.
    unavailable = faults.add(method="GET", path="/run/events/", status=503, count=1)
    dropped = faults.add(method="GET", path="/run/events/", drop=True, count=1)
    cut_every(faults, pipeline, 25)
    seen = await collect(pipeline.astream({"query": "bumpy"}))
    text = assert_each_once_in_order(seen)
    assert seen[-1].outputs is not None and text == seen[-1].outputs["answer"]
    assert unavailable.fired == dropped.fired == 1


async def test_an_early_end_is_resumed_waiting_as_the_retry_field_says(
    server: LocalServer, faults: FaultInjector
) -> None:
    # Backoff without the server's hint would be up to 60 s: the 10 ms `retry:` must win.
    slow = Client(
        api_key=server.api_key,
        base_url=server.base_url,
        retry=RetryPolicy(max_retries=2, backoff_base=60.0, max_backoff=60.0),
    )
    pipeline = await token_pipeline(slow, tokens=8)
    handler = await pipeline.astart({"query": "hint"})
    first = {"type": "stream", "run_id": handler.task_id, "output_name": "x", "output_value": 1}
    body = f"retry: 10\nid: 1\ndata: {json.dumps(first)}\n\n"
    faults.add(method="POST", path=f"/pipeline/{pipeline.id}/run$", status=200, body=body)
    with anyio.fail_after(20):
        seen = await collect(pipeline.astream({"query": "hint"}))
    assert seen[0].raw == first and seen[0].id == "1"
    assert [int(str(c.id)) for c in seen] == list(range(1, len(seen) + 1))
    assert seen[-1].type == "result" and seen[-1].run_id == handler.task_id


async def test_a_failed_run_is_yielded_then_raised_when_watched(client: Client) -> None:
    pipeline = Pipeline(unique("watch-fail"), client=client)
    query = pipeline.add(name="query").input()
    llm = pipeline.add(name="llm").llm(provider="local", model="nope", prompt=query.text)
    pipeline.add(name="answer").output(llm.response)
    await pipeline.asave()
    handler = await pipeline.astart({"query": "x"})
    seen: list[StreamChunk] = []
    with pytest.raises(PipelineRunFailedError) as info:
        async with handler.astream() as chunks:
            async for chunk in chunks:
                seen.append(chunk)
    assert seen[-1].type == "result" and seen[-1].status == "failed"
    assert info.value.task_id == handler.task_id and "nope" in str(info.value.run_error)


async def test_a_cancelled_run_is_yielded_then_raised_when_watched(client: Client) -> None:
    pipeline = await token_pipeline(client, tokens=2000, delay_ms=10)
    handler = await pipeline.astart({"query": "x"})
    seen: list[StreamChunk] = []
    with pytest.raises(PipelineRunCancelledError):
        async with handler.astream() as chunks:
            async for chunk in chunks:
                seen.append(chunk)
                if len(seen) == 3:
                    await handler.aterminate()
    assert seen[-1].type == "result" and seen[-1].status == "cancelled"


async def test_watching_an_unknown_run_is_not_found(client: Client) -> None:
    pipeline = await token_pipeline(client, tokens=1)
    with pytest.raises(NotFoundError):
        await pipeline.run_handler("no-such-run").astream().aopen()
    with pytest.raises(ValueError, match="after"):
        pipeline.run_handler("no-such-run").astream(after="")


async def final_views(handler: RunHandler) -> tuple[str, str, str, str]:
    """The run's final state as terminate, run_status, result() and its stream tell it."""
    terminated = (await handler.aterminate()).status
    status = (await handler.arun_status()).status
    try:
        result = (await handler.aresult(timeout=30)).status
    except PipelineRunCancelledError:
        result = "cancelled"
    frame = "none"
    try:
        async with handler.astream() as chunks:
            async for chunk in chunks:
                if chunk.type == "result":
                    frame = normalize_status(chunk.status)[0]
    except PipelineRunCancelledError:
        pass
    return terminated, status, result, frame


async def test_a_completion_racing_a_terminate_has_one_final_status(client: Client) -> None:
    pipeline = await token_pipeline(client, tokens=5, delay_ms=8)
    rng = random.Random(7)
    views: list[tuple[str, str, str, str]] = []

    async def race() -> None:
        handler = await pipeline.astart({"query": unique("race")})
        await anyio.sleep(rng.uniform(0.0, 0.12))
        views.append(await final_views(handler))

    async with anyio.create_task_group() as tg:
        for _ in range(12):
            tg.start_soon(race)
    assert len(views) == 12
    for view in views:
        assert len(set(view)) == 1 and view[0] in ("succeeded", "cancelled"), view
