"""Raw TCP servers on loopback that misbehave as an HTTP server never should.

Each runs an asyncio loop in a thread of its own, so tests on any event loop (trio included)
can point a client at it. What a real ``vectorshift.local`` server cannot be made to do (accept
and never answer, send headers and go silent) is done here with raw sockets.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from types import TracebackType

from typing_extensions import Self

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

SSE_HEADERS = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
    b"Transfer-Encoding: chunked\r\nX-Request-Id: raw-1\r\n\r\n"
)


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """Read one request's head and body (by ``Content-Length``); its head."""
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            await reader.readexactly(int(value.strip()))
    return head


async def never_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept the connection, read nothing, answer nothing."""
    await asyncio.sleep(3600)


async def headers_then_silence(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Answer ``200 text/event-stream`` headers, then send nothing more."""
    await read_request(reader)
    writer.write(SSE_HEADERS)
    await writer.drain()
    await asyncio.sleep(3600)


def keep_alives_forever(every: float) -> Handler:
    """Answer event-stream headers, then a ``: keep-alive`` comment every ``every`` seconds."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(SSE_HEADERS)
        comment = b": keep-alive\n\n"
        while True:
            writer.write(b"%x\r\n%s\r\n" % (len(comment), comment))
            await writer.drain()
            await asyncio.sleep(every)

    return handler


class RawServer:
    """``with RawServer(handler) as server:`` serves ``handler`` on ``server.base_url``.

    Attributes:
        connections: How many connections were accepted.
    """

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="raw-server", daemon=True)
        self._stop: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0
        self.connections = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._handler(reader, writer)
        except (asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _run(self) -> None:
        self._loop.run_until_complete(self._main())
        self._loop.close()

    def __enter__(self) -> Self:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the raw server did not start")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
