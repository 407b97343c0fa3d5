"""Decoding one stream frame into a ``StreamChunk``, against ``json.loads`` of the same text.

The frames are the local platform's: a token of a ``stream<string>`` output, numbered, with
its run id, and the run's ``result`` frame. The SSE decoder's work (bytes to frames) is not
counted: the figure is what a frame costs once decoded (its JSON read, its fields checked).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable

from vectorshift._schema.frames import chunk_of
from vectorshift._sse import SSEDecoder, SSEFrame

BEFORE_US = 2.82
"""A frame's cost before the frames were declared in pydantic (hand-written checks into a
dataclass), measured on the bench machine with ``json.loads`` at 1.18 us in the same run."""


def frames(count: int) -> list[SSEFrame]:
    """``count`` token frames and a result frame, as the local platform writes them."""
    run_id = "9f" * 16
    blocks = [
        f"id: {n}\ndata: "
        + json.dumps(
            {
                "type": "stream",
                "output_name": "answer",
                "output_value": f"tok{n} ",
                "run_id": run_id,
            },
            separators=(",", ":"),
        )
        + "\n\n"
        for n in range(count)
    ]
    blocks.append(
        f"id: {count}\ndata: "
        + json.dumps(
            {"type": "result", "status": "success", "outputs": {"answer": "..."}, "run_id": run_id},
            separators=(",", ":"),
        )
        + "\n\n"
    )
    return SSEDecoder().feed("".join(blocks).encode())


def _per_frame(fn: Callable[[SSEFrame], object], batch: list[SSEFrame]) -> float:
    started = time.perf_counter()
    for frame in batch:
        fn(frame)
    return (time.perf_counter() - started) / len(batch)


def bench_decode(count: int, blocks: int) -> dict[str, float]:
    """Median microseconds per frame over ``blocks`` interleaved blocks of ``count`` frames."""
    batch = frames(count)

    def loads(frame: SSEFrame) -> object:
        return json.loads(frame.data)

    variants: dict[str, Callable[[SSEFrame], object]] = {
        "json.loads per frame us": loads,
        "SDK StreamChunk per frame us": chunk_of,
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for fn in variants.values():
        _per_frame(fn, batch)  # warm-up: the validator is built at first use
    for _ in range(blocks):
        for name, fn in variants.items():
            samples[name].append(_per_frame(fn, batch))
    figures = {name: 1e6 * statistics.median(values) for name, values in samples.items()}
    figures["SDK StreamChunk per frame us before"] = BEFORE_US
    return figures
