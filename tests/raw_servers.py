"""Raw HTTP servers on loopback, for what no real server does: answers a test writes byte by byte.

Some answers no real ``vectorshift.local`` gives: HTML from a proxy, ``{}``, a redirect loop, a
gzip bomb, an event stream that keeps replaying, a connection accepted and never answered,
headers followed by silence. :class:`RawServer` produces them over a real socket, so the SDK
meets them through its whole stack (connection pool, decoding, retries) as a user behind a
broken proxy would.

The server runs ``asyncio.start_server`` on an event loop in a thread of its own, so tests on
asyncio, trio and sync code alike can point a client at it. A :data:`Handler` owns each
connection; :func:`raw_server` answers each request with the bytes an :data:`Answer` writes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType

from typing_extensions import Self

from vectorshift import Client, RetryPolicy

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
"""Serves one connection."""

SSE_HEADERS = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
    b"Transfer-Encoding: chunked\r\nX-Request-Id: raw-1\r\n\r\n"
)


@dataclass(frozen=True)
class RawRequest:
    """One request as it arrived: its number (from 0), method, target, headers (lower-case
    names) and body."""

    n: int
    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def line(self) -> str:
        """The request line, e.g. ``GET /v1/pipeline/p HTTP/1.1``."""
        return f"{self.method} {self.target} HTTP/1.1"


Answer = Callable[[RawRequest], bytes]
"""Turns a request into the exact bytes written back (``b""``: none); the connection is closed
after them."""


async def read_request(reader: asyncio.StreamReader, n: int = 0) -> RawRequest:
    """Read one request's head and its body (by ``Content-Length``: closing a socket with
    unread input resets the connection)."""
    head = await reader.readuntil(b"\r\n\r\n")
    request_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return RawRequest(n, method, target, headers, body)


def http_response(
    status: int,
    body: bytes | str = b"",
    *,
    content_type: str | None = "application/json",
    headers: dict[str, str] | None = None,
    reason: str = "Whatever",
    length: bool = True,
) -> bytes:
    """The bytes of an HTTP/1.1 response with ``Connection: close`` and, unless ``length`` is
    false (the body then ends where the connection does), a ``Content-Length``."""
    payload = body.encode() if isinstance(body, str) else body
    lines = [f"HTTP/1.1 {status} {reason}", "Connection: close"]
    if length:
        lines.append(f"Content-Length: {len(payload)}")
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def event_stream(body: str, headers: dict[str, str] | None = None) -> bytes:
    """A 200 event stream holding ``body``, cut (the connection closed) after it."""
    return http_response(
        200, body, content_type="text/event-stream", headers=headers, reason="OK", length=False
    )


async def never_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept the connection, read nothing, answer nothing."""
    await asyncio.sleep(3600)


async def headers_then_silence(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
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
    """``with RawServer(handler) as server:`` serves ``handler`` on ``server.base_url``
    (``async with`` works too).

    Attributes:
        connections: How many connections were accepted.
        requests: The requests :func:`raw_server`'s answers were given.
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
        self.requests: list[RawRequest] = []

    @property
    def base_url(self) -> str:
        """The API root a client points at: ``http://127.0.0.1:<port>/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def client(self, policy: RetryPolicy) -> Client:
        """A client of this server with ``policy``."""
        return Client(api_key="k", base_url=self.base_url, retry=policy)

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

    async def __aenter__(self) -> Self:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)


def raw_server(answer: Answer) -> RawServer:
    """A server that reads each request, records it and writes ``answer(request)`` back."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await read_request(reader, len(server.requests))
        server.requests.append(request)
        reply = answer(request)
        if reply:
            writer.write(reply)
            await writer.drain()

    server = RawServer(handle)
    return server
