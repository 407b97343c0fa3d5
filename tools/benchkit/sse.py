"""SSE decoding: our decoder against httpx-sse's on the same bytes, no network.

Each case is a list of byte chunks, as a socket would deliver them. Both sides read the chunks
from the same kind of in-memory ``httpx.Response``: ours as ``response.iter_bytes()`` fed to
:class:`vectorshift._sse.SSEDecoder` (what ``astream()`` does), httpx-sse through its public
``EventSource(response).iter_sse()``, timed as a black box. ``response alone`` is the cost of
reading the chunks from the response, which both sides pay. The two decoders alternate in
every round and which goes first alternates between rounds; a case's ratio is the median of
its rounds' ratios.

httpx-sse is not a dependency of the package: ``nox -s bench`` installs it for this section.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from vectorshift._sse import SSEDecoder

try:
    from httpx_sse import EventSource
except ImportError:  # the section is skipped, with a message from tools/bench.py
    EventSource = None

MISSING = "httpx-sse is not installed (`nox -s bench` installs it; or `pip install httpx-sse`)"
_HEADERS = {"content-type": "text/event-stream"}


def _token_frame(n: int) -> bytes:
    body = {"type": "stream", "output_name": "answer", "output_value": f"token {n} ", "seq": n}
    return b"event: stream\nid: %d\ndata: %s\n\n" % (n, json.dumps(body).encode())


def _cut(stream: bytes, size: int) -> list[bytes]:
    return [stream[i : i + size] for i in range(0, len(stream), size)]


def cases(tokens: int) -> dict[str, list[bytes]]:
    """The byte chunks of each case."""
    stream = b"".join(_token_frame(n) for n in range(tokens))
    large = b"".join(
        b"event: result\nid: %d\ndata: %s\n\n"
        % (n, json.dumps({"type": "result", "output_value": "x" * (64 << 10)}).encode())
        for n in range(40)
    )
    return {
        f"{tokens} token frames, 4 KiB chunks": _cut(stream, 4096),
        "40 frames of 64 KiB, 16 KiB chunks": _cut(large, 16384),
        f"{tokens} token frames, one a chunk": [_token_frame(n) for n in range(tokens)],
        f"{tokens} token frames, CRLF, 4 KiB chunks": _cut(stream.replace(b"\n", b"\r\n"), 4096),
    }


def _response(chunks: list[bytes]) -> httpx.Response:
    return httpx.Response(200, headers=_HEADERS, content=iter(chunks))


def _ours(chunks: list[bytes]) -> list[tuple[str, str, str | None]]:
    decoder = SSEDecoder()
    frames = []
    for chunk in _response(chunks).iter_bytes():
        frames.extend(decoder.feed(chunk))
    frames.extend(decoder.close())
    return [(f.event, f.data, f.id) for f in frames]


def _theirs(chunks: list[bytes]) -> list[tuple[str, str, str | None]]:
    assert EventSource is not None
    return [(e.event, e.data, e.id) for e in EventSource(_response(chunks)).iter_sse()]


def _response_alone(chunks: list[bytes]) -> list[bytes]:
    return list(_response(chunks).iter_bytes())


def _seconds(fn: Callable[[list[bytes]], Any], chunks: list[bytes]) -> float:
    started = time.perf_counter()
    fn(chunks)
    return time.perf_counter() - started


def _rounds(chunks: list[bytes], rounds: int) -> Iterator[tuple[float, float, float]]:
    for n in range(rounds):
        first, second = (_ours, _theirs) if n % 2 == 0 else (_theirs, _ours)
        a, b = _seconds(first, chunks), _seconds(second, chunks)
        ours, theirs = (a, b) if n % 2 == 0 else (b, a)
        yield ours, theirs, _seconds(_response_alone, chunks)


def bench_sse(tokens: int, rounds: int) -> dict[str, dict[str, float]]:
    """Per case: median milliseconds of each side and the median of the rounds' ratios.

    Raises:
        RuntimeError: The two decoders do not give the same events for a case.
    """
    figures: dict[str, dict[str, float]] = {}
    for name, chunks in cases(tokens).items():
        frames = _ours(chunks)
        if frames != _theirs(chunks):
            raise RuntimeError(f"{name}: the decoders disagree; the timings would not compare")
        measured = list(_rounds(chunks, rounds))
        ours, theirs, alone = (statistics.median(column) for column in zip(*measured, strict=True))
        figures[name] = {
            "frames": len(frames),
            "ours ms": 1000 * ours,
            "httpx-sse ms": 1000 * theirs,
            "response alone ms": 1000 * alone,
            "ours / httpx-sse": statistics.median(o / t for o, t, _ in measured),
        }
    return figures
