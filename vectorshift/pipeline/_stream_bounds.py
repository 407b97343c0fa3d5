"""Bounds on one streamed connection: the wait for its response, and silence in its body.

Every streamed request goes through :func:`bounded_open`: the streaming start
(:mod:`vectorshift.pipeline._keyed_start`) and the reconnections and event streams of
:mod:`vectorshift.pipeline._stream`. Its response must begin within the client's per-request
read timeout, and its body may then be silent for at most ``client.stream_idle_timeout``
seconds between two chunks (``Client(stream_idle_timeout=)``, 120 s unless set; above any
server's keep-alive interval). Either bound passing raises
:class:`~vectorshift.errors.ApiTimeoutError`, a lost connection, which a typed run stream
resumes.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import TYPE_CHECKING, TypeVar

import anyio

from vectorshift.errors import ApiTimeoutError

if TYPE_CHECKING:
    from vectorshift._client import Client

__all__ = ["bounded_open", "stream_idle_timeout"]

H = TypeVar("H")


def stream_idle_timeout(client: Client) -> float | None:
    """How long ``client``'s streams may be silent (``Client(stream_idle_timeout=)``)."""
    return client.stream_idle_timeout


def _response_timeout(client: Client) -> float:
    """The client's per-request read timeout, which also bounds the wait for a stream's headers.

    It bounds the whole open, the HTTP layer's retries of it included, since those happen
    inside it.
    """
    read: float | None = client.http.timeout.read
    return math.inf if read is None else read


async def _idle_bounded(
    chunks: AsyncIterator[bytes], idle: float | None, method: str, path: str
) -> AsyncIterator[bytes]:
    """``chunks``, raising :class:`ApiTimeoutError` when one takes longer than ``idle``."""
    bound = math.inf if idle is None else idle
    while True:
        with anyio.move_on_after(bound) as scope:
            try:
                chunk = await chunks.__anext__()
            except StopAsyncIteration:
                return
        if scope.cancelled_caught:
            raise ApiTimeoutError(
                f"the stream sent nothing for {idle}s (the stream idle timeout)",
                method=method,
                url=path,
            )
        yield chunk


async def bounded_open(
    client: Client,
    stack: AsyncExitStack,
    response: AbstractAsyncContextManager[tuple[H, AsyncIterator[bytes]]],
    method: str,
    path: str,
) -> tuple[H, AsyncIterator[bytes]]:
    """Enter ``response`` (a ``client.http.stream(...)``) on ``stack``, within both bounds.

    Returns:
        The response's headers and its body's chunks, each chunk due within the idle bound.

    Raises:
        ApiTimeoutError: the response did not begin within the client's read timeout.
    """
    with anyio.move_on_after(_response_timeout(client)) as scope:
        headers, chunks = await stack.enter_async_context(response)
    if scope.cancelled_caught:
        raise ApiTimeoutError(
            f"the stream's response did not begin within {_response_timeout(client)}s "
            "(the client's timeout)",
            method=method,
            url=path,
        )
    return headers, _idle_bounded(chunks, stream_idle_timeout(client), method, path)
