"""A scripted HTTP server on loopback, for answers no real server gives (hostile or broken ones).

It runs on the test's own event loop (anyio: asyncio or trio), reads each request's head and
body, and answers with whatever raw bytes the script returns for it, then closes the connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
import anyio.abc

from vectorshift import Client, RetryPolicy


@dataclass(frozen=True)
class Request:
    """One request received: its request line and its headers (names in lower case)."""

    line: str
    headers: dict[str, str]


Script = Callable[[int, Request], bytes]
"""Answers request number ``n`` (from 0) with raw bytes; ``b""`` closes without an answer."""


@dataclass
class RawServer:
    """The running server: where it listens and what it received."""

    base_url: str
    requests: list[Request]

    def client(self, policy: RetryPolicy) -> Client:
        return Client(api_key="k", base_url=self.base_url, retry=policy)


def response(
    status: str, body: bytes = b"", headers: Iterable[str] = (), *, length: bool = True
) -> bytes:
    """``HTTP/1.1 <status>`` with ``headers`` and ``body``; ends with the connection closed."""
    lines = [f"HTTP/1.1 {status}", *headers, "Connection: close"]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def event_stream(body: str, headers: Iterable[str] = ()) -> bytes:
    """A 200 event stream holding ``body``, cut (the connection closed) after it."""
    return response(
        "200 OK", body.encode(), ["Content-Type: text/event-stream", *headers], length=False
    )


async def _read_request(stream: anyio.abc.SocketStream) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            data += await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            return None
    head, _, body = data.partition(b"\r\n\r\n")
    line, *fields = head.decode("latin-1").split("\r\n")
    headers = {}
    for field in fields:
        name, _, value = field.partition(":")
        headers[name.strip().lower()] = value.strip()
    # Read the body too: closing a socket with unread input resets the connection.
    remaining = int(headers.get("content-length", "0")) - len(body)
    while remaining > 0:
        try:
            remaining -= len(await stream.receive())
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            break
    return Request(line, headers)


@asynccontextmanager
async def raw_server(script: Script) -> AsyncIterator[RawServer]:
    """Serve ``script`` on 127.0.0.1 until the block exits."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    server = RawServer(f"http://127.0.0.1:{port}/v1", [])

    async def answer(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            request = await _read_request(stream)
            if request is None:
                return
            server.requests.append(request)
            reply = script(len(server.requests) - 1, request)
            if reply:
                await stream.send(reply)

    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, answer)
        try:
            yield server
        finally:
            tg.cancel_scope.cancel()
