"""An incremental decoder for Server-Sent Events (``text/event-stream``).

The decoder follows the HTML Living Standard, section 9.2 "Server-sent events": 9.2.5 "Parsing an
event stream" (UTF-8, byte order mark, line endings) and 9.2.6 "Interpreting an event stream"
(fields and dispatch). Comments below name the rule of the standard a piece of code implements.

httpx-sse was not used: its decoder dispatches blocks that carry no data (once an ``id`` has been
seen, every keep-alive comment followed by a blank line becomes an empty event), processes an
unterminated last line at end of input, accepts any ``int()`` text as ``retry``, has no size cap,
cannot report a stream that was cut mid-event, and reads httpx responses rather than raw chunks.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from vectorshift.errors import StreamError

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "MAX_RETRY_MS",
    "SSEDecoder",
    "SSEFrame",
    "aiter_sse",
    "parse_json_object",
]

DEFAULT_MAX_EVENT_BYTES = 1 << 20
"""The default cap on one event's size: 1 MiB."""

MAX_RETRY_MS = 2**63 - 1
"""The largest reconnection time the decoder holds: a longer ``retry:`` value is held as this.

The standard puts no bound on the field, but a value of more than 4,300 digits cannot be
converted to an ``int`` at all, and one past the range of a float cannot be divided into
seconds. 2**63 - 1 ms is some 292 million years: no information is lost, and how much of a
server's wait is honoured is the retry policy's decision (``RetryPolicy.server_wait``).
"""

_EXCERPT_CHARS = 200

_JSON_KINDS: dict[type, str] = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def _excerpt(text: str) -> str:
    """The start of ``text``, shortened for an error message."""
    if len(text) <= _EXCERPT_CHARS:
        return text
    return text[:_EXCERPT_CHARS] + "..."


def _utf8_len(text: str) -> int:
    """The length of ``text`` in UTF-8 bytes (without encoding it when it is ASCII)."""
    return len(text) if text.isascii() else len(text.encode("utf-8"))


@dataclass(frozen=True, slots=True)
class SSEFrame:
    """One dispatched event.

    Attributes:
        event: The event type; ``"message"`` when the block gave none (or an empty one).
        data: The data lines of the block, joined with ``"\\n"``.
        id: The last event id in force when the event was dispatched, or ``None`` if the stream
            never set one. An ``id:`` line with an empty value sets it to ``""``.
        retry: The reconnection time (milliseconds) given in this event's block, if any.
    """

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None

    def json(self) -> Any:
        """Decode :attr:`data` as JSON.

        Returns:
            The decoded value.

        Raises:
            StreamError: ``data`` is not valid JSON; the error quotes the frame.
        """
        try:
            return json.loads(self.data)
        except (ValueError, RecursionError) as exc:
            raise StreamError(
                f"server-sent {self.event!r} event does not hold valid JSON ({exc})",
                frame=_excerpt(self.data),
            ) from exc


def parse_json_object(event: SSEFrame) -> dict[str, Any]:
    """Decode an event's data as a JSON object.

    Args:
        event: The event to decode.

    Returns:
        The decoded object.

    Raises:
        StreamError: The data is not valid JSON, or is JSON but not an object; the error quotes
            the frame.
    """
    value = event.json()
    if not isinstance(value, dict):
        kind = _JSON_KINDS.get(type(value), type(value).__name__)
        raise StreamError(
            f"server-sent {event.event!r} event holds {kind} where a JSON object is expected",
            frame=_excerpt(event.data),
        )
    return value


def _new_text_decoder() -> codecs.IncrementalDecoder:
    # 9.2.5: the stream is decoded with "UTF-8 decode", which strips one leading byte order mark
    # and replaces invalid sequences with U+FFFD. The incremental decoder keeps a character (or
    # a byte order mark) split across chunks until its last byte arrives.
    return codecs.getincrementaldecoder("utf-8-sig")(errors="replace")


