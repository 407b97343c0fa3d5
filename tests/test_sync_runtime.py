"""The sync runtime's guarantees, on both kinds of loop it runs calls on (one test a behaviour).

``own loop``: a thread without an event loop runs the call on a loop of its own (``call_sync``).
``private loop``: the call is handed to the private loop's thread (``run_sync``, which is what
``call_sync`` does in a thread that already runs a loop). Exit, fork and the caller's context
are one registry's (``vectorshift/_sync/_runtime.py``); Ctrl-C is handled by each path.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.lowlevel
import pytest
import trio
from support import echo_pipeline, unique

from vectorshift import Client
from vectorshift._sync._call import call_sync
from vectorshift._sync._loop import run_sync

T = TypeVar("T")
Run = Callable[[Coroutine[Any, Any, T]], T]

REPO = Path(__file__).resolve().parent.parent
LOOP_THREAD = "vectorshift-sync-loop"
#: A generous bound for "did not hang": the slow operations under test would take a minute.
PROMPT = 10.0
PATHS: dict[str, Run[Any]] = {"own loop": call_sync, "private loop": run_sync}

request = contextvars.ContextVar("request", default="unset")


async def where() -> tuple[str, int]:
    """The thread and the event loop a coroutine runs on."""
    await anyio.lowlevel.checkpoint()
    return threading.current_thread().name, id(asyncio.get_running_loop())


async def tasks_left() -> int:
    return len(asyncio.all_tasks()) - 1  # this one


def interrupt_main_when(started: threading.Event) -> threading.Thread:
    """Send SIGINT to the main thread, as Ctrl-C does, once ``started`` is set."""

    def send() -> None:
        if started.wait(PROMPT):
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    thread = threading.Thread(target=send)
    thread.start()
    return thread


@pytest.fixture
def default_sigint() -> Iterator[None]:
    assert threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_the_callers_context_variables_are_seen_inside_the_call() -> None:
    async def read_and_set() -> str:
        seen = request.get()
        request.set("set inside")  # in the task's copy: the caller does not see it
        return seen

    async def under_asyncio() -> str:
        return call_sync(read_and_set())

    async def under_trio() -> str:
        await trio.lowlevel.checkpoint()
        return call_sync(read_and_set())

    token = request.set("the caller's")
    try:
        assert call_sync(read_and_set()) == "the caller's"
        assert run_sync(read_and_set()) == "the caller's"
        assert asyncio.run(under_asyncio()) == "the caller's"  # hops to the private loop
        assert trio.run(under_trio) == "the caller's"
        assert request.get() == "the caller's"
    finally:
        request.reset(token)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")
@pytest.mark.usefixtures("default_sigint")
def test_ctrl_c_cancels_the_call_waits_for_its_cleanup_and_reraises(path: str) -> None:
    run = PATHS[path]
    started = threading.Event()
    cleaned = threading.Event()

    async def long_call() -> None:
        started.set()
        try:
            await anyio.sleep(60)
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(0.05)  # cleanup that itself awaits
            cleaned.set()

    interrupter = interrupt_main_when(started)
    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run(long_call())
    interrupter.join()
    assert time.monotonic() - began < PROMPT
    assert cleaned.is_set()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert run(tasks_left()) == 0
    thread = "MainThread" if path == "own loop" else LOOP_THREAD
    assert run(where())[0] == thread  # the loop survived


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_gets_new_loops_and_pools_and_leaves_the_parents_alone(
    client: Client,
) -> None:
    pipeline = echo_pipeline(unique("fork-runtime"))
    pipeline._client = client
    pipeline.save()

    async def answer(query: str) -> tuple[str, int, int]:
        result = await pipeline.arun({"query": query})
        pool = client.http._pools[("asyncio", asyncio.get_running_loop())][0]
        return result["outputs"]["answer"], id(asyncio.get_running_loop()), id(pool)

    parent = {path: run(answer(path)) for path, run in PATHS.items()}
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        status = 1
        try:
            child = {path: run(answer(f"child {path}")) for path, run in PATHS.items()}
            loop_threads = [t for t in threading.enumerate() if t.name == LOOP_THREAD]
            ok = all(
                child[path][0] == f"child {path}"
                and child[path][1] != parent[path][1]  # a new loop
                and child[path][2] != parent[path][2]  # a new pool: no inherited connection
                for path in PATHS
            )
            status = 0 if ok and len(loop_threads) == 1 and loop_threads[0].is_alive() else 2
        finally:
            os._exit(status)
    deadline = time.monotonic() + PROMPT
    while not (done := os.waitpid(pid, os.WNOHANG))[0]:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.01)
    assert os.waitstatus_to_exitcode(done[1]) == 0
    for path, run in PATHS.items():  # the parent goes on with its own loops and pools
        assert run(answer(path))[1:] == parent[path][1:]


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter in development mode (ResourceWarnings shown)."""
    return subprocess.run(
        [sys.executable, "-X", "dev", "-W", "always", "-c", textwrap.dedent(code)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def problems(stderr: str) -> list[str]:
    """Warnings and errors; development mode also logs slow callbacks ("Executing <Task...")."""
    return [line for line in stderr.splitlines() if "Warning" in line or "Error" in line]


def test_at_exit_both_loops_close_their_pools_and_pending_calls_clean_up() -> None:
    began = time.monotonic()
    proc = run_python(
        """
        import asyncio, atexit, threading
        import anyio
        from vectorshift._sync import _call, _loop, _runtime

        loops, waiter, woke = {}, [], threading.Event()
        # Registered first, so it runs after the handler the first sync call registers.
        atexit.register(lambda: print(
            "closed:", {name: loop.is_closed() for name, loop in loops.items()}, _loop._current,
            "waiter:", woke.wait(10) and waiter,
        ))

        class Pool:
            def __init__(self, name):
                self.name = name
            async def aclose(self):
                await asyncio.sleep(0)
                print(self.name, "pool closed", flush=True)

        pools = {name: Pool(name) for name in ("own", "private")}
        async def open_pool(name):
            _runtime.close_with_loop(pools[name])
            loops[name] = asyncio.get_running_loop()

        started = threading.Event()
        async def long_call():
            started.set()
            try:
                await anyio.sleep(60)
            finally:
                print("pending call cleaned up", flush=True)

        def wait_for_long_call():
            try:
                _loop.run_sync(long_call())
            except BaseException as exc:
                waiter.append(type(exc).__name__)
                woke.set()

        _call.call_sync(open_pool("own"))
        _loop.run_sync(open_pool("private"))
        threading.Thread(target=wait_for_long_call, daemon=True).start()
        started.wait(10)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert problems(proc.stderr) == []
    assert proc.stdout.splitlines() == [
        "own pool closed",
        "pending call cleaned up",
        "private pool closed",
        "closed: {'own': True, 'private': True} None waiter: ['CancelledError']",
    ]
    assert time.monotonic() - began < PROMPT


def test_at_exit_real_pools_on_both_loops_close_without_a_resource_warning() -> None:
    proc = run_python(
        """
        import asyncio, threading
        from vectorshift import Pipeline
        from vectorshift.local import serve

        with serve() as client:
            pipeline = Pipeline.new(name="exit", client=client)
            query = pipeline.add(name="query").input()
            llm = pipeline.add(name="llm").llm(provider="local", model="echo", prompt=query.text)
            pipeline.add(name="answer").output(llm.response)
            pipeline.save()
            print(pipeline.run({"query": "own"})["outputs"]["answer"])
            async def in_a_loop():
                return pipeline.run({"query": "private"})["outputs"]["answer"]
            print(asyncio.run(in_a_loop()))
            worker = threading.Thread(
                target=lambda: print(pipeline.run({"query": "worker"})["outputs"]["answer"])
            )
            worker.start()
            worker.join()
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["own", "private", "worker"]
    assert problems(proc.stderr) == []
