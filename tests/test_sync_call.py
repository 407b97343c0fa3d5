"""The rule of call_sync: a thread without an event loop runs a sync call on a loop of its own.

A thread that already runs a loop (asyncio, trio, the private loop's thread) hands the call to
the shared private loop; ``tests/test_sync_loop.py`` proves that path's guarantees, and
``tests/test_sync_runtime.py`` those of both (Ctrl-C, fork, exit, context variables).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest
import trio
import trio.lowlevel
from support import echo_pipeline, lorem_pipeline, unique

# The Ctrl-C fixture of the runtime's tests.
from test_sync_runtime import default_sigint  # noqa: F401 (a fixture)

from vectorshift import Client, Pipeline
from vectorshift._sync import _call, _loop
from vectorshift._sync._call import call_sync
from vectorshift._sync._loop import run_sync

REPO = Path(__file__).resolve().parent.parent
LOOP_THREAD = "vectorshift-sync-loop"
PROMPT = 10.0


async def where() -> tuple[str, int]:
    await anyio.lowlevel.checkpoint()
    return threading.current_thread().name, id(asyncio.get_running_loop())


async def tasks_left() -> int:
    return len(asyncio.all_tasks()) - 1  # this one


def in_thread(target: object) -> object:
    """Run ``target()`` in a new thread named ``worker`` and return what it returned."""
    box: list[object] = []
    thread = threading.Thread(target=lambda: box.append(target()), name="worker")  # type: ignore[operator]
    thread.start()
    thread.join(PROMPT)
    assert box, "the thread failed"
    return box[0]


def test_a_thread_without_a_loop_runs_the_call_itself_on_one_loop_of_its_own() -> None:
    name, first = call_sync(where())
    _, second = call_sync(where())
    assert name == threading.current_thread().name
    assert first == second
    other_name, other = in_thread(lambda: call_sync(where()))  # type: ignore[misc]
    assert other_name == "worker"
    assert other != first


def test_a_thread_that_runs_a_loop_hands_the_call_to_the_private_loop() -> None:
    async def under_asyncio() -> tuple[str, int]:
        return call_sync(where())

    async def under_trio() -> tuple[str, int]:
        await trio.lowlevel.checkpoint()
        return call_sync(where())

    assert asyncio.run(under_asyncio())[0] == LOOP_THREAD
    assert trio.run(under_trio)[0] == LOOP_THREAD


def test_a_call_from_the_private_loop_thread_is_an_error_not_a_deadlock() -> None:
    async def nested() -> str:
        try:
            call_sync(where())
        except RuntimeError as exc:
            return str(exc)
        return "no error"

    assert "inside its own event loop" in run_sync(nested())


class Boom(Exception):
    pass


async def explode() -> None:
    await anyio.lowlevel.checkpoint()
    raise Boom("from the thread's loop")


def test_exceptions_keep_their_type_and_the_callers_frame() -> None:
    with pytest.raises(Boom) as info:
        call_sync(explode())
    frames = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert "test_exceptions_keep_their_type_and_the_callers_frame" in frames
    assert "explode" in frames
    assert call_sync(tasks_left()) == 0


@pytest.mark.skipif(sys.platform == "win32", reason="signals to a thread are POSIX only")
@pytest.mark.usefixtures("default_sigint")
def test_ctrl_c_during_result_leaves_no_task_and_no_open_response(client: Client) -> None:
    pipeline = lorem_pipeline(unique("ctrl-c-own-loop"), tokens=3000, delay_ms=20)
    pipeline._client = client
    pipeline.save()
    handler = pipeline.start({"query": "long"})
    main = threading.main_thread().ident
    assert main is not None and threading.get_ident() == main
    timer = threading.Timer(0.3, signal.pthread_kill, args=(main, signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        handler.result(poll_interval=0.1, timeout=120)

    async def in_use() -> tuple[int, int]:
        return client.http.open_responses(), await tasks_left()

    assert call_sync(in_use()) == (0, 0)
    assert handler.terminate().status == "cancelled"


def test_a_threads_pools_are_closed_after_it_ends(client: Client) -> None:
    pipeline = echo_pipeline(unique("thread-pool"))
    pipeline._client = client
    pipeline.save()

    def one_run() -> object:
        assert pipeline.run({"query": "hi"})["outputs"]["answer"] == "hi"
        return _call._local.loop

    owner = in_thread(one_run)
    assert isinstance(owner, _call._ThreadLoop)
    (pool,) = list(owner.closables)
    assert not pool.is_closed
    deadline = time.monotonic() + PROMPT
    while not owner.ended() and time.monotonic() < deadline:
        time.sleep(0.01)
    in_thread(lambda: call_sync(where()))  # a new thread loop closes the ended ones first
    assert pool.is_closed
    assert owner.loop.is_closed()


def test_sixteen_threads_each_run_their_calls_on_their_own_loop(client: Client) -> None:
    pipeline = echo_pipeline(unique("own-loops"))
    pipeline._client = client
    pipeline.save()
    loops: dict[str, int] = {}
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(3):
                assert pipeline.run({"query": f"{n}-{i}"})["outputs"]["answer"] == f"{n}-{i}"
            loops[threading.current_thread().name] = call_sync(where())[1]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,), name=f"w{n}") for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PROMPT * 3)
    assert not errors
    assert len(set(loops.values())) == 16


def test_a_sync_stream_still_runs_on_the_private_loop(client: Client) -> None:
    pipeline: Pipeline = lorem_pipeline(unique("stream-rule"), tokens=5, stream=True)
    pipeline.node("answer").inputs["output_type"] = "stream<string>"
    pipeline._client = client
    pipeline.save()  # a call: this thread's own loop gets a pool
    with pipeline.stream({"query": "x"}) as chunks:
        tokens = sum(chunk.output_name == "answer" for chunk in chunks)
    assert tokens == 5
    private = _loop._current
    assert private is not None
    own = _call._local.loop
    # One client, a pool on each loop: the stream's worker task ran on the private loop.
    assert {("asyncio", private.loop), ("asyncio", own.loop)} <= set(client.http._pools)