class SSEDecoder:
    """Turns the bytes of an event stream, in any chunking, into :class:`SSEFrame` objects.

    Feed chunks as they arrive with :meth:`feed` and call :meth:`close` at the end of the input.
    After :meth:`close` the decoder can decode the next connection's stream: it keeps
    :attr:`last_event_id` and :attr:`retry`, as an event source keeps them across reconnections.
    After a :class:`StreamError` the stream is undecodable and the decoder must not be fed again.

    Attributes:
        max_event_bytes: The cap on one event's size: the UTF-8 bytes of its data gathered so
            far plus the line being read (field name included).
        on_comment: Called with the text of every comment line (after the colon, one leading
            space removed), e.g. to notice keep-alives.
        last_event_id: The last event id string (``None`` until the stream sets one).
        retry: The latest reconnection time seen, in milliseconds (``None`` until one is seen),
            at most :data:`MAX_RETRY_MS`.
        comments: The number of comment lines seen.
        ended_mid_event: Whether the last :meth:`close` discarded an undispatched event, which
            means the stream was cut.
    """

    def __init__(
        self,
        *,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        on_comment: Callable[[str], None] | None = None,
    ) -> None:
        """Create a decoder.

        Args:
            max_event_bytes: The cap on one event's size (see the class attributes).
            on_comment: Called with the text of every comment line.

        Raises:
            ValueError: ``max_event_bytes`` is not positive.
        """
        if max_event_bytes < 1:
            raise ValueError(f"max_event_bytes must be positive, not {max_event_bytes}")
        self.max_event_bytes = max_event_bytes
        self.on_comment = on_comment
        self.last_event_id: str | None = None
        self.retry: int | None = None
        self.comments = 0
        self.ended_mid_event = False
        self._text_decoder = _new_text_decoder()
        # The line being received: pieces of text without a line ending, and their UTF-8 size.
        self._partial: list[str] = []
        self._partial_bytes = 0
        # The last text ended with CR: an LF starting the next text belongs to that line ending.
        self._skip_lf = False
        # 9.2.6: the data buffer (as its lines), the event type buffer, the last event ID buffer.
        self._data: list[str] = []
        self._data_bytes = 0
        self._event_type = ""
        self._id_buffer: str | None = None
        self._block_retry: int | None = None
        self._block_started = False

    @property
    def in_event(self) -> bool:
        """Whether bytes of an event that has not been dispatched yet are pending.

        Comment lines between events do not count.
        """
        return self._block_started or (bool(self._partial) and not self._partial[0].startswith(":"))

    def feed(self, chunk: bytes) -> list[SSEFrame]:
        """Decode the next chunk of the stream.

        Args:
            chunk: The next bytes, cut anywhere (even inside a character or a CRLF).

        Returns:
            The events completed by this chunk, in order.

        Raises:
            StreamError: An event exceeds :attr:`max_event_bytes`.
        """
        return self._feed_text(self._text_decoder.decode(chunk))

    def close(self) -> list[SSEFrame]:
        """End the input, and prepare for the next connection's stream.

        As 9.2.5 requires, an event without its terminating blank line is discarded (not
        dispatched); :attr:`ended_mid_event` tells whether that happened. An ``id`` given in the
        discarded block does not change :attr:`last_event_id`.

        Returns:
            The events still to deliver (none: an event is dispatched as soon as its blank line
            is read, and an unterminated one is discarded).

        Raises:
            StreamError: The pending line exceeds :attr:`max_event_bytes`.
        """
        events = self._feed_text(self._text_decoder.decode(b"", final=True))
        self.ended_mid_event = self.in_event
        self._text_decoder = _new_text_decoder()
        self._partial = []
        self._partial_bytes = 0
        self._skip_lf = False
        self._reset_block()
        self._id_buffer = self.last_event_id
        return events

    def _feed_text(self, text: str) -> list[SSEFrame]:
        if self._skip_lf and text:
            # 9.2.5: CRLF is one line ending, even when the CR and the LF come in two chunks.
            self._skip_lf = False
            if text[0] == "\n":
                text = text[1:]
        if not text:
            return []
        end = max(text.rfind("\n"), text.rfind("\r"))
        if end < 0:
            self._partial.append(text)
            self._add_partial_bytes(_utf8_len(text))
            return []
        complete = text[: end + 1]
        if self._partial:
            complete = "".join(self._partial) + complete
            self._partial = []
            self._partial_bytes = 0
        self._skip_lf = text[-1] == "\r"
        # 9.2.5: end-of-line is CRLF, a lone CR or a lone LF (and nothing else: no splitlines()).
        if "\r" in complete:
            complete = complete.replace("\r\n", "\n").replace("\r", "\n")
        lines = complete.split("\n")
        lines.pop()  # the empty string after the final line ending
        events: list[SSEFrame] = []
        for line in lines:
            self._process_line(line, events)
        rest = text[end + 1 :]
        if rest:
            self._partial.append(rest)
            self._add_partial_bytes(_utf8_len(rest))
        return events

    def _add_partial_bytes(self, size: int) -> None:
        self._partial_bytes += size
        if self._data_bytes + self._partial_bytes > self.max_event_bytes:
            raise self._too_large("".join(self._partial))

    def _too_large(self, line: str) -> StreamError:
        start = "\n".join(self._data) if self._data else line
        return StreamError(
            f"server-sent event larger than {self.max_event_bytes} bytes", frame=_excerpt(start)
        )

    def _process_line(self, line: str, events: list[SSEFrame]) -> None:
        # 9.2.6: a blank line dispatches the event.
        if not line:
            self._dispatch(events)
            return
        line_bytes = _utf8_len(line)
        if self._data_bytes + line_bytes > self.max_event_bytes:
            raise self._too_large(line)
        # 9.2.6: a line starting with a colon is a comment.
        if line[0] == ":":
            self.comments += 1
            if self.on_comment is not None:
                comment = line[1:]
                self.on_comment(comment[1:] if comment.startswith(" ") else comment)
            return
        self._block_started = True
        # 9.2.6: the field name is the text before the first colon and the value the text after
        # it, less one leading space; a line without a colon is a field name with an empty value.
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        # 9.2.6 "process the field"; fields with other names are ignored.
        if name == "data":
            # The field name and colon are ASCII, so the value's size follows from the line's.
            value_bytes = line_bytes - (len(line) - len(value))
            self._data_bytes += value_bytes + 1 if self._data else value_bytes
            self._data.append(value)
        elif name == "event":
            self._event_type = value
        elif name == "id":
            # An id containing NUL is ignored; an empty one is kept (it resets the id to "").
            if "\0" not in value:
                self._id_buffer = value
        elif name == "retry" and value.isascii() and value.isdigit():
            # Only ASCII digits set the reconnection time; any other value is ignored. Leading
            # zeros do not count towards the length that decides whether the value is held.
            digits = value.lstrip("0")
            held = len(digits) <= len(str(MAX_RETRY_MS))
            self.retry = min(int(digits or "0"), MAX_RETRY_MS) if held else MAX_RETRY_MS
            self._block_retry = self.retry

    def _dispatch(self, events: list[SSEFrame]) -> None:
        # 9.2.6 "dispatch the event", step 1: the last event ID buffer becomes the last event ID
        # string, whether or not an event is dispatched; the buffer itself is not reset.
        self.last_event_id = self._id_buffer
        # Step 2: with an empty data buffer nothing is dispatched. The data buffer is kept as its
        # lines, so "empty" means no data line at all (a bare "data" line makes data "").
        if self._data:
            # Steps 3 to 5: the data lines joined with LF (the spec's trailing LF never added);
            # the type is "message" unless the event type buffer is non-empty.
            events.append(
                SSEFrame(
                    event=self._event_type or "message",
                    data="\n".join(self._data),
                    id=self.last_event_id,
                    retry=self._block_retry,
                )
            )
        self._reset_block()

    def _reset_block(self) -> None:
        self._data = []
        self._data_bytes = 0
        self._event_type = ""
        self._block_retry = None
        self._block_started = False


async def aiter_sse(
    chunks: AsyncIterable[bytes], decoder: SSEDecoder | None = None
) -> AsyncIterator[SSEFrame]:
    """Decode an asynchronous stream of byte chunks into events.

    Args:
        chunks: The stream's bytes, e.g. ``response.aiter_bytes()``.
        decoder: The decoder to use; pass one to read :attr:`SSEDecoder.last_event_id` or
            :attr:`SSEDecoder.ended_mid_event` afterwards, or to cap event sizes. A new one with
            default settings otherwise.

    Yields:
        Each event as soon as its terminating blank line arrives. At the end of ``chunks`` the
        decoder is closed; an unterminated last event is discarded.

    Raises:
        StreamError: An event exceeds the decoder's size cap.
    """
    sse = decoder if decoder is not None else SSEDecoder()
    async for chunk in chunks:
        for event in sse.feed(chunk):
            yield event
    for event in sse.close():
        yield event
