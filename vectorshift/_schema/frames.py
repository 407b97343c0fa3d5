"""The stream frames (docs/protocol.md#sse-frames), read into :class:`~vectorshift.StreamChunk`.

A frame's data is validated straight from its text by :data:`STREAM_FRAME`: a ``stream`` frame
``{"type", "output_name", "output_value", "run_id"|"pipeline_run_id", "node_id"?}`` or the
``result`` frame ``{"type": "result", "status", "outputs", "error"?, "run_id"}``. The platform's
status word is normalised (``success`` -> ``succeeded``, kept as ``raw_status``), the frame's
JSON object is kept whole in ``raw``, fields the platform may add are kept there and nowhere
else, and :class:`~vectorshift.StreamChunk`'s own declaration checks every field.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BeforeValidator, Field, ValidationError, ValidationInfo
from pydantic_core import PydanticCustomError

from vectorshift._schema._base import Answer, Shape, describe, not_an_object
from vectorshift._sse import SSEFrame, parse_json_object
from vectorshift.errors import StreamError
from vectorshift.types import StreamChunk, normalize_status

__all__ = [
    "STREAM_FRAME",
    "ResultFrame",
    "StreamFrame",
    "add_outcome",
    "chunk_of",
    "error_text",
    "first_present",
]

_RUN_ID = AliasChoices("run_id", "pipeline_run_id")


class StreamFrame(Answer):
    """A ``stream`` frame: a token of a ``stream<string>`` output, or a node output's value.

    Token deltas go to outputs of type ``stream<string>`` fed by an llm node with
    ``"stream": true``; with ``send_intermediate_results`` (the default) the value of each node
    output is sent as it completes (``vectorshift.local`` names it ``"<node name>.<field>"``).
    """

    type: Literal["stream"] = "stream"
    """The frame's kind (the ``event:`` line, when sent, says the same)."""
    run_id: str | None = Field(None, validation_alias=_RUN_ID)
    """The run; some servers name it ``pipeline_run_id``."""
    output_name: str
    """The output (or ``<node name>.<field>``) the value belongs to."""
    output_value: Any = None
    """A token delta of a ``stream<string>`` output, or a node output's whole value."""
    node_id: str | None = None
    """The node that produced an intermediate value (``vectorshift.local``)."""


class ResultFrame(Answer):
    """The last frame of a stream: how the run ended, and its outputs."""

    type: Literal["result"]
    """Always ``result``."""
    run_id: str | None = Field(None, validation_alias=_RUN_ID)
    """The run; some servers name it ``pipeline_run_id``."""
    status: str
    """The platform's word: ``success``, ``failed`` or ``cancelled`` (the SDK normalises it)."""
    outputs: dict[str, Any] | None = None
    """The outputs by output node name."""
    error: Any = None
    """Why the run failed."""


_EXCERPT_CHARS = 200


def error_text(error: Any) -> Any:
    """A run's ``error`` as text: as sent when a string, else its ``str`` (``None`` if absent)."""
    return error if error is None or type(error) is str else str(error)


def first_present(data: dict[str, Any], *names: str) -> Any:
    """The value of the first of ``names`` that ``data`` holds and is not ``null``."""
    for name in names:
        value = data.get(name)
        if value is not None:
            return value
    return None


def add_outcome(fields: dict[str, Any], data: dict[str, Any]) -> None:
    """Put the run's status word (normalised, and as sent) and its error into ``fields``.

    The word is normalised only when it is a string; anything else is left for the model's
    ``status`` field to refuse, with the field's path.
    """
    word = data.get("status")
    if word is not None:
        fields["raw_status"] = word
        fields["status"] = normalize_status(word)[0] if type(word) is str else word
    error = data.get("error")
    if error is not None:
        fields["error"] = error_text(error)


def _chunk_fields(data: Any, info: ValidationInfo) -> Any:
    """A frame's JSON object as :class:`StreamChunk`'s fields; the context is the SSE id."""
    if type(data) is not dict:
        return data
    fields: dict[str, Any] = {"raw": data, "id": info.context}
    kind = data.get("type")
    fields["type"] = "stream" if kind is None else kind
    for name in ("output_name", "output_value", "outputs", "node_id"):
        if name in data:
            fields[name] = data[name]
    run_id = first_present(data, *_RUN_ID.choices)  # type: ignore[arg-type]
    if run_id is not None:
        fields["run_id"] = run_id
    if kind is not None and kind != "stream":  # a token's frame carries no outcome
        add_outcome(fields, data)
        if kind == "result" and "status" not in fields:
            raise PydanticCustomError("missing", "Field required", {"field": "status"})
    elif "status" in data or "error" in data:
        add_outcome(fields, data)
    return fields


STREAM_FRAME = Shape[StreamChunk](Annotated[StreamChunk, BeforeValidator(_chunk_fields)])
"""Reads a frame's data (``validate_json(frame.data, context=frame.id)``)."""


def chunk_of(frame: SSEFrame) -> StreamChunk:
    """The chunk ``frame`` holds.

    Raises:
        StreamError: the data is not JSON, or not an object, or a field docs/protocol.md names has
            the wrong type (``run_id`` an object...), or a ``result`` frame has no ``status``;
            the error quotes the frame.
    """
    try:
        return STREAM_FRAME.validate_json(frame.data, context=frame.id)
    except ValidationError as exc:
        if not_an_object(exc):
            parse_json_object(frame)  # raises the decoder's own error for it
        data = frame.data
        shown = data if len(data) <= _EXCERPT_CHARS else data[:_EXCERPT_CHARS] + "..."
        raise StreamError(
            f"a stream frame is not the platform's: {describe(exc)}", frame=shown
        ) from None
