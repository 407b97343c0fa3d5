"""The README's claims about httpx-sse, tried: each input through httpx-sse and through ours.

    pip install httpx-sse && python tools/sse_claims.py

httpx-sse is read through its public API only (``EventSource(response).iter_sse()`` over an
in-memory ``httpx.Response``). Each case prints the events of both sides as
``(event, data, id, retry)``; ours also prints ``ended_mid_event``. tests/test_sse.py pins our
side of each case.
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchkit.sse import MISSING, EventSource

from vectorshift._sse import SSEDecoder
from vectorshift.errors import StreamError

Event = tuple[str, str, "str | None", "int | None"]

CASES: dict[str, bytes] = {
    "keep-alives after an id": b"id: 1\ndata: a\n\n: keep-alive\n\n: keep-alive\n\n",
    "a byte order mark first": b"\xef\xbb\xbfdata: a\n\ndata: b\n\n",
    **{
        f"retry: {value}": f"retry: {value}\ndata: a\n\n".encode()
        for value in ("+5", "-1", "1_000", "\u0661\u0662")
    },
    "an 8 MiB event": b"data: " + b"x" * (8 << 20) + b"\n\n",
    "cut mid-event": b"data: a\n\nid: 2\ndata: b\n",
    "ended between events": b"data: a\n\n",
    "an unterminated final event": b"data: a\n\ndata: b",
}


def _chunks(stream: bytes) -> list[bytes]:
    return [stream[i : i + 65536] for i in range(0, len(stream), 65536)]


def _short(events: list[Event]) -> list[Event]:
    return [(e, d if len(d) < 20 else f"<{len(d)} chars>", i, r) for e, d, i, r in events]


def theirs(stream: bytes) -> str:
    assert EventSource is not None
    response = httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content=iter(_chunks(stream))
    )
    return str(_short([(e.event, e.data, e.id, e.retry) for e in EventSource(response).iter_sse()]))


def ours(stream: bytes) -> str:
    decoder = SSEDecoder()
    try:
        frames = [f for chunk in _chunks(stream) for f in decoder.feed(chunk)] + decoder.close()
    except StreamError as exc:
        return f"StreamError ({str(exc).partition(':')[0]})"
    events = _short([(f.event, f.data, f.id, f.retry) for f in frames])
    return f"{events} ended_mid_event={decoder.ended_mid_event}"


def main() -> None:
    if EventSource is None:
        sys.exit(MISSING)
    for name, stream in CASES.items():
        print(f"{name}:\n  httpx-sse  {theirs(stream)}\n  ours       {ours(stream)}")


if __name__ == "__main__":
    main()
