"""Connection pools in lanes: many requests at once on one event loop, at the cost of few.

httpcore's connection pool looks at every one of its connections (and asks the OS whether each
idle one was closed) whenever a request is queued or a response is closed, so its cost per
request grows with the number of connections it holds: at 50 runs in flight, that scan was the
largest part of the client's CPU per run (``tools/bench.py``, fan-out). Several small pools cost
the same per request whatever the concurrency. A request goes to the lane with the fewest
requests in flight; a new lane opens only when every lane has :data:`LANE_LOAD` of them, so
sequential and lightly concurrent use keeps one pool, and keep-alive reuse, as before.
"""

from __future__ import annotations

import ssl

import httpx

from vectorshift._accounting import on_close

__all__ = ["LANE_LOAD", "MAX_LANES", "Lanes"]

#: Requests in flight on every lane before another lane is opened.
LANE_LOAD = 8
#: Lanes per event loop; past ``MAX_LANES * LANE_LOAD`` requests the lanes share the load.
MAX_LANES = 8
_MAX_CONNECTIONS = 200


class _Lane:
    def __init__(self, verify: ssl.SSLContext, lanes: int) -> None:
        # 200 connections in all, as the one pool of before; each lane keeps the connections
        # of the requests it takes before another lane opens.
        self.transport = httpx.AsyncHTTPTransport(
            verify=verify,
            limits=httpx.Limits(
                max_connections=_MAX_CONNECTIONS // lanes, max_keepalive_connections=LANE_LOAD
            ),
        )
        self.in_flight = 0

    def release(self) -> None:
        """The response of one of this lane's requests was closed: its slot is free."""
        self.in_flight -= 1


class Lanes(httpx.AsyncBaseTransport):
    """An ``httpx`` transport over up to :data:`MAX_LANES` connection pools of one event loop.

    Args:
        verify: The TLS context every lane uses (built once: loading CAs is slow).
    """

    def __init__(self, verify: ssl.SSLContext) -> None:
        self._verify = verify
        self._lanes: list[_Lane] = [_Lane(verify, MAX_LANES)]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        lane = min(self._lanes, key=lambda candidate: candidate.in_flight)
        if lane.in_flight >= LANE_LOAD and len(self._lanes) < MAX_LANES:
            lane = _Lane(self._verify, MAX_LANES)
            self._lanes.append(lane)
        lane.in_flight += 1
        try:
            response = await lane.transport.handle_async_request(request)
        except BaseException:
            lane.in_flight -= 1
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        on_close(response, lane.release)
        return response

    async def aclose(self) -> None:
        lanes, self._lanes = self._lanes, []
        for lane in lanes:
            await lane.transport.aclose()
