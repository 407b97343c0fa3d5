"""Connection pools in lanes: one lane for light use, more when many requests are in flight."""

from __future__ import annotations

import anyio
import pytest
from support import echo_pipeline, unique

from vectorshift import Client
from vectorshift._lanes import LANE_LOAD, MAX_LANES, Lanes

pytestmark = pytest.mark.anyio


def lanes_of(client: Client) -> Lanes:
    """The lanes under the running loop's pool (the client's own transport, not a test's)."""
    (accounting,) = [pool[1] for pool in client.http._pools.values()]
    lanes = accounting._transport
    assert isinstance(lanes, Lanes)
    return lanes


async def test_sequential_requests_share_one_lane_and_one_connection(client: Client) -> None:
    pipeline = echo_pipeline(unique("one-lane"))
    pipeline._client = client
    await pipeline.asave()
    for i in range(5):
        assert (await pipeline.arun({"query": f"q{i}"}))["outputs"]["answer"] == f"q{i}"
    lanes = lanes_of(client)
    assert len(lanes._lanes) == 1
    assert lanes._lanes[0].in_flight == 0


async def test_many_requests_at_once_open_more_lanes_and_free_them_all(client: Client) -> None:
    pipeline = echo_pipeline(unique("lanes"))
    pipeline._client = client
    await pipeline.asave()
    concurrent = LANE_LOAD * 3
    answers: dict[int, str] = {}

    async def one(i: int) -> None:
        handler = await pipeline.astart({"query": f"q{i}"})
        answers[i] = (await handler.aresult(timeout=60))["result"]["answer"]

    async with anyio.create_task_group() as tg:
        for i in range(concurrent):
            tg.start_soon(one, i)
    assert answers == {i: f"q{i}" for i in range(concurrent)}
    lanes = lanes_of(client)
    assert 1 < len(lanes._lanes) <= MAX_LANES
    assert [lane.in_flight for lane in lanes._lanes] == [0] * len(lanes._lanes)
    assert client.http.open_responses() == 0
    await client.aclose()
    assert lanes._lanes == []
