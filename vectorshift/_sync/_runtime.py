"""The one registry of the event loops the sync API owns: what happens to them at fork and exit.

Two kinds of loop run sync calls (:mod:`vectorshift._sync._call` says which runs which call):
a thread's own loop, run by that thread for its sync calls (``_call._ThreadLoop``), and the
private loop, run by one daemon thread for threads that already run a loop and for streams
(``_loop._PrivateLoop``). Both are :class:`OwnedLoop` objects and register here, so there is
one lock, one at-exit handler, one after-fork handler and one list of loops inherited over a
fork, and one rule for the context a call's task starts from (:func:`task_context`):

- **Exit**: the first loop registered registers :func:`_close_at_exit` with :mod:`atexit`. It
  stops the private loop (its tasks are cancelled and get :data:`EXIT_GRACE` to clean up) and
  closes the loops of the threads that have ended and of the exiting thread. Every loop closes
  the connection pools registered with :func:`close_with_loop` before it closes itself.
- **Fork**: in the child every loop of the parent is moved to ``_inherited``: its thread does
  not exist there, its sockets are shared with the parent, so it is never run nor closed (held,
  so that its finaliser does not warn about an unclosed loop). A loop remembers the process
  that made it (:attr:`OwnedLoop.pid`); the child's first sync call builds new loops, and with
  them new pools: no connection of the parent is used by the child.
- **Context**: a call's task starts from a copy of the caller's context, so context variables
  the caller set are seen by the coroutine, minus sniffio's, which would make an asyncio loop
  look like trio to httpx.

Why not anyio's ``BlockingPortal`` (``anyio.from_thread.start_blocking_portal``), checked with
anyio 4.16, trio 0.35 and Python 3.11 on a two-core machine:

- **Cost**: a portal always hands the call to its loop thread, and ``portal.call`` waits for two
  round trips to it (one to start the task, ``from_thread.run_sync``, one for its result); the
  private loop makes one, and a thread without a loop none. ``tools/bench.py --only portal``,
  three runs at a load average under 1: a trivial coroutine cost 17 us on a thread's own loop,
  59-60 us on the private loop, 69-74 us through an asyncio portal and 97-102 us through a trio
  one; a ``run_status()`` against the local server 1.07x a raw ``httpx.AsyncClient`` GET on the
  own loop, 1.22-1.24x on the private loop, 1.26-1.33x and 1.20-1.34x through the two portals.
  The common case, a thread without a loop, would lose its fast path.
- **Ctrl-C**: ``KeyboardInterrupt`` in the thread waiting in ``portal.call`` leaves the task
  running on the portal (a 3 s sleep ran to its end); here it cancels the call and waits for
  its cleanup.
- **Fork**: a child calling a portal made by its parent hangs (the portal's thread does not
  exist there): a portal would need this module's fork handling all the same.
- **Exit**: a portal left open at interpreter exit dies with its daemon thread and a pending
  call's ``finally`` never runs: it would need this module's at-exit handler all the same.
- **Backend**: the loops are asyncio's whatever the caller runs. A thread's own loop is kept
  between its calls (``run_until_complete``) so that its pool is reused; ``trio.run`` ends its
  run with the call, and a pool is tied to its run (its token).

What a portal would not change: it sees the caller's context variables and works from a thread
that runs a loop (inside ``asyncio.run``), as the private loop does.
"""

from __future__ import annotations

import abc
import asyncio
import atexit
import contextvars
import os
import threading
import weakref
from collections.abc import Coroutine
from typing import Any, Protocol

import sniffio

#: Seconds a call cancelled by Ctrl-C gets to run its cleanup before KeyboardInterrupt goes on.
CANCEL_GRACE = 5.0
#: Seconds what is left at interpreter exit (tasks, then pools) gets to clean up.
EXIT_GRACE = 1.0


class Closable(Protocol):
    """What :func:`close_with_loop` takes: a connection pool, closed with ``await aclose()``."""

    def aclose(self) -> Coroutine[Any, Any, object]: ...


