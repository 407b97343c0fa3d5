"""A raw HTTP server on loopback that answers each request with bytes a test writes.

Some answers no real ``vectorshift.local`` gives: HTML from a proxy, ``{}``, a redirect loop, a
gzip bomb. :class:`RawServer` produces them over a real socket, so the SDK meets them through
its whole stack (connection pool, decoding, retries) as a user behind a broken proxy would.

The server runs ``asyncio.start_server`` on its own event loop in a thread, so the tests that
use it run on asyncio and trio alike.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class RawRequest:
    """One request as it arrived: method, target, headers (lower-case names) and body."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


Answer = Callable[[RawRequest], bytes]
"""Turns a request into the exact bytes written back; the connection is closed after them."""


def http_response(
    status: int,
    body: bytes | str = b"",
    *,
    content_type: str | None = "application/json",
    headers: dict[str, str] | None = None,
    reason: str = "Whatever",
) -> bytes:
    """The bytes of an HTTP/1.1 response with a ``Content-Length`` and ``Connection: close``."""
    payload = body.encode() if isinstance(body, str) else body
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(payload)}", "Connection: close"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


@dataclass
class RawServer:
    """Answers every request on ``127.0.0.1`` with ``answer(request)``; see the module."""

    answer: Answer
    requests: list[RawRequest] = field(default_factory=list)
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The API root a client points at: ``http://127.0.0.1:<port>/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        """Listen, and serve on a thread of its own until :meth:`stop`."""
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        async def serve() -> None:
            server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            async with server:
                await server.serve_forever()

        def run() -> None:
            assert self._loop is not None
            task = self._loop.create_task(serve())
            try:
                self._loop.run_until_complete(task)
            except asyncio.CancelledError:
                pass
            finally:
                self._loop.close()

        self._thread = threading.Thread(target=run, name="raw-server", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the raw server did not start")

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        if self._loop is None or self._thread is None:
            return
        loop = self._loop

        def cancel_all() -> None:
            for task in asyncio.all_tasks(loop):
                task.cancel()

        loop.call_soon_threadsafe(cancel_all)
        self._thread.join(10)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, target, _ = request_line.split(" ", 2)
            headers = {}
            for line in header_lines:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            request = RawRequest(method, target, headers, body)
            self.requests.append(request)
            writer.write(self.answer(request))
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@contextmanager
def raw_server(answer: Answer) -> Iterator[RawServer]:
    """A started :class:`RawServer`, stopped on exit."""
    server = RawServer(answer)
    server.start()
    try:
        yield server
    finally:
        server.stop()
