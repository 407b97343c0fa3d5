"""Deadlines everywhere a user waits: runs and streams take ``timeout=``, connections are bounded.

Against a real local server for runs that take too long, and against raw servers on loopback
for what no real server does: accept and never answer, send headers and go silent.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import anyio
import pytest
from raw_servers import RawServer, headers_then_silence, keep_alives_forever, never_answers
from support import lorem_pipeline, unique

from vectorshift import (
    ApiTimeoutError,
    Client,
    Pipeline,
    PollTimeoutError,
    RetryPolicy,
    RunHandler,
    RunResult,
    StreamInterruptedError,
)

pytestmark = pytest.mark.anyio


async def slow_pipeline(client: Client, tokens: int = 40, delay_ms: int = 50) -> Pipeline:
    """About ``tokens * delay_ms`` ms per run, streaming its tokens."""
    pipeline = lorem_pipeline(unique("slow"), tokens=tokens, delay_ms=delay_ms, stream=True)
    pipeline.node("answer").inputs["output_type"] = "stream<string>"
    pipeline._client = client
    await pipeline.asave()
    return pipeline


def raw_client(server: RawServer, *, idle: float = 120.0) -> Client:
    return Client(
        api_key="k",
        base_url=server.base_url,
        timeout=1.0,
        retry=RetryPolicy(max_retries=1, backoff_base=0.05, max_backoff=0.1),
        stream_idle_timeout=idle,
    )


def test_stream_idle_timeout_must_be_positive_or_none() -> None:
    assert Client(stream_idle_timeout=None).stream_idle_timeout is None
    assert Client().stream_idle_timeout == 120.0
    with pytest.raises(ValueError, match="stream_idle_timeout must be positive or None"):
        Client(stream_idle_timeout=0)


@pytest.fixture
def silent() -> Iterator[RawServer]:
    with RawServer(never_answers) as server:
        yield server


@pytest.fixture
def mute_after_headers() -> Iterator[RawServer]:
    with RawServer(headers_then_silence) as server:
        yield server


# -- blocking runs ----------------------------------------------------------------------------


async def test_a_blocking_run_within_its_timeout_returns_its_result(client: Client) -> None:
    pipeline = await slow_pipeline(client, tokens=2, delay_ms=1)
    result = await pipeline.arun({"query": "x"}, timeout=30)
    assert isinstance(result, RunResult) and result.status == "succeeded"
    assert result.run_id and result["outputs"]["answer"]


async def test_a_blocking_run_past_its_timeout_names_the_run_which_goes_on(
    client: Client,
) -> None:
    pipeline = await slow_pipeline(client)
    started = anyio.current_time()
    with pytest.raises(PollTimeoutError, match=r"did not finish within 0.3s") as caught:
        await pipeline.arun({"query": "x"}, timeout=0.3, trace_id="deadline-trace")
    assert anyio.current_time() - started < 2.0
    error = caught.value
    assert error.timeout == 0.3 and error.pipeline_id == pipeline.id and error.task_id
    assert error.trace_id == "deadline-trace"
    assert "goes on on the server" in str(error) and f"task_id={error.task_id}" in str(error)
    final = await pipeline.run_handler(error.task_id).aresult(timeout=30)
    assert final.status == "succeeded" and final.outputs["answer"]


async def test_a_run_past_its_timeout_can_be_terminated_by_the_id_it_names(
    client: Client,
) -> None:
    pipeline = await slow_pipeline(client, tokens=200)
    with pytest.raises(PollTimeoutError) as caught:
        await pipeline.arun({"query": "x"}, timeout=0.2)
    assert caught.value.task_id is not None
    assert (await pipeline.aterminate(run_id=caught.value.task_id)).status == "cancelled"


# -- streams ----------------------------------------------------------------------------------


async def test_a_stream_past_its_timeout_names_the_run_and_can_be_followed_again(
    client: Client,
) -> None:
    pipeline = await slow_pipeline(client)
    seen: list[str] = []
    with pytest.raises(PollTimeoutError, match=r"did not end within 0.6s") as caught:
        async with pipeline.astream({"query": "x"}, timeout=0.6) as chunks:
            async for chunk in chunks:
                if chunk.output_name == "answer":
                    seen.append(chunk.output_value)
                last = chunk.id
    assert client.http.open_responses() == 0
    error = caught.value
    assert error.task_id and error.pipeline_id == pipeline.id and seen
    assert f"after={last!r}" in str(error)
    rest: list[str] = []
    final = None
    async for chunk in pipeline.run_handler(error.task_id).astream(after=last, timeout=30):
        if chunk.output_name == "answer":
            rest.append(chunk.output_value)
        final = chunk
    assert final is not None and final.outputs is not None
    assert "".join(seen + rest) == final.outputs["answer"]


async def test_raw_frames_and_handler_streams_take_a_deadline_too(client: Client) -> None:
    pipeline = await slow_pipeline(client)
    with pytest.raises(PollTimeoutError) as caught:
        async for _ in pipeline.arun({"query": "x"}, stream=True, timeout=0.4):
            pass
    assert caught.value.task_id and caught.value.pipeline_id == pipeline.id
    handler = await pipeline.astart({"query": "x"})
    with pytest.raises(PollTimeoutError) as again:
        async for _ in handler.astream(timeout=0.4):
            pass
    assert again.value.task_id == handler.task_id
    assert client.http.open_responses() == 0


@pytest.mark.parametrize("timeout", [0, -1.0, math.nan])
async def test_a_timeout_that_is_not_a_positive_number_fails_at_the_call(
    client: Client, timeout: float
) -> None:
    pipeline = Pipeline("p", id="p-1", client=client)
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        pipeline.arun({}, timeout=timeout)
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        pipeline.astream({}, timeout=timeout)
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        RunHandler(pipeline_id="p-1", task_id="t-1", client=client).astream(timeout=timeout)


# -- servers that never answer ----------------------------------------------------------------


async def test_a_server_that_never_answers_fails_a_stream_within_the_client_timeout(
    silent: RawServer,
) -> None:
    client = raw_client(silent)
    pipeline = Pipeline("p", id="p-1", client=client)
    for stream in (
        pipeline.astream({"query": "x"}),
        pipeline.arun({"query": "x"}, stream=True),
        pipeline.run_handler("t-1").astream(),
    ):
        started = anyio.current_time()
        with pytest.raises(ApiTimeoutError, match=r"did not begin within 1.0s"):
            await stream
        assert anyio.current_time() - started < 3.0
    assert client.http.open_responses() == 0


async def test_headers_then_silence_is_a_lost_connection_after_the_idle_bound(
    mute_after_headers: RawServer,
) -> None:
    client = raw_client(mute_after_headers, idle=0.5)
    pipeline = Pipeline("p", id="p-1", client=client)
    started = anyio.current_time()
    with pytest.raises(ApiTimeoutError, match=r"sent nothing for 0.5s"):
        async for _ in pipeline.arun({"query": "x"}, stream=True):
            pass
    assert 0.4 < anyio.current_time() - started < 3.0
    with pytest.raises(StreamInterruptedError, match="no frame named its run") as caught:
        async for _ in pipeline.astream({"query": "x"}):
            pass
    assert isinstance(caught.value.__cause__, ApiTimeoutError)
    assert client.http.open_responses() == 0


async def test_a_silent_run_stream_is_resumed_then_given_up_within_bounds(
    mute_after_headers: RawServer,
) -> None:
    client = raw_client(mute_after_headers, idle=0.3)
    started = anyio.current_time()
    with pytest.raises(StreamInterruptedError, match="reconnection"):
        async for _ in RunHandler(pipeline_id="p-1", task_id="t-1", client=client).astream():
            pass
    assert anyio.current_time() - started < 5.0
    assert mute_after_headers.connections == 2  # the first connection and one reconnection


async def test_keep_alives_hold_a_stream_open_until_its_deadline() -> None:
    with RawServer(keep_alives_forever(every=0.1)) as server:
        client = raw_client(server, idle=0.5)
        started = anyio.current_time()
        with pytest.raises(PollTimeoutError, match=r"did not end within 1.5s"):
            async for _ in RunHandler(pipeline_id="p-1", task_id="t-1", client=client).astream(
                timeout=1.5
            ):
                pass
        assert 1.4 < anyio.current_time() - started < 3.0
        assert server.connections == 1
        assert client.http.open_responses() == 0


def test_sync_runs_and_streams_take_the_same_deadlines(client: Client) -> None:
    pipeline = lorem_pipeline(unique("sync-slow"), tokens=40, delay_ms=50, stream=True)
    pipeline.node("answer").inputs["output_type"] = "stream<string>"
    pipeline._client = client
    pipeline.save()
    with pytest.raises(PollTimeoutError) as run_error:
        pipeline.run({"query": "x"}, timeout=0.3)
    with (
        pytest.raises(PollTimeoutError) as stream_error,
        pipeline.stream({"query": "x"}, timeout=0.4) as chunks,
    ):
        for _ in chunks:
            pass
    assert run_error.value.task_id and stream_error.value.task_id
    assert run_error.value.task_id != stream_error.value.task_id
    stream = pipeline.stream({"query": "x"})
    assert repr(stream).startswith(f"SyncStream(pipeline_id={pipeline.id!r}, ")
    assert "state='not opened'" in repr(stream)
    stream.close()