class OwnedLoop(abc.ABC):
    """An event loop the SDK made, the process that made it, and the pools to close with it.

    Subclasses say when the loop may be closed (:meth:`closable`) and how (:meth:`close`).
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.pid = os.getpid()
        #: Held weakly: a pool nobody uses any more goes with its client, as it would anyway.
        self.closables: weakref.WeakSet[Closable] = weakref.WeakSet()

    @property
    def inherited(self) -> bool:
        """Whether this loop was made by another process (the parent, before ``os.fork``)."""
        return self.pid != os.getpid()

    @abc.abstractmethod
    def closable(self, exiting: bool) -> bool:
        """Whether :meth:`close` may run now; ``exiting`` at interpreter exit."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close the pools, then the loop; from a thread that does not run this loop."""

    async def close_pools(self) -> None:
        """Close the registered pools (on this loop), all at once, within :data:`EXIT_GRACE`."""
        closables = list(self.closables)
        self.closables.clear()
        if closables:
            closing = [asyncio.ensure_future(closable.aclose()) for closable in closables]
            _, late = await asyncio.wait(closing, timeout=EXIT_GRACE)
            for task in late:  # a pool that does not close in time is dropped all the same
                task.cancel()
            for task in closing:  # retrieved, so a failed close is not logged at exit
                if task.done() and not task.cancelled():
                    task.exception()


#: A re-entrant lock: registering happens while a loop module holds it to make its loop.
_lock = threading.RLock()
#: Every loop of this process not closed yet.
_open: list[OwnedLoop] = []
_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, OwnedLoop] = (
    weakref.WeakKeyDictionary()
)
#: Loops inherited from the parent over a fork: held, never run nor closed (module docstring).
_inherited: list[OwnedLoop] = []
_atexit_registered = False


def lock() -> threading.RLock:
    """The registry's lock, for a loop module that makes its loop under it (new after fork)."""
    return _lock


def register(owned: OwnedLoop) -> None:
    """Track ``owned`` until it is closed: at exit, or once :meth:`OwnedLoop.closable`."""
    global _atexit_registered
    with _lock:
        _open.append(owned)
        _by_loop[owned.loop] = owned
        if not _atexit_registered:
            atexit.register(_close_at_exit)
            _atexit_registered = True


def close_ended() -> None:
    """Close the loops whose owner has ended (a thread loop's thread); from any thread."""
    _close(exiting=False)


def _close(exiting: bool) -> None:
    with _lock:
        done = [owned for owned in _open if owned.closable(exiting)]
        for owned in done:
            _open.remove(owned)
    for owned in done:
        owned.close()


def _close_at_exit() -> None:
    _close(exiting=True)


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.RLock()  # another thread of the parent may have held it
    _inherited.extend(_open)
    _open.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def close_with_loop(closable: Closable) -> None:
    """Have ``closable.aclose()`` awaited before the running loop is closed, if the SDK's.

    The HTTP transport registers each connection pool it opens this way; on a loop of the
    caller's it does nothing (the caller closes what runs on it, e.g. with ``Client.aclose``).
    """
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        return
    owned = _by_loop.get(running)
    if owned is not None:
        owned.closables.add(closable)


def running_loop_here() -> bool:
    """Whether this thread runs an event loop: asyncio's, trio's, or any sniffio knows."""
    if asyncio._get_running_loop() is not None:
        return True
    try:
        sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        return False
    return True


def task_context() -> contextvars.Context:
    """The context a call's task starts from: the caller's, without its async library.

    Context variables set by the caller reach the coroutine, on either loop. One must not:
    sniffio's, which anyio's trio backend sets, would make an asyncio loop look like trio to
    httpx (which then asks trio for its token and fails).
    """
    context = contextvars.copy_context()
    context.run(sniffio.current_async_library_cvar.set, None)
    return context
