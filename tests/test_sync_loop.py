"""The private event loop behind the sync API: run_sync, iterate_sync and SyncStream."""

from __future__ import annotations

import asyncio
import gc
import inspect
import signal
import subprocess
import sys
import textwrap
import threading
import traceback
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType

import anyio
import anyio.lowlevel
import pytest
import trio
import trio.lowlevel

# The Ctrl-C helpers of the runtime's tests.
from test_sync_runtime import default_sigint, interrupt_main_when  # noqa: F401 (a fixture)

from vectorshift._sync._iter import SyncStream, iterate_sync
from vectorshift._sync._loop import private_loop_tasks, run_sync

REPO = Path(__file__).resolve().parent.parent
LOOP_THREAD = "vectorshift-sync-loop"
#: A generous bound for "did not hang": the slow operations under test would take a minute.
PROMPT = 10.0


async def where() -> tuple[str, int]:
    """The thread and the event loop a coroutine runs on."""
    await anyio.lowlevel.checkpoint()
    return threading.current_thread().name, id(asyncio.get_running_loop())


async def add(a: int, b: int) -> int:
    await anyio.lowlevel.checkpoint()
    return a + b


def loop_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == LOOP_THREAD]


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_importing_starts_no_thread_and_no_loop() -> None:
    proc = run_python(
        """
        import threading
        import vectorshift._sync._iter
        import vectorshift._sync._loop as loop
        print([t.name for t in threading.enumerate()], loop._current)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['MainThread'] None"


def test_run_sync_runs_the_coroutine_on_the_private_loop_thread() -> None:
    thread_name, _ = run_sync(where())
    assert thread_name == LOOP_THREAD
    assert run_sync(add(2, 3)) == 5
    assert len(loop_threads()) == 1


def test_sixteen_threads_call_concurrently_and_share_one_loop() -> None:
    results: dict[int, list[int]] = {}
    loops: set[int] = set()
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            results[n] = [run_sync(add(n, i)) for i in range(20)]
            loops.add(run_sync(where())[1])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PROMPT)
    assert not errors
    assert results == {n: [n + i for i in range(20)] for n in range(16)}
    assert len(loops) == 1
    assert len(loop_threads()) == 1
    assert private_loop_tasks() == 0


def test_works_inside_a_running_asyncio_loop_without_nesting() -> None:
    async def main() -> tuple[tuple[str, int], int]:
        return run_sync(where()), id(asyncio.get_running_loop())

    (thread_name, private_loop), caller_loop = asyncio.run(main())
    assert thread_name == LOOP_THREAD
    assert private_loop != caller_loop


def test_works_inside_trio_run() -> None:
    async def main() -> tuple[str, int]:
        await trio.lowlevel.checkpoint()
        return run_sync(where())

    thread_name, _ = trio.run(main)
    assert thread_name == LOOP_THREAD


def test_the_private_loop_does_not_inherit_the_callers_async_library() -> None:
    # The task on the private loop starts from a copy of the caller's context; sniffio keeps
    # the running library in a context variable, so a call from a trio task must not make the
    # asyncio loop believe it runs trio (httpx then asks trio for its token and fails).
    import sniffio

    async def library() -> str:
        return sniffio.current_async_library()

    async def main() -> str:
        await anyio.lowlevel.checkpoint()
        return run_sync(library())

    # anyio's trio backend (which pytest's anyio plugin uses) sets sniffio's variable.
    assert anyio.run(main, backend="trio") == "asyncio"
    assert trio.run(main) == "asyncio"


def test_call_from_the_private_loop_thread_raises_instead_of_deadlocking() -> None:
    async def nested() -> tuple[str, str]:
        inner = add(1, 2)
        try:
            run_sync(inner)
        except RuntimeError as exc:
            return str(exc), inspect.getcoroutinestate(inner)
        return "no error", inspect.getcoroutinestate(inner)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        message, state = run_sync(nested())
        gc.collect()
    assert "sync API was called from inside its own event loop" in message
    assert "await" in message
    assert state == inspect.CORO_CLOSED
    assert not [w for w in caught if "never awaited" in str(w.message)]


def test_a_non_coroutine_is_rejected() -> None:
    with pytest.raises(TypeError, match="coroutine"):
        run_sync(add)  # type: ignore[arg-type]


class Boom(Exception):
    pass


async def explode() -> None:
    await anyio.lowlevel.checkpoint()
    raise Boom("from the loop")


def test_exceptions_keep_their_type_and_the_callers_frame() -> None:
    with pytest.raises(Boom, match="from the loop") as info:
        run_sync(explode())
    frames = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert "test_exceptions_keep_their_type_and_the_callers_frame" in frames
    assert "explode" in frames


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")
@pytest.mark.usefixtures("default_sigint")
def test_ctrl_c_during_iteration_closes_the_async_generator() -> None:
    started = threading.Event()
    cleaned = threading.Event()

    async def slow_numbers() -> AsyncIterator[int]:
        try:
            yield 1
            started.set()
            await anyio.sleep(60)
            yield 2
        finally:
            cleaned.set()

    interrupter = interrupt_main_when(started)
    seen = []
    with pytest.raises(KeyboardInterrupt):
        for item in iterate_sync(slow_numbers()):
            seen.append(item)
    interrupter.join()
    assert seen == [1]
    assert cleaned.is_set()
    assert private_loop_tasks() == 0


async def numbers(log: list[str], count: int = 100) -> AsyncIterator[int]:
    try:
        for i in range(count):
            await anyio.lowlevel.checkpoint()
            yield i
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.lowlevel.checkpoint()
        log.append("closed")


def test_iterate_sync_yields_every_item_and_closes_when_exhausted() -> None:
    log: list[str] = []
    assert list(iterate_sync(numbers(log, 5))) == [0, 1, 2, 3, 4]
    assert log == ["closed"]
    assert private_loop_tasks() == 0


def test_breaking_out_of_iterate_sync_closes_the_async_generator() -> None:
    log: list[str] = []
    for i in iterate_sync(numbers(log)):
        if i == 2:
            break
    assert log == ["closed"]
    assert private_loop_tasks() == 0


def test_an_error_inside_the_async_generator_reaches_the_loop_and_closes_it() -> None:
    log: list[str] = []

    async def failing() -> AsyncIterator[int]:
        async for i in numbers(log, 3):
            yield i
        raise Boom("mid-stream")

    seen = []
    with pytest.raises(Boom, match="mid-stream"):
        for i in iterate_sync(failing()):
            seen.append(i)
    assert seen == [0, 1, 2]
    assert log == ["closed"]
    assert private_loop_tasks() == 0


def test_a_cancel_scope_held_across_yields_works_because_one_task_drives_the_generator() -> None:
    async def scoped() -> AsyncIterator[int]:
        with anyio.fail_after(30):
            for i in range(3):
                await anyio.lowlevel.checkpoint()
                yield i

    assert list(iterate_sync(scoped())) == [0, 1, 2]
    for i in iterate_sync(scoped()):
        if i == 1:
            break
    assert private_loop_tasks() == 0


class Numbers:
    """A minimal SDK-style async stream: async iterator plus async context manager."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count = count
        self.fail_at = fail_at
        self.position = 0
        self.log: list[str] = []
        self.closed = threading.Event()

    async def __aenter__(self) -> Numbers:
        self.log.append("enter")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.log.append(f"exit:{exc_type.__name__ if exc_type else None}")
        await self.aclose()

    def __aiter__(self) -> Numbers:
        return self

    async def __anext__(self) -> int:
        await anyio.lowlevel.checkpoint()
        if self.position == self.fail_at:
            raise Boom("stream broke")
        if self.position >= self.count:
            raise StopAsyncIteration
        self.position += 1
        return self.position

    async def aclose(self) -> None:
        if not self.closed.is_set():
            await anyio.lowlevel.checkpoint()
            self.log.append("close")
            self.closed.set()


def test_sync_stream_with_block_enters_iterates_and_closes() -> None:
    source = Numbers(3)
    with SyncStream(source) as stream:
        assert list(stream) == [1, 2, 3]
        assert not stream.closed  # the with block owns the stream
    assert source.log == ["enter", "exit:None", "close"]
    assert stream.closed
    assert private_loop_tasks() == 0


def test_breaking_out_inside_a_with_block_closes_the_stream_when_the_block_ends() -> None:
    source = Numbers(100)
    with SyncStream(source) as stream:
        for item in stream:
            if item == 2:
                break
        assert source.log == ["enter"]
    assert source.log == ["enter", "exit:None", "close"]
    assert private_loop_tasks() == 0


def test_a_sync_stream_can_be_entered_only_once() -> None:
    source = Numbers(1)
    stream = SyncStream(source)
    with stream:
        pass
    with pytest.raises(RuntimeError, match="entered once"), stream:
        pass


def test_sync_stream_passes_the_exception_to_aexit() -> None:
    source = Numbers(3)
    with pytest.raises(Boom), SyncStream(source) as stream:
        next(stream)
        raise Boom("in the with body")
    assert source.log == ["enter", "exit:Boom", "close"]
    assert private_loop_tasks() == 0


def test_breaking_out_of_a_sync_stream_closes_it() -> None:
    source = Numbers(100)
    for item in SyncStream(source):
        if item == 2:
            break
    assert source.log == ["close"]
    assert private_loop_tasks() == 0


def test_a_failing_sync_stream_is_closed_and_raises_the_original_error() -> None:
    source = Numbers(10, fail_at=2)
    stream = SyncStream(source)
    with pytest.raises(Boom, match="stream broke"):
        for _ in stream:
            pass
    assert source.log == ["close"]
    assert stream.closed
    assert list(stream) == []
    assert private_loop_tasks() == 0


def test_sync_stream_close_is_idempotent_and_next_after_close_stops() -> None:
    source = Numbers(5)
    stream = SyncStream(source)
    assert next(stream) == 1
    stream.close()
    stream.close()
    assert source.log == ["close"]
    with pytest.raises(StopIteration):
        next(stream)
    assert private_loop_tasks() == 0


def test_an_abandoned_started_sync_stream_is_closed_when_collected() -> None:
    source = Numbers(5)
    stream = SyncStream(source)
    assert next(stream) == 1
    del stream
    gc.collect()
    assert source.closed.wait(PROMPT)
    assert source.log == ["close"]
