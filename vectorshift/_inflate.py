"""Decoding a response body within a size cap, while it inflates.

httpx decodes ``Content-Encoding`` for us, but each raw chunk is inflated whole: one 64 KiB chunk
of a gzip bomb becomes 64 MiB, and ``Content-Encoding: gzip, gzip`` multiplies again before
anyone could count. So the transport reads non-streamed bodies raw and inflates them here,
asking zlib for at most the bytes still allowed (``max_length``), stage by stage; a body that
would pass the cap is stopped with at most the cap in memory.

Only the codings the SDK asks for (``Accept-Encoding: gzip, deflate``) are understood;
anything else is refused rather than handed on undecoded.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Mapping

__all__ = ["ACCEPT_ENCODING", "BodyTooLarge", "BoundedDecoder", "UnreadableBody", "read_body"]

ACCEPT_ENCODING = "gzip, deflate"
"""What the SDK accepts: the codings :class:`BoundedDecoder` can inflate within a cap."""

_HEAD_BYTES = 1024
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_ZLIB_WBITS = zlib.MAX_WBITS


class UnreadableBody(Exception):
    """A body that cannot be read as an answer; the message says why.

    Attributes:
        partial: What was decoded before reading stopped.
    """

    def __init__(self, reason: str, partial: bytes = b"") -> None:
        self.partial = partial
        super().__init__(reason)


class BodyTooLarge(Exception):
    """The decoded body passed the cap (inside :class:`BoundedDecoder`).

    Attributes:
        head: The start of what the chunk that passed the cap decoded to, to quote it.
    """

    def __init__(self, head: bytes = b"") -> None:
        self.head = head[:_HEAD_BYTES]
        super().__init__("the decoded body passed the cap")


class _Stage:
    """One content coding, inflated with a bounded output per call."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._deflate_format_known = coding != "deflate"
        wbits = _GZIP_WBITS if coding in ("gzip", "x-gzip") else _ZLIB_WBITS
        self._inflater = zlib.decompressobj(wbits)

    def inflate(self, data: bytes, limit: int) -> bytes:
        """The bytes ``data`` inflates to; :class:`BodyTooLarge` past ``limit`` of them."""
        if not self._deflate_format_known and data:
            # "deflate" means zlib-wrapped (RFC 9110 8.4.1.2), but some servers send raw
            # deflate; the first byte tells them apart, as browsers and httpx do.
            self._deflate_format_known = True
            if data[0] & 0x0F != 8:
                self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        out = bytearray()
        pending = data
        while pending and not self._inflater.eof:
            out += self._inflater.decompress(pending, limit - len(out) + 1)
            if len(out) > limit:
                raise BodyTooLarge(bytes(out[:_HEAD_BYTES]))
            pending = self._inflater.unconsumed_tail
        return bytes(out)

    def finish(self, limit: int) -> bytes:
        """What the inflater still holds once the input ended."""
        out = self._inflater.flush()
        if len(out) > limit:
            raise BodyTooLarge(out)
        return out


class BoundedDecoder:
    """Inflates a body coded as ``Content-Encoding`` says, keeping it under ``limit`` bytes.

    Args:
        content_encoding: The header's value (``""`` or ``identity`` for none).
        limit: The most bytes the decoded body may hold.

    Raises:
        UnreadableBody: a coding other than gzip, x-gzip, deflate or identity.
    """

    def __init__(self, content_encoding: str, limit: int) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        unknown = [c for c in codings if c not in ("gzip", "x-gzip", "deflate", "identity")]
        if unknown:
            raise UnreadableBody(
                f"the body is coded as {', '.join(unknown)}, which the SDK did not ask for"
            )
        # Codings are listed in the order they were applied, so they are undone backwards.
        self._stages = [_Stage(c) for c in reversed(codings) if c != "identity"]
        self.limit = limit
        self.size = 0

    def feed(self, raw: bytes) -> bytes:
        """The decoded bytes ``raw`` adds; :class:`BodyTooLarge` once past the limit."""
        data = raw
        for index, stage in enumerate(self._stages):
            data = stage.inflate(data, self._room(index))
        return self._count(data)

    def finish(self) -> bytes:
        """The decoded bytes left once the raw body ended."""
        data = b""
        for index, stage in enumerate(self._stages):
            data = stage.inflate(data, self._room(index))
            data += stage.finish(self._room(index) - len(data))
        return self._count(data)

    def _room(self, index: int) -> int:
        """How many bytes stage ``index`` may produce now: what is left, for the last one."""
        return self.limit - self.size if index == len(self._stages) - 1 else self.limit

    def _count(self, data: bytes) -> bytes:
        self.size += len(data)
        if self.size > self.limit:
            raise BodyTooLarge(data)
        return data


async def read_body(
    chunks: AsyncIterator[bytes], headers: Mapping[str, str], limit: int, *, truncate: bool = False
) -> bytes:
    """The decoded body of raw ``chunks``, coded as ``headers`` say, of at most ``limit`` bytes.

    Args:
        chunks: The body as received.
        headers: The response headers (``Content-Encoding``, ``Content-Length``).
        limit: The most decoded bytes allowed.
        truncate: Stop at ``limit`` and return what was decoded (to quote a body), instead
            of raising.

    Raises:
        UnreadableBody: the body passes ``limit`` (as its ``Content-Length`` says, or while
            inflating), its coding is unknown, or it does not inflate.
    """
    coding = headers.get("content-encoding", "")
    declared = headers.get("content-length", "")
    too_large = f"the body is larger than the cap of {limit} bytes (max_response_bytes)"
    plain = coding in ("", "identity")
    if not truncate and plain and declared.isdigit() and int(declared) > limit:
        raise UnreadableBody(f"{too_large}: Content-Length is {declared}")
    decoder = BoundedDecoder(coding, limit)
    parts: list[bytes] = []
    try:
        async for raw in chunks:
            parts.append(decoder.feed(raw))
        parts.append(decoder.finish())
    except BodyTooLarge as exc:
        decoded = b"".join(parts)
        if truncate:
            return decoded
        raise UnreadableBody(too_large, decoded[:_HEAD_BYTES] or exc.head) from None
    except (zlib.error, EOFError) as exc:
        raise UnreadableBody(f"the body does not inflate as {coding} ({exc})") from None
    return b"".join(parts)
