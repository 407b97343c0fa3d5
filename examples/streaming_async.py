"""Token streaming with asyncio: typed chunks from ``astream()``, printed as they arrive.

The pipeline is fetched or built with the sync API, then streamed from ``asyncio.run``: one
client serves both, since it keeps a connection pool per event loop.

    python examples/streaming_async.py
"""

from __future__ import annotations

import asyncio

from _platform import platform
from streaming import story_pipeline

from vectorshift import Pipeline


async def tell(pipeline: Pipeline) -> None:
    async with pipeline.astream({"prompt": "A story about a river."}) as chunks:
        async for chunk in chunks:
            if chunk.type == "stream" and chunk.output_name == "story":
                print(chunk.output_value, end="", flush=True)
            elif chunk.type == "result":
                print(f"\n[run {chunk.run_id}: {chunk.status}]")


def main() -> None:
    with platform() as (client, local):
        asyncio.run(tell(story_pipeline(client, local)))


if __name__ == "__main__":
    main()
