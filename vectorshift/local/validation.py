"""Checking client input for the local server: reading bodies, and query parameters.

The shape of every body is declared once, in :mod:`vectorshift._schema.requests`; here a body is
read (size cap, content type) and validated with its model. Every problem becomes a
:class:`Refusal` with a 4xx status and a message naming the field, so bad input never reaches a
handler's logic (and never turns into a 500).

Lone surrogates. JSON may escape a UTF-16 surrogate that has no partner (``"\\ud800"``); it
parses, but it is not text: no UTF-8 encoding holds it, so neither SQLite nor a JSON answer can.
The server refuses such a string wherever it sits in a body, key or value, with a 400 naming
the field (:func:`refuse_lone_surrogates`); it never stores a replacement in its place. A
properly paired escape (``"\\ud83d\\ude00"``) is one character and is accepted.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any, TypeVar

import anyio.to_thread
from pydantic import ValidationError
from starlette.requests import Request

from vectorshift import _log
from vectorshift._schema._base import describe
from vectorshift._schema._body import Body
from vectorshift._schema.requests import MAX_NAME_LENGTH
from vectorshift.local import engine

B = TypeVar("B", bound=Body)

logger = _log.get_logger("vectorshift.local")

MAX_EVENT_ID = 2**63 - 1
"""Largest event sequence number a client may give (``?after=``, ``Last-Event-ID``): SQLite's."""

_SURROGATE_ESCAPE = re.compile(rb"\\[uU][dD][89a-fA-F]")

OFF_LOOP_BYTES = 64 * 1024
"""Bodies longer than this are validated in a worker thread, not on the server's loop.

Validating a 1.3 MB graph (10k nodes) takes tens of milliseconds of Python; on the loop, every
other client's request would wait for it (issue 24, point 6). In a thread the interpreter
switches back to the loop every few milliseconds. Small bodies stay on the loop, where the
thread hop would cost more than the work.
"""

OFF_LOOP_NODES = 500
"""Graphs of more nodes than this are checked (:func:`checked_graph_io`) in a worker thread."""


class Refusal(Exception):
    """The server's refusal of a request: answered as ``{"status": "failed", "error": message}``
    with an HTTP status.

    The server's own exception, raised by its handlers and turned into the response by the app;
    not :class:`vectorshift.ApiError`, which is what a client raises on receiving such an answer.

    Args:
        status: The HTTP status.
        message: What went wrong, naming the field or object concerned.
        headers: Extra response headers (``Retry-After``...).
    """

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


async def read_body_capped(request: Request, max_bytes: int) -> bytes:
    """Read the whole request body, refusing more than ``max_bytes``.

    Raises:
        Refusal: 413 as soon as the declared or received size is over the limit.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise Refusal(413, f"request body of {declared} bytes exceeds the limit of {max_bytes}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise Refusal(413, f"request body exceeds the limit of {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_body(request: Request, model: type[B], max_bytes: int) -> B:
    """Read the request body, at most ``max_bytes`` long, as the JSON object ``model`` declares.

    pydantic-core parses the bytes and validates them in one pass; every refusal names the
    field by its JSON path (:func:`vectorshift._schema._base.describe`).

    Raises:
        Refusal: 413 when too large, 415 for multipart or form bodies, 400 for a body that is
            not JSON, nested too deeply, or not of the declared shape.
    """
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith(("multipart/", "application/x-www-form-urlencoded")):
        raise Refusal(
            415,
            "this endpoint accepts JSON bodies only (Content-Type: application/json); "
            "multipart bodies (file inputs) are accepted by the run endpoint only",
        )
    raw = await read_body_capped(request, max_bytes)
    if not raw.strip():
        raise Refusal(400, "request body is empty: send a JSON object")
    if len(raw) > OFF_LOOP_BYTES:
        return await anyio.to_thread.run_sync(_validated, model, raw)
    return _validated(model, raw)


def _validated(model: type[B], raw: bytes) -> B:
    """``raw`` as ``model`` declares it, or a 400 naming the field."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if exc.errors()[0]["type"] == "json_invalid" and _SURROGATE_ESCAPE.search(raw):
            _name_lone_surrogate(raw)
        raise Refusal(400, describe(exc)) from None


def validate_body(model: type[B], body: dict[str, Any]) -> B:
    """``body`` (already parsed: a multipart run's form) as ``model`` declares it.

    Raises:
        Refusal: 400 naming the field.
    """
    refuse_lone_surrogates(body)
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise Refusal(400, describe(exc)) from None


