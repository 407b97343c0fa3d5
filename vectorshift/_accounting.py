"""Counting the connections in use: responses whose body is not closed yet.

:class:`Accounting` wraps the transport of each of :mod:`vectorshift._http`'s connection pools
(its httpx-side helper, as :mod:`vectorshift._lanes` is) and counts the responses it has
returned whose body is still open. A connection is busy exactly while its response body is
open, so tests and diagnostics learn how many connections a client holds
(``HttpTransport.open_responses``) without reading httpx's private pool state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

__all__ = ["Accounting", "CountedStream"]


class CountedStream(httpx.AsyncByteStream):
    """A response body that tells its :class:`Accounting` when it is closed."""

    def __init__(self, stream: httpx.AsyncByteStream, accounting: Accounting) -> None:
        self._stream = stream
        self._accounting = accounting
        self._open = True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        if self._open:
            self._open = False
            self._accounting.open_responses -= 1
        await self._stream.aclose()


class Accounting(httpx.AsyncBaseTransport):
    """Wraps the real transport and counts the responses whose body is not closed yet.

    A connection is busy exactly while its response body is open, so the count is the number
    of connections in use, known without reading the connection pool's private state.
    """

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self._transport = transport
        self.open_responses = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._transport.handle_async_request(request)
        if not isinstance(response.stream, httpx.AsyncByteStream):
            return response
        self.open_responses += 1
        response.stream = CountedStream(response.stream, self)
        return response

    async def aclose(self) -> None:
        await self._transport.aclose()
