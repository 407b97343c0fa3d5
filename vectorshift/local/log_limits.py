"""Repeated warnings and errors of the local server, logged once per interval with a count.

Some failures repeat as fast as the loop spins: out of file descriptors, every ``accept()``
fails and asyncio logs a traceback each time (megabytes a second). The first record of a kind
is logged; those like it within :data:`INTERVAL` seconds are counted, not written, and the
first one after the interval carries the count (``... (and 5120 more like it in 10 s, not
shown)``). A kind is the thread, the logger, the level and the message; only the threads
of running servers' event loops are watched (:meth:`RepeatFilter.watch`), so what a server says
once when it starts, or what two servers of one process say, is never held back.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["INTERVAL", "RepeatFilter", "install", "loop_exception_handler", "watched"]

INTERVAL = 10.0
_MAX_KINDS = 1024
_KEY_CHARS = 200


class RepeatFilter(logging.Filter):
    """Lets through the first warning or error of a kind per ``interval`` seconds."""

    def __init__(
        self, interval: float = INTERVAL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.interval, self.clock = interval, clock
        self._lock = threading.Lock()
        self._kinds: dict[tuple[int | None, str, int, str], list[float]] = {}
        self._threads: set[int] = set()  # each kind: [window start, records held back]

    def watch(self, thread_id: int) -> None:
        """Limit the records logged from this thread (a server's event loop) from now on."""
        with self._lock:
            self._threads.add(thread_id)

    def unwatch(self, thread_id: int) -> None:
        with self._lock:
            self._threads.discard(thread_id)
            for key in [key for key in self._kinds if key[0] == thread_id]:
                del self._kinds[key]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or record.thread not in self._threads:
            return True
        key = (record.thread, record.name, record.levelno, record.getMessage()[:_KEY_CHARS])
        now = self.clock()
        with self._lock:
            seen = self._kinds.get(key)
            if seen is not None and now - seen[0] < self.interval:
                seen[1] += 1
                return False
            if len(self._kinds) >= _MAX_KINDS:
                self._kinds.clear()
            self._kinds[key] = [now, 0]
        if seen is not None and seen[1]:
            record.msg = (
                f"{record.getMessage()} (and {int(seen[1])} more like it in "
                f"{now - seen[0]:.0f} s, not shown)"
            )
            record.args = None
        return True


_FILTER = RepeatFilter()


def install(logger: logging.Logger) -> None:
    """Put the shared :class:`RepeatFilter` on ``logger`` (once)."""
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)


@contextmanager
def watched() -> Iterator[None]:
    """``with watched():`` the current thread's repeated records are limited."""
    thread_id = threading.get_ident()
    _FILTER.watch(thread_id)
    try:
        yield
    finally:
        _FILTER.unwatch(thread_id)


def loop_exception_handler(logger: logging.Logger) -> Callable[..., None]:
    """An event loop exception handler logging on ``logger`` (so its repeats are limited)."""

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exception = context.get("exception")
        message = str(context.get("message") or "unhandled error in the event loop")
        if isinstance(exception, BaseException):
            message = f"{message}: {type(exception).__name__}: {exception}"
        logger.error(
            "event loop: %s",
            message,
            exc_info=(type(exception), exception, exception.__traceback__)
            if isinstance(exception, BaseException)
            else None,
        )

    return handle