def _name_lone_surrogate(raw: bytes) -> None:
    """Refuse ``raw`` naming the field of its lone surrogate, if it holds one.

    pydantic-core refuses such a body as invalid JSON at a line and column; Python's parser
    takes it, so the field can be named.
    """
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return
    refuse_lone_surrogates(data)


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str) -> str:
    """``text`` with any lone surrogate written as its ``\\udXXX`` escape (always encodable)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def refuse_lone_surrogates(value: Any, where: str = "") -> None:
    """Refuse a value holding a string (or key) with a lone surrogate, naming where it is.

    Args:
        value: A parsed JSON value (a body, or a part of one).
        where: The path of ``value`` in the body (``"runs[2]."``-style prefix; empty for a body).

    Raises:
        Refusal: 400 naming the field, e.g. ``field 'nodes.text_0.inputs.text' holds a lone
            UTF-16 surrogate``.
    """
    stack: list[tuple[str, Any]] = [(where, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and not _is_text(item):
                label = printable(path.rstrip(".")) or "body"
                raise Refusal(
                    400,
                    f"field {label[:300]!r} holds a lone UTF-16 surrogate (an unpaired "
                    "\\ud800-\\udfff escape), which is not text: send valid Unicode",
                )
        elif isinstance(item, dict):
            for key, child in item.items():
                if not key.isascii() and not _is_text(key):
                    label = printable(f"{path}{key}")
                    raise Refusal(
                        400,
                        f"key {label[:300]!r} holds a lone UTF-16 surrogate (an unpaired "
                        "\\ud800-\\udfff escape), which is not text: send valid Unicode",
                    )
                stack.append((f"{path}{key}.", child))
        elif isinstance(item, list):
            base = path.rstrip(".")
            stack.extend((f"{base}[{index}].", child) for index, child in enumerate(item))


def query_bool(request: Request, name: str, default: bool) -> bool:
    """A ``true``/``false`` query parameter (case-insensitive; ``1``/``0`` also accepted)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise Refusal(400, f"query parameter '{name}' must be 'true' or 'false', got {raw[:50]!r}")


def query_int(request: Request, name: str, default: int, *, low: int, high: int) -> int:
    """An integer query parameter within ``[low, high]``."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Refusal(
            400, f"query parameter '{name}' must be an integer, got {raw[:50]!r}"
        ) from None
    if not low <= value <= high:
        raise Refusal(400, f"query parameter '{name}' must be between {low} and {high}")
    return value


def event_position(raw: str, source: str) -> int:
    """The event sequence number a client resumes after: ``?after=`` and ``Last-Event-ID`` alike.

    Only ASCII digits are accepted (no sign, no ``_``, no ``²``), at most 19 of them, and at
    most :data:`MAX_EVENT_ID`; surrounding white space is ignored.

    Args:
        raw: The value as sent.
        source: How to name it in the refusal (``"query parameter 'after'"``...).

    Raises:
        Refusal: 400 naming ``source``.
    """
    text = raw.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 19 and int(text) <= MAX_EVENT_ID):
        raise Refusal(
            400,
            f"{source} must be an event id, an integer from 0 to {MAX_EVENT_ID}, "
            f"got {printable(raw[:50])!r}",
        )
    return int(text)


def query_seconds(request: Request, name: str) -> float | None:
    """A non-negative, finite number of seconds from the query string, or ``None`` if absent."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise Refusal(
            400, f"query parameter '{name}' must be a number of seconds >= 0, got {raw[:50]!r}"
        )
    return value


def query_str(request: Request, name: str, *, max_length: int = MAX_NAME_LENGTH) -> str | None:
    """A string query parameter, or ``None`` if absent or empty."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if len(raw) > max_length:
        raise Refusal(400, f"query parameter '{name}' is too long (> {max_length} characters)")
    return raw


async def checked_graph_io(nodes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """:func:`graph_io`, in a worker thread for a graph of more than :data:`OFF_LOOP_NODES`."""
    if len(nodes) > OFF_LOOP_NODES:
        return await anyio.to_thread.run_sync(graph_io, nodes)
    return graph_io(nodes)


def graph_io(nodes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate a graph and compute its pipeline-level inputs and outputs (422 when invalid)."""
    for node_id, node in nodes.items():
        if not isinstance(node, dict):
            raise Refusal(422, f"field 'nodes.{node_id}' must be a JSON object (a node)")
    try:
        engine.validate_graph(nodes)
        return engine.pipeline_io(nodes)
    except engine.GraphValidationError as exc:
        raise Refusal(422, str(exc)) from None
    except Exception as exc:
        logger.exception("graph validation failed unexpectedly")
        raise Refusal(422, f"field 'nodes': invalid graph ({type(exc).__name__}: {exc})") from None
