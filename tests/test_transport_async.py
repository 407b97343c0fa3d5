"""``Client(transport=)``: a user's httpx transport carries every request, and the SDK's
retries, hooks, streams and connection accounting still work above it."""

from __future__ import annotations

import httpx
import pytest
from support import echo_pipeline, lorem_pipeline, unique

from vectorshift import Client, RetryPolicy
from vectorshift.local import LocalServer
from vectorshift.local.faults import FaultInjector

pytestmark = pytest.mark.anyio


class Recording(httpx.AsyncBaseTransport):
    """A transport wrapping httpx's default one, as a proxy or a test double would."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.sent: list[str] = []
        self.closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(f"{request.method} {request.url.path}")
        request.headers["X-Via"] = "recording"
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        self.closed = True
        await self.inner.aclose()


def through(server: LocalServer, transport: Recording) -> Client:
    return Client(
        api_key=server.api_key,
        base_url=server.base_url,
        transport=transport,
        retry=RetryPolicy(max_retries=2, backoff_base=0.01, max_backoff=0.05),
    )


async def test_every_request_goes_through_the_given_transport(server: LocalServer) -> None:
    transport = Recording()
    client = through(server, transport)
    pipeline = echo_pipeline(unique("transport"))
    pipeline._client = client
    await pipeline.asave()
    handler = await pipeline.astart({"query": "hi"})
    final = await handler.aresult(timeout=30)
    assert final["result"] == {"answer": "hi"}
    assert transport.sent[0] == "POST /v1/pipeline"
    assert f"POST /v1/pipeline/{pipeline.id}/run" in transport.sent
    await client.aclose()
    assert transport.closed


async def test_retries_and_streams_work_above_it(
    server: LocalServer, faults: FaultInjector
) -> None:
    transport = Recording()
    client = through(server, transport)
    pipeline = lorem_pipeline(unique("transport-stream"), tokens=5, stream=True)
    pipeline.node("answer").inputs["output_type"] = "stream<string>"
    pipeline._client = client
    await pipeline.asave()
    faults.add(
        method="POST", path=f"/pipeline/{pipeline.id}/run$", status=429, retry_after=0, count=1
    )
    async with pipeline.astream({"query": "hi"}) as chunks:
        assert client.http.open_responses() == 1
        delivered = [chunk async for chunk in chunks]
    assert delivered[-1].type == "result"
    assert transport.sent.count(f"POST /v1/pipeline/{pipeline.id}/run") == 2
    assert client.http.open_responses() == 0
    await client.aclose()
