"""The private event loop: where sync streams, iterators and calls from inside a loop run.

One daemon thread per process runs one asyncio event loop. It is started by the first call that
needs it (importing this module starts nothing); at interpreter exit and after ``os.fork`` it is
handled like every loop the SDK owns (:mod:`vectorshift._sync._runtime`). :func:`run_sync` never
runs a loop in the calling thread: it hands the coroutine to the private loop and blocks until
the result is back. That is why sync methods also work where the calling thread is already
running a loop (inside ``asyncio.run``, a Jupyter cell, a trio program) without nesting loops.
A sync method called from a thread that runs no loop skips the hop and runs on that thread's
own loop instead (:mod:`vectorshift._sync._call`).
"""

from __future__ import annotations

import asyncio
import inspect
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

from vectorshift._sync import _runtime
from vectorshift._sync._runtime import CANCEL_GRACE, EXIT_GRACE, OwnedLoop, task_context

T = TypeVar("T")

#: Windows does not interrupt a blocked wait on Ctrl-C, so there the caller waits in slices.
_WAIT_SLICE = 0.1 if sys.platform == "win32" else None
_THREAD_NAME = "vectorshift-sync-loop"
_NESTED_MESSAGE = (
    "vectorshift: the sync API was called from inside its own event loop; "
    "use the async method (`await ...astart(...)`) there"
)


class _PrivateLoop(OwnedLoop):
    """An event loop and the daemon thread that runs it until :meth:`close` (at exit)."""

    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.Thread(target=self._serve, name=_THREAD_NAME, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        loop = self.loop
        try:
            loop.run_forever()
            loop.run_until_complete(self._drain())
        finally:
            loop.close()

    async def _drain(self) -> None:
        """Cancel every other task, close the pools, then finalise the async generators."""
        me = asyncio.current_task()
        tasks = {task for task in asyncio.all_tasks() if task is not me}
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=EXIT_GRACE)
        await self.close_pools()
        try:
            await asyncio.wait_for(asyncio.get_running_loop().shutdown_asyncgens(), EXIT_GRACE)
        except asyncio.TimeoutError:
            return

    def closable(self, exiting: bool) -> bool:
        """Only at exit: the private loop serves the process until then."""
        return exiting

    def close(self) -> None:
        """Stop the loop; its thread cancels what is left, closes the pools and the loop."""
        global _current
        if _current is self:
            _current = None
        try:
            self.loop.call_soon_threadsafe(self.loop.stop)
        except RuntimeError:  # already closed
            return
        self.thread.join(3 * EXIT_GRACE + 1)


_current: _PrivateLoop | None = None


def _live() -> _PrivateLoop | None:
    """The private loop of this process, if it was started (not the parent's, after a fork)."""
    current = _current
    if current is None or current.inherited:
        return None
    return current


def _private_loop() -> _PrivateLoop:
    global _current
    current = _live()
    if current is not None:
        return current
    with _runtime.lock():
        current = _live()
        if current is None:
            current = _current = _PrivateLoop()
            _runtime.register(current)
        return current


def in_private_loop_thread() -> bool:
    """Whether the calling thread is the one running the private loop."""
    current = _live()
    return current is not None and threading.current_thread() is current.thread


def call_soon_on_private_loop(callback: Callable[[], object]) -> bool:
    """Schedule ``callback`` on the private loop without waiting and without starting it.

    Safe from any thread, from ``__del__`` and while the interpreter shuts down.

    Returns:
        False when there is no running private loop to schedule on.
    """
    current = _live()
    if current is None:
        return False
    try:
        current.loop.call_soon_threadsafe(callback)
    except RuntimeError:  # the loop was closed at exit
        return False
    return True


class _Call(Generic[T]):
    """One coroutine handed to the private loop, and its outcome for the waiting thread."""

    def __init__(self, coro: Coroutine[Any, Any, T]) -> None:
        self._coro = coro
        self._task: asyncio.Task[None] | None = None
        self._cancelled_before_start = False
        self._result: tuple[T] | None = None
        self._error: BaseException | None = None
        self.done = threading.Event()

    def start(self) -> None:
        """Create the task (private loop thread)."""
        if self._cancelled_before_start:
            return
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        # Everything the coroutine raises is handed to the caller, KeyboardInterrupt and
        # CancelledError included, so nothing escapes into (and stops) the private loop.
        try:
            self._result = (await self._coro,)
        except BaseException as exc:
            self._error = exc
        finally:
            self.done.set()

    def cancel(self) -> None:
        """Cancel the task, or the start of it (private loop thread)."""
        if self._task is None:
            self._cancelled_before_start = True
            self._coro.close()
            self.done.set()
        else:
            self._task.cancel()

    def wait(self) -> None:
        """Block until the call is done; a signal (Ctrl-C) interrupts the wait."""
        if _WAIT_SLICE is None:
            self.done.wait()
            return
        while not self.done.wait(_WAIT_SLICE):
            pass

    def outcome(self) -> T:
        """The coroutine's result, or raise what it raised."""
        error, self._error = self._error, None
        if error is not None:
            raise error
        assert self._result is not None, "outcome() before the call finished"
        return self._result[0]


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the private event loop and block the calling thread until it finishes.

    Exceptions come back with their own type, and their traceback continues into the
    caller's frames. A Ctrl-C (or any other exception) raised in the waiting thread cancels the
    coroutine, waits up to :data:`CANCEL_GRACE` seconds for its cleanup (``finally`` blocks,
    connections given back) and is then re-raised. Any number of threads may call this at once.

    Args:
        coro: A coroutine object that has not been started.

    Returns:
        What ``coro`` returns.

    Raises:
        RuntimeError: When called from the private loop's own thread, where waiting would
            deadlock; ``coro`` is closed unstarted.

    Example:
        >>> run_sync(asyncio.sleep(0, result="done"))
        'done'
    """
    if not inspect.iscoroutine(coro):
        raise TypeError(f"run_sync() needs a coroutine object, got {type(coro).__name__}")
    if in_private_loop_thread():
        coro.close()
        raise RuntimeError(_NESTED_MESSAGE)
    call: _Call[T] = _Call(coro)
    try:
        loop = _private_loop().loop
    except BaseException:
        coro.close()
        raise
    try:
        # Submitting inside the try: Ctrl-C may land while the callback is being queued.
        loop.call_soon_threadsafe(call.start, context=task_context())
        call.wait()
    except BaseException:
        loop.call_soon_threadsafe(call.cancel)
        call.done.wait(CANCEL_GRACE)
        raise
    return call.outcome()


def private_loop_tasks() -> int:
    """Count the unfinished tasks on the private loop, for tests and diagnostics.

    Returns 0, without starting anything, when the private loop is not running.
    """
    current = _live()
    if current is None:
        return 0
    if in_private_loop_thread():
        return len(asyncio.all_tasks(current.loop))
    counted: list[int] = []
    done = threading.Event()

    def count() -> None:
        counted.append(len(asyncio.all_tasks(current.loop)))
        done.set()

    if not call_soon_on_private_loop(count):
        return 0
    done.wait()
    return counted[0]
