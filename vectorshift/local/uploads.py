"""Multipart run requests: file inputs sent as ``multipart/form-data`` to the run endpoint (P6).

As docs/protocol.md#transport says: the field ``inputs`` holds the JSON object of the plain inputs,
each file input is a file part named after the input, and the other body options are form fields
(booleans as ``true``/``false``, objects as JSON). The whole body counts against the server's
``max_body_bytes``. Only the run endpoint accepts such bodies.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import Message

from vectorshift.local.nesting import refuse_deep, too_deep
from vectorshift.local.nodes import UploadedFile
from vectorshift.local.validation import Refusal, read_body_capped

__all__ = ["is_multipart", "read_run_form"]

_BOOLEAN_FIELDS = ("background", "stream", "stream_all_outputs", "send_intermediate_results")
_OBJECT_FIELDS = ("inputs", "node_input_overrides")


def is_multipart(request: Request) -> bool:
    """Whether the request body is ``multipart/form-data``."""
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


def _replay(request: Request, raw: bytes) -> Request:
    """A request over the same scope whose body is ``raw`` (already read and size-checked)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    return Request(request.scope, receive)


def _option(name: str, raw: str) -> Any:
    if name in _BOOLEAN_FIELDS:
        lowered = raw.strip().lower()
        if lowered not in ("true", "false"):
            raise Refusal(400, f"form field {name!r} must be 'true' or 'false', got {raw[:50]!r}")
        return lowered == "true"
    if name in _OBJECT_FIELDS:
        try:
            value = json.loads(raw)
        except RecursionError:
            raise too_deep(f"form field {name!r}") from None
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise Refusal(400, f"form field {name!r} must be a JSON object (as a string)")
        refuse_deep(value, f"form field {name!r}", levels_above=1)
        return value
    return raw


async def read_run_form(
    request: Request, max_bytes: int, file_inputs: Collection[str]
) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Read a multipart run request: its body options and its files, by input name.

    Args:
        request: The run request.
        max_bytes: Largest accepted body.
        file_inputs: The names of the pipeline's file inputs.

    Returns:
        The body as its JSON form would be (``inputs`` holding the plain inputs) and the
        uploaded files keyed by part name.

    Raises:
        Refusal: 413 when too large; 400 for a malformed body or field; 422 for a file part
            given twice or a file input sent as a plain form field.
    """
    raw = await read_body_capped(request, max_bytes)
    body: dict[str, Any] = {}
    files: dict[str, UploadedFile] = {}
    async with _replay(request, raw).form() as form:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name in files:
                    raise Refusal(422, f"file input {name!r} was sent in more than one part")
                content = await value.read()
                files[name] = UploadedFile(
                    name=value.filename or name,
                    content_type=value.content_type or "application/octet-stream",
                    content=content,
                )
            elif name in file_inputs:
                raise Refusal(
                    422,
                    f"input {name!r} is a file input: send it as a file part, not a form field",
                )
            else:
                body[name] = _option(name, value)
    return body, files
