"""Non-streamed bodies are capped as they are decoded, gzip bombs included (issue 12, point 12).

The bodies come over loopback from a raw server (:mod:`hostile`); the cap is
``Client(max_response_bytes=)``, 64 MiB by default.
"""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib
from collections.abc import Callable
from functools import cache

import pytest
from raw_servers import RawRequest, http_response, raw_server

from vectorshift import (
    ApiError,
    ApiResponseError,
    BadRequestError,
    Client,
    ConflictError,
    InternalServerError,
    Pipeline,
    RetryPolicy,
    UnprocessableEntityError,
)

pytestmark = pytest.mark.anyio

LISTED = json.dumps(
    {
        "status": "success",
        "object_ids": ["p"],
        "objects": [{"_id": "p", "name": "kept", "nodes": {}}],
    }
).encode()


def serve(body: bytes, **headers: str) -> Callable[[RawRequest], bytes]:
    return lambda request: http_response(200, body, headers=headers)


def chunked(body: bytes) -> Callable[[RawRequest], bytes]:
    """The body in chunks with no ``Content-Length``: only reading it tells its size."""

    def respond(request: RawRequest) -> bytes:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        head += b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        parts = [body[i : i + 65536] for i in range(0, len(body), 65536)]
        return head + b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"

    return respond


@cache
def bomb(decoded_size: int, layers: int = 1) -> bytes:
    """A small gzip body that inflates to ``decoded_size`` bytes (per layer of gzip)."""
    inflater = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b" " * 2**20
    body = b"".join(inflater.compress(block) for _ in range(decoded_size // len(block)))
    body += inflater.flush()
    for _ in range(layers - 1):
        body = gzip.compress(body)
    return body


async def names(base_url: str, cap: int | None = None) -> list[str]:
    client = (
        Client(api_key="vs-key", base_url=base_url)
        if cap is None
        else Client(api_key="vs-key", base_url=base_url, max_response_bytes=cap)
    )
    return [pipeline.name for pipeline in await Pipeline.alist(client=client)]


async def test_a_body_within_the_cap_is_read_plain_gzip_or_deflate() -> None:
    for respond in (
        serve(LISTED),
        serve(gzip.compress(LISTED), **{"Content-Encoding": "gzip"}),
        serve(zlib.compress(LISTED), **{"Content-Encoding": "deflate"}),
        chunked(LISTED),
    ):
        with raw_server(respond) as server:
            assert await names(server.base_url, cap=len(LISTED)) == ["kept"]


async def test_a_body_declared_larger_than_the_cap_is_refused_unread() -> None:
    with (
        raw_server(serve(b" " * 5000 + LISTED)) as server,
        pytest.raises(ApiResponseError, match="max_response_bytes") as info,
    ):
        await names(server.base_url, cap=4096)
    assert "Content-Length is" in info.value.reason


async def test_a_chunked_body_past_the_cap_is_stopped_while_reading() -> None:
    with (
        raw_server(chunked(b" " * 300_000 + LISTED)) as server,
        pytest.raises(ApiResponseError, match="larger than the cap of 100000 bytes"),
    ):
        await names(server.base_url, cap=100_000)


@pytest.mark.parametrize("layers", [1, 2], ids=["gzip", "gzip-gzip"])
async def test_a_gzip_bomb_is_stopped_while_inflating(layers: int) -> None:
    body = bomb(256 * 2**20, layers=layers)  # 256 MiB once inflated
    assert len(body) < 300 * 2**10
    encoding = ", ".join(["gzip"] * layers)
    with raw_server(serve(body, **{"Content-Encoding": encoding})) as server:
        tracemalloc.start()
        try:
            with pytest.raises(ApiResponseError, match="larger than the cap"):
                await names(server.base_url, cap=2**20)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 16 * 2**20  # what the cap allows plus buffers, never the 256 MiB


async def test_the_default_cap_stops_a_bomb_far_below_its_size() -> None:
    body = bomb(256 * 2**20)
    with (
        raw_server(serve(body, **{"Content-Encoding": "gzip"})) as server,
        pytest.raises(ApiResponseError, match=f"cap of {64 * 2**20} bytes"),
    ):
        await names(server.base_url)


async def test_a_coding_the_sdk_did_not_ask_for_is_refused() -> None:
    with (
        raw_server(serve(LISTED, **{"Content-Encoding": "br"})) as server,
        pytest.raises(ApiResponseError, match="coded as br"),
    ):
        await names(server.base_url)
    assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"


async def test_a_body_that_does_not_inflate_is_refused() -> None:
    with (
        raw_server(serve(b"not gzip at all", **{"Content-Encoding": "gzip"})) as server,
        pytest.raises(ApiResponseError, match="does not inflate as gzip"),
    ):
        await names(server.base_url)


def test_the_cap_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_response_bytes"):
        Client(max_response_bytes=0)


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, BadRequestError), (409, ConflictError), (422, UnprocessableEntityError)],
)
async def test_an_error_status_too_large_to_read_keeps_its_class(
    status: int, kind: type[ApiError]
) -> None:
    """Issue 24, point 12: the class follows the status, the body is said to be unread."""
    body = json.dumps({"error": "x" * 10_000}).encode()
    for respond in (
        lambda request: http_response(status, body),  # Content-Length says it is too large
        lambda request: http_response(status, body, length=False),  # only reading tells
        lambda request: http_response(
            status, gzip.compress(body), headers={"Content-Encoding": "gzip"}
        ),
    ):
        with raw_server(respond) as server, pytest.raises(ApiError) as info:
            await names(server.base_url, cap=4096)
        assert type(info.value) is kind
        assert info.value.status_code == status
        assert "not read" in str(info.value)
        assert "max_response_bytes" in str(info.value)
        assert info.value.body is None


async def test_a_retryable_status_too_large_to_read_is_retried_as_its_status() -> None:
    body = b"x" * 10_000
    with raw_server(lambda request: http_response(503, body)) as server:
        client = Client(
            api_key="vs-key",
            base_url=server.base_url,
            max_response_bytes=4096,
            retry=RetryPolicy(max_retries=1, backoff_base=0.01, max_backoff=0.01),
        )
        with pytest.raises(InternalServerError) as info:
            await Pipeline.alist(client=client)
    assert info.value.attempts == 2
    assert len(server.requests) == 2
