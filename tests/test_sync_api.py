"""The generated sync API against a real local server: threads, running loops, fork, Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import pytest
from support import echo_pipeline, lorem_pipeline, unique

from vectorshift import (
    AuthenticationError,
    Client,
    NotFoundError,
    Pipeline,
    PipelineRunCancelledError,
    RunHandler,
    StreamChunk,
)
from vectorshift._sync._loop import private_loop_tasks, run_sync
from vectorshift.local import LocalServer
from vectorshift.local.faults import FaultInjector


def saved(pipeline: Pipeline, client: Client) -> Pipeline:
    pipeline._client = client
    return pipeline.save()


def test_the_platform_guide_flow_works_as_written(client: Client) -> None:
    name = unique("guide")
    try:
        pipeline = Pipeline.fetch(name=name, client=client)
    except NotFoundError:
        pipeline = Pipeline.new(name=name, client=client)
        query = pipeline.add(name="query").input()
        llm = pipeline.add(name="llm").llm(provider="local", model="echo", prompt=query.text)
        pipeline.add(name="answer").output(llm.response)
        pipeline.save()
    assert Pipeline.fetch(name=name, client=client).id == pipeline.id
    assert pipeline.run({"query": "hi"})["outputs"]["answer"] == "hi"
    handler = pipeline.start({"query": "later"})
    assert handler.run_status().status in ("running", "succeeded")
    assert handler.result(poll_interval=0.1, timeout=30)["result"] == {"answer": "later"}
    assert pipeline.run_status(handler.task_id).status == "succeeded"
    assert pipeline.terminate(run_id=handler.task_id).status == "succeeded"
    results = pipeline.bulk_run([{"query": "a"}, {"query": "b"}])
    assert [r["outputs"]["answer"] for r in results] == ["a", "b"]


def test_sixteen_threads_share_one_client(client: Client) -> None:
    pipeline = saved(echo_pipeline(unique("threads")), client)

    def one(i: int) -> str:
        handler = pipeline.start({"query": f"t{i}"})
        answer: str = handler.result(poll_interval=0.05, timeout=60)["result"]["answer"]
        return answer

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(one, range(16)))
    assert answers == [f"t{i}" for i in range(16)]


def test_sync_calls_work_inside_a_running_event_loop(client: Client) -> None:
    pipeline = saved(echo_pipeline(unique("in-loop")), client)

    async def handler_code() -> str:
        answer: str = pipeline.run({"query": "from a coroutine"})["outputs"]["answer"]
        return answer

    assert asyncio.run(handler_code()) == "from a coroutine"


def test_a_sync_call_from_the_private_loop_is_an_error_not_a_deadlock(client: Client) -> None:
    pipeline = saved(echo_pipeline(unique("own-loop")), client)

    async def nested() -> None:
        pipeline.run({"query": "x"})

    with pytest.raises(RuntimeError, match="inside its own event loop"):
        run_sync(nested())


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_sync_calls_work_in_a_forked_child(client: Client) -> None:
    pipeline = saved(echo_pipeline(unique("fork")), client)
    assert pipeline.run({"query": "parent"})["outputs"]["answer"] == "parent"
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            answer = pipeline.run({"query": "child"})["outputs"]["answer"]
            os.write(write, answer.encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert os.read(read, 100) == b"child"
    assert pipeline.run({"query": "parent again"})["outputs"]["answer"] == "parent again"


@pytest.mark.skipif(sys.platform == "win32", reason="signals to a thread are POSIX only")
def test_ctrl_c_during_result_stops_promptly_and_leaves_nothing_behind(client: Client) -> None:
    pipeline = saved(lorem_pipeline(unique("ctrl-c"), tokens=3000, delay_ms=20), client)
    handler = pipeline.start({"query": "long"})
    main = threading.main_thread().ident
    assert main is not None and threading.get_ident() == main
    timer = threading.Timer(0.3, signal.pthread_kill, args=(main, signal.SIGINT))
    started = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        handler.result(poll_interval=0.1, timeout=120)
    assert time.monotonic() - started < 10
    assert private_loop_tasks() == 0

    async def in_use() -> int:
        return client.http.open_responses()

    assert run_sync(in_use()) == 0
    assert handler.terminate().status == "cancelled"
    with pytest.raises(PipelineRunCancelledError):
        RunHandler(pipeline_id=handler.pipeline_id, task_id=handler.task_id, client=client).result()


def test_sync_streams_deliver_tokens_as_they_come_and_close_on_break(client: Client) -> None:
    pipeline = lorem_pipeline(unique("sync-stream"), tokens=20, delay_ms=30, stream=True)
    pipeline.node("answer").inputs["output_type"] = "stream<string>"
    saved(pipeline, client)
    arrivals = []
    with pipeline.stream({"query": "x"}) as chunks:
        for chunk in chunks:
            if chunk.output_name == "answer":
                arrivals.append(time.monotonic())
                if len(arrivals) == 5:
                    run_id = chunk.run_id
                    break
    gaps = [b - a for a, b in pairwise(arrivals)]
    assert sum(gap > 0.01 for gap in gaps) >= 3, "tokens came one by one, not in a burst"

    async def in_use() -> int:
        return client.http.open_responses()

    assert run_sync(in_use()) == 0
    assert run_id is not None
    assert pipeline.run_handler(run_id).result(timeout=30).status == "succeeded"


def test_raw_frames_through_the_sync_api(client: Client) -> None:
    pipeline = lorem_pipeline(unique("sync-frames"), tokens=3, delay_ms=1, stream=True)
    pipeline.node("answer").inputs["output_type"] = "stream<string>"
    saved(pipeline, client)
    frames = list(pipeline.run({"query": "x"}, stream=True))
    assert frames[-1].event == "result" and frames[-1].json()["status"] == "success"


def test_a_client_works_as_a_sync_context_manager(client: Client) -> None:
    with Client(api_key=client._api_key, base_url=client.base_url) as scoped:
        assert isinstance(Pipeline.list(limit=5, client=scoped), list)


def test_sync_streams_cut_every_20_frames_deliver_every_token_once(
    client: Client, faults: FaultInjector
) -> None:
    pipeline = lorem_pipeline(unique("sync-resume"), tokens=120, delay_ms=1, stream=True)
    pipeline.node("answer").inputs["output_type"] = "stream<string>"
    saved(pipeline, client)
    faults.add(path=rf"/pipeline/{pipeline.id}/run(/events/[^/]+)?$", cut_after_frames=20)

    def check(seen: list[StreamChunk]) -> None:
        ids = [int(chunk.id) for chunk in seen if chunk.id is not None]
        assert ids == list(range(1, len(seen) + 1)), "every frame once, in order"
        tokens = [c.output_value for c in seen if c.output_name == "answer" and c.type == "stream"]
        assert seen[-1].outputs == {"answer": "".join(tokens)} and len(tokens) == 120

    with pipeline.stream({"query": "resume"}) as chunks:
        check(list(chunks))
    handler = pipeline.start({"query": "watch"})
    with handler.stream() as chunks:
        check(list(chunks))
    # Each stream has over 120 frames, cut every 20: at least 6 reconnections each.
    assert faults.seen("GET", f"/pipeline/{pipeline.id}/run/events/") >= 12


def test_module_settings_configure_the_default_client(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vectorshift

    monkeypatch.delenv("VECTORSHIFT_API_KEY", raising=False)
    monkeypatch.delenv("VECTORSHIFT_BASE_URL", raising=False)
    monkeypatch.setattr(vectorshift, "api_key", server.api_key)
    monkeypatch.setattr(vectorshift, "base_url", server.base_url)
    pipeline = Pipeline.new(name=unique("module-settings"))
    assert Pipeline.fetch(id=pipeline.id).name == pipeline.name
    monkeypatch.setattr(vectorshift, "api_key", "not-a-key")
    with pytest.raises(AuthenticationError):
        Pipeline.fetch(id=pipeline.id)
