"""Checking client input for the local server: bodies, fields and query parameters.

Every problem becomes a :class:`Refusal` with a 4xx status and a message naming the field, so
bad input never reaches a handler's logic (and never turns into a 500).

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

from starlette.requests import Request

from vectorshift import _log
from vectorshift.local import engine

T = TypeVar("T")

logger = _log.get_logger("vectorshift.local")

MAX_NAME_LENGTH = 1000
MAX_ID_LENGTH = 255
MAX_EVENT_ID = 2**63 - 1
"""Largest event sequence number a client may give (``?after=``, ``Last-Event-ID``): SQLite's."""

_SURROGATE_ESCAPE = re.compile(rb"\\[uU][dD][89a-fA-F]")

_TYPE_NAMES: dict[type, str] = {
    str: "a string",
    bool: "a boolean",
    dict: "a JSON object",
    list: "a JSON array",
    int: "an integer",
}


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


async def read_json_object(request: Request, max_bytes: int) -> dict[str, Any]:
    """Read the request body as a JSON object, at most ``max_bytes`` long.

    Raises:
        Refusal: 413 when too large, 415 for multipart or form bodies, 400 for anything that is
            not a JSON object.
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
    try:
        data = json.loads(
            raw.decode("utf-8"), parse_constant=_reject_constant, parse_float=_finite_float
        )
    except UnicodeDecodeError:
        raise Refusal(400, "request body is not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise Refusal(
            400, f"request body is not valid JSON: {exc.msg} (line {exc.lineno} column {exc.colno})"
        ) from None
    except ValueError as exc:
        raise Refusal(400, f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise Refusal(400, "request body is nested too deeply") from None
    if not isinstance(data, dict):
        raise Refusal(400, f"request body must be a JSON object, got {_json_type(data)}")
    if _SURROGATE_ESCAPE.search(raw):
        refuse_lone_surrogates(data)
    return data


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


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: valid JSON, but no answer could carry it back
        raise ValueError(f"number {text[:50]} is out of range")
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def field(
    body: Mapping[str, Any],
    name: str,
    kind: type[T],
    default: T | None = None,
    *,
    required: bool = False,
    max_length: int | None = None,
    where: str = "",
) -> T | None:
    """A body field of the given JSON type; ``null`` counts as absent.

    Args:
        body: The JSON object.
        name: The field.
        kind: ``str``, ``bool``, ``dict``, ``list`` or ``int``.
        default: Value when absent.
        required: Absent is an error (400).
        max_length: Longest accepted string.
        where: Prefix naming the enclosing object in messages (``"runs[2]."``).

    Raises:
        Refusal: 400 naming the field.
    """
    value: Any = body.get(name)
    label = f"'{where}{name}'"
    if value is None:
        if required:
            raise Refusal(400, f"missing required field {label}")
        return default
    if kind is int:
        valid = isinstance(value, int) and not isinstance(value, bool)
    else:
        valid = isinstance(value, kind)
    if not valid:
        raise Refusal(400, f"field {label} must be {_TYPE_NAMES[kind]}, got {_json_type(value)}")
    if max_length is not None and isinstance(value, str) and len(value) > max_length:
        raise Refusal(400, f"field {label} is too long ({len(value)} > {max_length} characters)")
    checked: T = value
    return checked


def required_field(
    body: Mapping[str, Any], name: str, kind: type[T], *, max_length: int | None = None
) -> T:
    """Like :func:`field` with ``required=True``, typed as never ``None``."""
    value = field(body, name, kind, required=True, max_length=max_length)
    assert value is not None
    return value


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
