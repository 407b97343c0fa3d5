"""One concurrency bound for the whole batch, however many workers share it: leases in Redis.

A worker holds a slot from before it starts a run until it has seen the run end, so the runs in
progress on the platform never outnumber the batch's limit, whatever the number of workers or
machines. A slot is a *lease*: a member of a sorted set scored by when it expires. The holder
renews it while it waits; a worker that is SIGKILLed stops renewing, and its slots come free
when their leases run out. (A plain counter, as a queue library's concurrency limiter keeps,
would keep the slots of a killed worker taken for as long as the batch is busy.)

Leases are named after the input, so two deliveries of one input (a message given again after
a crash) share one slot, as they share one run. Expiry is judged by the Redis server's clock,
so the machines' clocks need not agree.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis

log = logging.getLogger("batch.slots")

# KEYS[1]: the sorted set of leases. ARGV: lease name, limit, lease length in ms.
# Takes or renews the lease; answers 1 when the caller holds it, 0 when the batch is full.
_TAKE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
local held = redis.call('ZSCORE', KEYS[1], ARGV[1])
if held or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
    redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[3]), ARGV[1])
    return 1
end
return 0
"""


class Slots:
    """The batch's slots: ``async with slots.hold(name):`` around start-and-wait.

    Args:
        redis: The Redis client.
        key: The sorted set holding the leases.
        limit_key: The string holding the limit (written by the producer), read on each take.
        lease_ms: How long a lease lasts without renewal.
    """

    def __init__(self, redis: aioredis.Redis, key: str, limit_key: str, lease_ms: int) -> None:
        self._redis = redis
        self._key = key
        self._limit_key = limit_key
        self._lease_ms = lease_ms
        self._take = redis.register_script(_TAKE)

    async def _try(self, name: str) -> bool:
        limit = int(await self._redis.get(self._limit_key) or 1)
        return bool(await self._take(keys=[self._key], args=[name, limit, self._lease_ms]))

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        """Wait for a slot, keep its lease renewed inside the block, free it on the way out."""
        waits = 0
        while not await self._try(name):
            waits += 1
            await asyncio.sleep(random.uniform(0.05, min(0.05 * 2**waits, 1.0)))
        if waits:
            log.debug("got a slot after %d wait(s)", waits)
        renewal = asyncio.create_task(self._renew(name))
        try:
            yield
        finally:
            renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewal
            await self._redis.zrem(self._key, name)

    async def _renew(self, name: str) -> None:
        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            if not await self._try(name):
                log.warning("the slot's lease ran out and the batch is full: over the limit")
