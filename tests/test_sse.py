"""Tests of the Server-Sent Events decoder (HTML Living Standard, 9.2.5 and 9.2.6)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vectorshift._sse import (
    DEFAULT_MAX_EVENT_BYTES,
    SSEDecoder,
    SSEFrame,
    aiter_sse,
    parse_json_object,
)
from vectorshift.errors import StreamError

BOM = b"\xef\xbb\xbf"


def decode(*chunks: bytes, decoder: SSEDecoder | None = None) -> list[SSEFrame]:
    """Feed ``chunks`` to a decoder, close it, and return every event."""
    sse = decoder if decoder is not None else SSEDecoder()
    events: list[SSEFrame] = []
    for chunk in chunks:
        events.extend(sse.feed(chunk))
    events.extend(sse.close())
    return events


def ev(
    data: str, event: str = "message", id: str | None = None, retry: int | None = None
) -> SSEFrame:
    return SSEFrame(event=event, data=data, id=id, retry=retry)


# --- the standard's examples -------------------------------------------------------------------


def test_spec_messages_with_multi_line_data() -> None:
    stream = (
        b"data: This is the first message.\n\n"
        b"data: This is the second message, it\n"
        b"data: has two lines.\n\n"
        b"data: This is the third message.\n\n"
    )
    assert decode(stream) == [
        ev("This is the first message."),
        ev("This is the second message, it\nhas two lines."),
        ev("This is the third message."),
    ]


def test_spec_event_types() -> None:
    stream = (
        b"event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n"
    )
    assert decode(stream) == [
        ev("73857293", event="add"),
        ev("2153", event="remove"),
        ev("113411", event="add"),
    ]


def test_spec_data_lines_joined_with_lf() -> None:
    assert decode(b"data: YHOO\ndata: +2\ndata: 10\n\n") == [ev("YHOO\n+2\n10")]


def test_spec_comment_ids_and_unterminated_event() -> None:
    decoder = SSEDecoder()
    stream = (
        b": test stream\n\n"
        b"data: first event\nid: 1\n\n"
        b"data:second event\nid\n\n"
        b"data:  third event\n"
    )
    assert decode(stream, decoder=decoder) == [
        ev("first event", id="1"),
        ev("second event", id=""),  # "id" without a colon resets the last event id to ""
    ]
    assert decoder.comments == 1
    assert decoder.last_event_id == ""
    assert decoder.ended_mid_event  # " third event" had no blank line: discarded


def test_spec_bare_data_field() -> None:
    # "data" alone is the field "data" with an empty value; the last "data:" is unterminated.
    assert decode(b"data\n\ndata\ndata\n\ndata:") == [ev(""), ev("\n")]


def test_spec_one_leading_space_removed() -> None:
    assert decode(b"data:test\n\ndata: test\n\ndata:  two spaces\n\n") == [
        ev("test"),
        ev("test"),
        ev(" two spaces"),
    ]


# --- fields --------------------------------------------------------------------------------------


def test_blank_line_without_data_dispatches_nothing_and_resets_the_block() -> None:
    stream = b"event: lonely\nretry: 10\n\ndata: x\n\n"
    assert decode(stream) == [ev("x")]


def test_empty_event_type_means_message() -> None:
    assert decode(b"event:\ndata: a\n\nevent\ndata: b\n\n") == [ev("a"), ev("b")]


def test_value_may_contain_colons_and_unknown_fields_are_ignored() -> None:
    stream = b"foo: bar\nevent: a:b\nDATA: shouted\ndata: x: y\nid: 7:8\n\n"
    assert decode(stream) == [ev("x: y", event="a:b", id="7:8")]


def test_last_event_id_persists_and_updates_without_data() -> None:
    decoder = SSEDecoder()
    assert decoder.last_event_id is None
    stream = (
        b"data: a\n\n"  # no id yet
        b"id: 1\ndata: b\n\n"
        b"data: c\n\n"  # keeps id 1
        b"id: 2\n\n"  # no data: nothing dispatched, but the id moves on
        b"data: d\n\n"
        b"id: bad\0id\ndata: e\n\n"  # an id with NUL is ignored
        b"id:\ndata: f\n\n"  # an empty id resets it
    )
    assert decode(stream, decoder=decoder) == [
        ev("a"),
        ev("b", id="1"),
        ev("c", id="1"),
        ev("d", id="2"),
        ev("e", id="2"),
        ev("f", id=""),
    ]
    assert decoder.last_event_id == ""


@pytest.mark.parametrize(
    "value", ["3s", "-1", "+5", "  5", "5 ", "1_000", "1.5", "", "\u0661\u0662", "\u00b2"]
)
def test_retry_other_than_ascii_digits_is_ignored(value: str) -> None:
    decoder = SSEDecoder()
    stream = f"retry: 3000\ndata: a\n\nretry:{value}\ndata: b\n\n".encode()
    assert decode(stream, decoder=decoder) == [ev("a", retry=3000), ev("b")]
    assert decoder.retry == 3000


def test_retry_is_kept_by_the_decoder_and_given_per_block() -> None:
    decoder = SSEDecoder()
    assert decoder.retry is None
    events = decode(b"retry: 10\n\ndata: a\nretry: 0025\n\ndata: b\n\n", decoder=decoder)
    assert events == [ev("a", retry=25), ev("b")]
    assert decoder.retry == 25


def test_keep_alives_after_an_id_dispatch_nothing() -> None:
    # A comment and its blank line carry no data: no event, however long an id has been set.
    stream = b"id: 1\ndata: a\n\n: keep-alive\n\n: keep-alive\n\n\n"
    decoder = SSEDecoder()
    assert decode(stream, decoder=decoder) == [ev("a", id="1")]
    assert decoder.comments == 2
    assert decoder.last_event_id == "1"


def test_comments_are_counted_and_reported() -> None:
    seen: list[str] = []
    decoder = SSEDecoder(on_comment=seen.append)
    stream = b": keep-alive\n\n:raw\ndata: x\n: inside\n\n:\n\n"
    assert decode(stream, decoder=decoder) == [ev("x")]
    assert seen == ["keep-alive", "raw", "inside", ""]
    assert decoder.comments == 4
    assert not decoder.ended_mid_event


# --- line endings, BOM, UTF-8 --------------------------------------------------------------------

STREAM = "id: 1\nevent: e\ndata: a\ndata: b\n\n: c\ndata: z\n\n"
EXPECTED = [ev("a\nb", event="e", id="1"), ev("z", id="1")]


@pytest.mark.parametrize("eol", ["\n", "\r", "\r\n"])
def test_every_line_ending(eol: str) -> None:
    assert decode(STREAM.replace("\n", eol).encode()) == EXPECTED


@pytest.mark.parametrize("eol", ["\n", "\r", "\r\n"])
def test_every_line_ending_byte_by_byte(eol: str) -> None:
    data = STREAM.replace("\n", eol).encode()
    assert decode(*(data[i : i + 1] for i in range(len(data)))) == EXPECTED


def test_mixed_line_endings() -> None:
    assert decode(b"data: a\rdata: b\r\ndata: c\n\r\ndata: d\r\r") == [ev("a\nb\nc"), ev("d")]


def test_crlf_split_across_chunks_is_one_line_ending() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    # Had the LF counted as a second line ending, "a" would be dispatched on its own.
    assert decoder.feed(b"\ndata: b\r") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\n\r\n") == [ev("a\nb")]
    assert decoder.close() == []


def test_cr_inside_a_chunk_does_not_swallow_the_next_chunks_lf() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\rdata: b") == []
    assert decoder.feed(b"\n\n") == [ev("a\nb")]


def test_cr_then_cr_dispatches_at_once() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\r") == [ev("a")]  # not held back waiting for a possible LF
    assert decoder.feed(b"\ndata: b\n\n") == [ev("b")]


def test_other_unicode_line_breaks_are_not_line_endings() -> None:
    stream = "data: a\u2028b\x0bc\x0cd\x1ce\x85f\n\n".encode()
    assert decode(stream) == [ev("a\u2028b\x0bc\x0cd\x1ce\x85f")]


def test_leading_bom_keeps_the_first_event() -> None:
    assert decode(BOM + b"data: a\n\ndata: b\n\n") == [ev("a"), ev("b")]


def test_leading_bom_is_stripped_once() -> None:
    assert decode(BOM + b"data: x\n\n") == [ev("x")]
    assert decode(BOM[:1], BOM[1:2], BOM[2:] + b"data: x\n\n") == [ev("x")]
    # A second BOM is part of the first line: the field "\ufeffdata" is unknown.
    assert decode(BOM + BOM + b"data: x\n\ndata: y\n\n") == [ev("y")]
    # A BOM later in the stream is ordinary text.
    assert decode(b"data: x\n\n" + BOM + b"data: y\n\n") == [ev("x")]


def test_utf8_split_mid_character() -> None:
    text = "data: h\u00e9llo \u4e16\u754c \U0001f600\n\n"
    data = text.encode()
    expected = [ev("h\u00e9llo \u4e16\u754c \U0001f600")]
    assert decode(*(data[i : i + 1] for i in range(len(data)))) == expected
    emoji = data.index("\U0001f600".encode())
    assert decode(data[: emoji + 1], data[emoji + 1 : emoji + 3], data[emoji + 3 :]) == expected


def test_invalid_utf8_is_replaced() -> None:
    assert decode(b"data: a\xffb\xc3\n\n") == [ev("a\ufffdb\ufffd")]


# --- size cap ------------------------------------------------------------------------------------


def test_event_over_the_cap_raises() -> None:
    decoder = SSEDecoder(max_event_bytes=100)
    with pytest.raises(StreamError, match="server-sent event larger than 100 bytes") as info:
        decoder.feed(b"data: " + b"x" * 300 + b"\n\n")
    assert info.value.frame is not None
    assert info.value.frame.startswith("data: xxx")
    assert len(info.value.frame) <= 210


def test_many_data_lines_over_the_cap_raise_with_the_event_start_as_frame() -> None:
    decoder = SSEDecoder(max_event_bytes=100)
    with pytest.raises(StreamError) as info:
        decoder.feed(b"".join(b"data: line %d\n" % i for i in range(20)))
    assert info.value.frame is not None
    assert info.value.frame.startswith("line 0\nline 1\n")


def test_pending_line_over_the_cap_raises_before_it_ends() -> None:
    decoder = SSEDecoder(max_event_bytes=1000)
    with pytest.raises(StreamError, match="larger than 1000 bytes"):
        for _ in range(100):
            decoder.feed(b"data: " + b"y" * 20)


def test_cap_counts_utf8_bytes() -> None:
    # 60 characters, 120 bytes.
    with pytest.raises(StreamError):
        SSEDecoder(max_event_bytes=100).feed(("data: " + "\u00e9" * 60 + "\n").encode())
    events = decode(
        ("data: " + "e" * 60 + "\n\n").encode(), decoder=SSEDecoder(max_event_bytes=100)
    )
    assert events == [ev("e" * 60)]


def test_cap_is_per_event() -> None:
    decoder = SSEDecoder(max_event_bytes=100)
    stream = b"data: " + b"z" * 80 + b"\n\n"
    assert decode(*[stream] * 50, decoder=decoder) == [ev("z" * 80)] * 50


def test_cap_is_per_event_within_one_chunk_and_across_chunks() -> None:
    # The chunks are far over the cap, the events are not.
    stream = ("data: " + "\u00e9" * 40 + "\n\n").encode() * 50
    decoder = SSEDecoder(max_event_bytes=100)
    assert decode(stream[:2001], stream[2001:], decoder=decoder) == [ev("\u00e9" * 40)] * 50
    with pytest.raises(StreamError, match="larger than 100 bytes"):
        decode(stream[:-2] + b"\ndata: " + b"w" * 20 + b"\n\n", decoder=decoder)


def test_default_cap_is_one_mebibyte() -> None:
    assert DEFAULT_MAX_EVENT_BYTES == 1 << 20
    half = b"data: " + b"h" * (1 << 19) + b"\n"
    assert decode(half, b"\n") == [ev("h" * (1 << 19))]
    with pytest.raises(StreamError, match=f"larger than {1 << 20} bytes"):
        decode(half, half, half, b"\n")


def test_cap_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_event_bytes"):
        SSEDecoder(max_event_bytes=0)


def test_large_event_in_small_chunks() -> None:
    payload = b"p" * 500_000
    stream = b"data: " + payload + b"\n\n"
    chunks = [stream[i : i + 64] for i in range(0, len(stream), 64)]
    assert decode(*chunks) == [ev(payload.decode())]


# --- JSON ----------------------------------------------------------------------------------------


def test_json_and_parse_json_object() -> None:
    event = ev('{"type": "stream", "output_value": "Once"}', event="stream")
    assert event.json() == {"type": "stream", "output_value": "Once"}
    assert parse_json_object(event) == {"type": "stream", "output_value": "Once"}
    assert ev("[1, 2]").json() == [1, 2]


def test_invalid_json_raises_quoting_the_frame() -> None:
    event = ev('{"type": "stream", "output_value": ', event="stream")
    for parse in (SSEFrame.json, parse_json_object):
        with pytest.raises(StreamError, match="'stream' event does not hold valid JSON") as info:
            parse(event)
        assert info.value.frame == event.data
        assert repr(event.data) in str(info.value)


def test_invalid_json_frame_is_shortened() -> None:
    event = ev("{" + "x" * 5000)
    with pytest.raises(StreamError) as info:
        parse_json_object(event)
    assert info.value.frame is not None
    assert event.data.startswith(info.value.frame.removesuffix("..."))
    assert len(info.value.frame) < 300


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ("[1]", "an array"),
        ('"s"', "a string"),
        ("1.5", "a number"),
        ("true", "a boolean"),
        ("null", "null"),
    ],
)
def test_non_object_json_raises_quoting_the_frame(data: str, kind: str) -> None:
    with pytest.raises(StreamError, match=f"holds {kind} where a JSON object") as info:
        parse_json_object(ev(data))
    assert info.value.frame == data


# --- end of input --------------------------------------------------------------------------------


def test_incomplete_final_event_is_discarded() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\nid: 9\ndata: b\n") == [ev("a")]
    assert decoder.in_event
    assert decoder.close() == []
    assert decoder.ended_mid_event
    assert decoder.last_event_id is None  # the unterminated block's id is discarded with it
    assert not decoder.in_event


@pytest.mark.parametrize(
    ("tail", "cut"),
    [
        (b"", False),
        (b": keep-alive\n", False),
        (b": keep", False),
        (b"da", True),
        (b"event: x\n", True),
        (b"data: x\r", True),
        (b"\xc3", True),
    ],
)
def test_ended_mid_event(tail: bytes, cut: bool) -> None:
    decoder = SSEDecoder()
    assert decode(b"data: a\n\n" + tail, decoder=decoder) == [ev("a")]
    assert decoder.ended_mid_event is cut


def test_decoder_is_reusable_after_close_and_keeps_the_id() -> None:
    decoder = SSEDecoder()
    assert decode(BOM + b"id: 4\ndata: a\n\nid: 5\ndata: partial", decoder=decoder) == [
        ev("a", id="4")
    ]
    assert decoder.ended_mid_event
    # The next connection's stream: its BOM is stripped, the id in force is still "4".
    assert decode(BOM + b"data: b\n\nid: 5\ndata: c\n\n", decoder=decoder) == [
        ev("b", id="4"),
        ev("c", id="5"),
    ]
    assert not decoder.ended_mid_event


# --- chunking property ---------------------------------------------------------------------------

_line_text = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"))


@dataclass(frozen=True)
class _Block:
    comment: str | None
    event: str | None
    id: str | None
    retry: int | None
    data: list[str]


_blocks = st.builds(
    _Block,
    comment=st.none() | _line_text,
    event=st.none() | _line_text,
    id=st.none() | _line_text.filter(lambda s: "\0" not in s),
    retry=st.none() | st.integers(min_value=0, max_value=10**6),
    data=st.lists(_line_text, max_size=4),
)


def _lines(block: _Block) -> list[str]:
    lines = [] if block.comment is None else [":" + block.comment]
    if block.event is not None:
        lines.append("event: " + block.event)
    if block.id is not None:
        lines.append("id: " + block.id)
    if block.retry is not None:
        lines.append(f"retry: {block.retry}")
    lines.extend("data: " + line for line in block.data)
    lines.append("")
    return lines


@st.composite
def _streams(draw: st.DrawFn) -> tuple[bytes, list[SSEFrame]]:
    blocks = draw(st.lists(_blocks, max_size=6))
    text = draw(st.sampled_from(["", "\ufeff"]))
    expected: list[SSEFrame] = []
    last_id: str | None = None
    previous_eol = ""
    for block in blocks:
        for line in _lines(block):
            eol = draw(st.sampled_from(["\n", "\r", "\r\n"]))
            if previous_eol == "\r" and not line and eol == "\n":
                eol = "\r"  # "\r" then "\n" would be one line ending, not a blank line
            text += line + eol
            previous_eol = eol
        if block.id is not None:
            last_id = block.id
        if block.data:
            expected.append(
                SSEFrame(
                    event=block.event or "message",
                    data="\n".join(block.data),
                    id=last_id,
                    retry=block.retry,
                )
            )
    return text.encode(), expected


@settings(max_examples=200, deadline=None)
@given(stream=_streams(), cuts=st.lists(st.integers(min_value=0), max_size=12))
def test_chunking_never_changes_the_events(
    stream: tuple[bytes, list[SSEFrame]], cuts: list[int]
) -> None:
    data, expected = stream
    whole = decode(data)
    assert whole == expected
    bounds = sorted({0, len(data), *(cut % (len(data) + 1) for cut in cuts)})
    chunks = [data[start:end] for start, end in itertools.pairwise(bounds)]
    decoder = SSEDecoder()
    assert decode(*chunks, decoder=decoder) == whole
    assert not decoder.ended_mid_event


# --- async iteration -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_aiter_sse() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for chunk in (
            b'event: stream\nid: 1\ndata: {"output_value": "Once',
            b'"}\r',
            b"\n\r",
            b"\n: keep-alive\n\nid: 2\ndata: {}\n\ndata: cut",
        ):
            yield chunk

    decoder = SSEDecoder()
    events = [event async for event in aiter_sse(chunks(), decoder)]
    assert events == [ev('{"output_value": "Once"}', event="stream", id="1"), ev("{}", id="2")]
    assert decoder.ended_mid_event
    assert decoder.comments == 1
    assert [event async for event in aiter_sse(chunks())] == events


# --- frames --------------------------------------------------------------------------------------


def test_decoded_frames_are_the_frames_built_by_hand() -> None:
    # The decoder fills its frames without the dataclass __init__: they must not differ.
    decoded = decode(b"event: e\nid: 7\nretry: 5\ndata: a\n\ndata: b\n\n")
    built = [ev("a", event="e", id="7", retry=5), ev("b", id="7")]
    assert decoded == built
    assert [repr(f) for f in decoded] == [repr(f) for f in built]
    assert [hash(f) for f in decoded] == [hash(f) for f in built]
    assert [dataclasses.astuple(f) for f in decoded] == [dataclasses.astuple(f) for f in built]
    with pytest.raises(dataclasses.FrozenInstanceError):
        decoded[0].data = "changed"  # type: ignore[misc]
