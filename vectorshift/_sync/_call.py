"""Where a sync method runs its coroutine: on a loop of the calling thread, or on the private loop.

The rule, measured in ``tools/bench``: handing a coroutine to the private loop's thread and
waiting for the answer costs two thread wake-ups per call, a large share of a fast request.
So a thread that runs no event loop runs the coroutine itself, on an event loop of its own:
created by the thread's first sync call, reused by its later ones (so its connection pool is
reused too), and closed, pools first, after the thread has ended. A thread that already runs
an event loop (a Jupyter cell, a sync call made from async code, under trio, the private
loop's own thread) cannot run a second one, so it hands the coroutine to the shared private
loop as before (:func:`~vectorshift._sync._loop.run_sync`).

Ctrl-C in the main thread cancels the running call, lets its cleanup run (bounded by
:data:`~vectorshift._sync._runtime.CANCEL_GRACE`) and then raises ``KeyboardInterrupt``, as it
does on the private loop. Exit, fork and the caller's context are handled alike for both
kinds of loop, by :mod:`vectorshift._sync._runtime`.
"""

from __future__ import annotations

import asyncio
import inspect
import signal
import socket
import threading
import weakref
from collections.abc import Coroutine
from typing import Any, TypeVar

from vectorshift._sync import _runtime
from vectorshift._sync._loop import run_sync
from vectorshift._sync._runtime import (
    CANCEL_GRACE,
    OwnedLoop,
    running_loop_here,
    task_context,
)

T = TypeVar("T")


class _ThreadLoop(OwnedLoop):
    """The event loop of one thread, closed once the thread has ended (or at exit)."""

    def __init__(self) -> None:
        super().__init__()
        self.thread = weakref.ref(threading.current_thread())
        self._wakeup: tuple[socket.socket, socket.socket] | None = None

    def signal_wakeup(self) -> int | None:
        """A file descriptor whose writes wake this loop: for ``signal.set_wakeup_fd``.

        Made on first use (only the main thread's loop needs one); None where it cannot be.
        """
        if self._wakeup is None:
            try:
                reader, writer = socket.socketpair()
                reader.setblocking(False)
                writer.setblocking(False)
                self.loop.add_reader(reader.fileno(), _drain_socket, reader)
            except (OSError, NotImplementedError):
                return None
            self._wakeup = (reader, writer)
        return self._wakeup[1].fileno()

    def ended(self) -> bool:
        """Whether the thread that owns this loop has ended."""
        thread = self.thread()
        return thread is None or not thread.is_alive()

    def closable(self, exiting: bool) -> bool:
        """Once the owner thread has ended; at exit also the exiting thread's own loop.

        Never from a thread that runs a loop: it could not run this one to close its pools.
        """
        if running_loop_here():
            return False
        return self.ended() or (exiting and self.thread() is threading.current_thread())

    def close(self) -> None:
        """Close the pools, finalise async generators and close the loop.

        Called from a thread that runs no loop, after the owner thread has ended (or by the
        owner itself at exit).
        """
        loop = self.loop
        if loop.is_closed():
            return
        try:
            loop.run_until_complete(self.close_pools())
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            if self._wakeup is not None:
                loop.remove_reader(self._wakeup[0].fileno())
                for end in self._wakeup:
                    end.close()
            loop.close()


def _drain_socket(reader: socket.socket) -> None:
    try:
        while reader.recv(4096):
            pass
    except OSError:  # nothing left to read
        return


_local = threading.local()


def _thread_loop() -> _ThreadLoop:
    mine: _ThreadLoop | None = getattr(_local, "loop", None)
    if mine is not None and not mine.inherited:
        return mine
    _runtime.close_ended()
    mine = _local.loop = _ThreadLoop()
    _runtime.register(mine)
    return mine


def call_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion for a blocking caller; what every generated sync method calls.

    In a thread that runs no event loop, the coroutine runs in the calling thread on that
    thread's own loop; in one that does, on the shared private loop (:func:`run_sync`). Both
    give the same outcome: the result, or the coroutine's exception with its own type, and
    Ctrl-C cancels the call, waits for its cleanup and raises ``KeyboardInterrupt``.

    Args:
        coro: A coroutine object that has not been started.

    Returns:
        What ``coro`` returns.

    Example:
        >>> call_sync(asyncio.sleep(0, result="done"))
        'done'
    """
    if not inspect.iscoroutine(coro) or running_loop_here():
        return run_sync(coro)
    try:
        owner = _thread_loop()
    except BaseException:
        coro.close()
        raise
    loop = owner.loop
    # Started in a copy of the caller's context, as on the private loop.
    task: asyncio.Task[T] = task_context().run(loop.create_task, coro)
    interrupt = _InterruptCancels(owner, task)
    with interrupt:
        try:
            return loop.run_until_complete(task)
        except BaseException:
            if not task.done():  # interrupted outside the handler: cancel, let it clean up
                task.cancel()
                if not interrupt.abandoned:
                    _finish(loop, task)
            raise


def _finish(loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
    """Run the loop until ``task`` is done or :data:`CANCEL_GRACE` has passed."""
    waiter = asyncio.wait({task}, timeout=CANCEL_GRACE)
    try:
        loop.run_until_complete(waiter)
    except BaseException:  # a second interrupt gives up on the cleanup
        return


class _InterruptCancels:
    """In the main thread, turn Ctrl-C during the call into a cancellation of its task.

    Python raises ``KeyboardInterrupt`` wherever the main thread happens to be, which may be
    inside the loop's own machinery; a loop signal handler instead cancels the task, so the
    coroutine's cleanup runs as it would under ``asyncio.run``, and ``KeyboardInterrupt`` is
    raised once it is done (or after :data:`CANCEL_GRACE`). A second Ctrl-C gives up on the
    cleanup. A handler or wakeup fd the program installed itself is left alone, and so is a
    platform without loop signal handlers: there Ctrl-C raises in the loop and the call is
    cancelled from ``call_sync``.
    """

    def __init__(self, owner: _ThreadLoop, task: asyncio.Task[Any]) -> None:
        self._owner = owner
        self._loop = owner.loop
        self._task = task
        self._previous_fd: int | None = None
        self._interrupted = False
        self.abandoned = False
        self._deadline: asyncio.TimerHandle | None = None

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return
        wakeup = self._owner.signal_wakeup()
        if wakeup is None:
            return
        previous_fd = signal.set_wakeup_fd(wakeup, warn_on_full_buffer=False)
        if previous_fd != -1:  # someone else's loop listens for signals: leave it be
            signal.set_wakeup_fd(previous_fd)
            return
        self._previous_fd = previous_fd
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, frame: object) -> None:
        # Python runs this between two bytecodes of the main thread, possibly in the middle
        # of the loop's own bookkeeping: act from the loop. The wakeup fd woke the loop.
        self._loop.call_soon_threadsafe(self._on_sigint)

    def _on_sigint(self) -> None:  # runs on the loop, as a callback
        if self._interrupted:
            self.abandoned = True
            self._loop.stop()
            return
        self._interrupted = True
        self._task.cancel()
        # A cleanup past the grace is abandoned: stopping the loop ends run_until_complete.
        self._deadline = self._loop.call_later(CANCEL_GRACE, self._give_up)

    def _give_up(self) -> None:
        self.abandoned = True
        self._loop.stop()

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        if self._previous_fd is not None:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.set_wakeup_fd(self._previous_fd)
        if self._interrupted:
            raise KeyboardInterrupt
