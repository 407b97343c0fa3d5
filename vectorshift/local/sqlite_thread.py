"""A thread that owns one SQLite connection and runs jobs on it, one at a time, in order.

Event loops never touch SQLite: an async caller hands a job to the thread and awaits its
result, so a slow statement (a ``BEGIN IMMEDIATE`` waiting for another process's write lock,
up to the busy timeout) delays only the callers of that thread. A job may be awaited from any
event loop, asyncio or trio, or waited for from any thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any, TypeVar

from vectorshift.local.sqlite_schema import migrate

__all__ = ["ConnectionThread", "connect", "fetch", "transaction"]

T = TypeVar("T")

_BUSY_TIMEOUT = 10.0

Job = Callable[[sqlite3.Connection], T]


def connect(path: str, *, writer: bool) -> sqlite3.Connection:
    """Open ``path`` for one thread: the writer sets WAL and migrates; the reader only reads."""
    db = sqlite3.connect(path, timeout=_BUSY_TIMEOUT, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT * 1000)}")
    if writer:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        migrate(db)
    else:
        db.execute("PRAGMA query_only=ON")
    return db


def transaction(job: Callable[[sqlite3.Connection], T]) -> Callable[[sqlite3.Connection], T]:
    """``job`` inside ``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back if it raises)."""

    def run(db: sqlite3.Connection) -> T:
        db.execute("BEGIN IMMEDIATE")
        try:
            result = job(db)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return result

    return run


def fetch(sql: str, params: Sequence[Any] = ()) -> Callable[[sqlite3.Connection], list[Any]]:
    """A job running one query and returning its rows."""
    return lambda db: db.execute(sql, params).fetchall()


async def _trio_wait(future: concurrent.futures.Future[T]) -> T:
    import trio

    done = trio.Event()
    token = trio.lowlevel.current_trio_token()

    def wake(_: object) -> None:
        with suppress(trio.RunFinishedError):  # the caller's loop has ended: nobody waits
            token.run_sync_soon(done.set)

    future.add_done_callback(wake)
    try:
        await done.wait()
    except BaseException:
        future.cancel()
        raise
    return future.result()


class ConnectionThread:
    """One daemon thread, one connection, a FIFO of jobs.

    Args:
        name: The thread's name.
        connect: Opens the connection; runs on the thread, and its error is raised here.
    """

    def __init__(self, name: str, connect: Callable[[], sqlite3.Connection]) -> None:
        self._jobs: queue.SimpleQueue[
            tuple[Job[object], concurrent.futures.Future[object]] | None
        ] = queue.SimpleQueue()
        opened: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._main, args=(connect, opened), name=name, daemon=True
        )
        self._thread.start()
        opened.result()

    def _main(
        self, connect: Callable[[], sqlite3.Connection], opened: concurrent.futures.Future[None]
    ) -> None:
        try:
            db = connect()
        except BaseException as exc:
            opened.set_exception(exc)
            return
        opened.set_result(None)
        try:
            while (item := self._jobs.get()) is not None:
                job, future = item
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(job(db))
                    except BaseException as exc:
                        future.set_exception(exc)
        finally:
            db.close()

    def submit(self, job: Job[T]) -> concurrent.futures.Future[T]:
        """Queue ``job``; its future holds what it returns or raises."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._jobs.put((job, future))  # type: ignore[arg-type]
        return future

    def call(self, job: Job[T]) -> T:
        """Run ``job`` and wait for it (a blocking call: not for an event loop's thread)."""
        return self.submit(job).result()

    async def run(self, job: Job[T]) -> T:
        """Run ``job`` and await it without blocking the event loop (asyncio or trio).

        Cancelling the caller drops a job that has not started; one already running finishes
        (its transaction commits or rolls back as a whole) and its result is discarded.
        """
        future = self.submit(job)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return await _trio_wait(future)
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        """Run the queued jobs, close the connection and end the thread."""
        self._jobs.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join()
