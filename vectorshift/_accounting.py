"""Knowing when a response body is closed: the one wrapper of response streams, and the count.

Two helpers on httpx's side of :mod:`vectorshift._http` need to learn that a response's body
was closed: :mod:`vectorshift._lanes` frees the lane slot the request took, and
:class:`Accounting` counts the responses whose body is still open. Both use
:func:`on_close`, which wraps a body once, in a :class:`ClosingStream`, and adds every further
callback to that same wrapper: one wrapper per response however many helpers watch it, so a
chunk passes through no extra layer (the wrapper hands out the inner body's own iterator).

A connection is busy exactly while its response body is open, so the count is the number of
connections a client holds (``HttpTransport.open_responses``), known without reading httpx's
private pool state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx

__all__ = ["Accounting", "ClosingStream", "on_close"]


class ClosingStream(httpx.AsyncByteStream):
    """A response body that calls its callbacks, once, when it is closed."""

    def __init__(self, stream: httpx.AsyncByteStream, callback: Callable[[], None]) -> None:
        self._stream = stream
        self._callbacks = [callback]

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._stream.__aiter__()

    async def aclose(self) -> None:
        callbacks, self._callbacks = self._callbacks, []
        try:
            for callback in callbacks:
                callback()
        finally:
            await self._stream.aclose()


def on_close(response: httpx.Response, callback: Callable[[], None]) -> None:
    """Have ``callback`` called once when ``response``'s body is closed.

    The body is wrapped the first time only; a body that is not an async stream (never the case
    for an async transport's answer) is left as it is and ``callback`` is not kept.
    """
    stream = response.stream
    if isinstance(stream, ClosingStream):
        stream._callbacks.append(callback)
    elif isinstance(stream, httpx.AsyncByteStream):
        response.stream = ClosingStream(stream, callback)


class Accounting(httpx.AsyncBaseTransport):
    """Wraps the real transport and counts the responses whose body is not closed yet."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self._transport = transport
        self.open_responses = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._transport.handle_async_request(request)
        if isinstance(response.stream, httpx.AsyncByteStream):
            self.open_responses += 1
            on_close(response, self._closed)
        return response

    def _closed(self) -> None:
        self.open_responses -= 1

    async def aclose(self) -> None:
        await self._transport.aclose()
