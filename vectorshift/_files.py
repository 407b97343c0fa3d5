"""File inputs: the :class:`File` value, and run request bodies sent as multipart form data.

A run whose inputs hold a file goes as ``multipart/form-data`` (docs/protocol.md#transport): a field
``inputs`` holding the JSON of the other inputs, one file part per file input named after the
input, and the other body options as form fields (booleans as ``true``/``false``, objects as
JSON). Files are read when the request body is built, so every retry resends the same bytes.
"""

from __future__ import annotations

import json
import mimetypes
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from vectorshift.errors import ArgumentError, ArgumentTypeError, InputTypeError

__all__ = ["File", "FormParts", "as_file", "encode_body", "is_file_value", "multipart_body"]

FormParts = list[tuple[str, tuple[str, bytes, str]]]
"""File parts of a multipart body: ``(part name, (file name, content, content type))``."""

_DEFAULT_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class File:
    """A file given as a run input: its name, its bytes and its media type.

    Run inputs may also hold a :class:`pathlib.Path` or a binary file object (anything with
    ``.read()`` returning bytes); both are read when the run request is built.

    Args:
        name: The file name the platform sees (``report.txt``).
        content: The file's bytes.
        content_type: The file's media type.

    Example:
        >>> doc = File("notes.txt", b"hello", "text/plain")
        >>> pipeline.run({"doc": doc})
        >>> pipeline.run({"doc": File.from_path("report.pdf")})
    """

    name: str
    content: bytes = field(repr=False)
    content_type: str = _DEFAULT_TYPE

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ArgumentError(
                f"a File needs a non-empty name, got {self.name!r}", argument="name"
            )
        if not isinstance(self.content, (bytes, bytearray, memoryview)):
            raise ArgumentTypeError(
                f"File {self.name!r}: content must be bytes, got {type(self.content).__name__}",
                argument="content",
            )
        object.__setattr__(self, "content", bytes(self.content))

    @classmethod
    def from_path(cls, path: str | os.PathLike[str]) -> File:
        """Read a file from disk; its media type is guessed from its name.

        Raises:
            OSError: the file cannot be read.
        """
        resolved = Path(path)
        return cls(resolved.name, resolved.read_bytes(), _guess_type(resolved.name))

    @property
    def size(self) -> int:
        """The content's length in bytes."""
        return len(self.content)


def _guess_type(name: str) -> str:
    guessed, _ = mimetypes.guess_type(name)
    return guessed or _DEFAULT_TYPE


def is_file_value(value: Any) -> bool:
    """Whether a run input value is a file: a :class:`File`, a path object or a file object."""
    if isinstance(value, (File, PurePath)):
        return True
    return not isinstance(value, (str, bytes)) and callable(getattr(value, "read", None))


def as_file(value: Any, input_name: str) -> File:
    """The :class:`File` a file input value stands for, reading paths and file objects now.

    Raises:
        InputTypeError: a file object read text instead of bytes (a ``TypeError``).
        OSError: a path cannot be read.
    """
    if isinstance(value, File):
        return value
    if isinstance(value, PurePath):
        return File.from_path(Path(value))
    content = value.read()
    if not isinstance(content, (bytes, bytearray)):
        raise InputTypeError(
            f"input {input_name!r}: the file object read {type(content).__name__}, not bytes; "
            "open it in binary mode ('rb')",
            input_names=(input_name,),
        )
    raw_name = getattr(value, "name", None)
    name = os.path.basename(raw_name) if isinstance(raw_name, str) and raw_name else input_name
    return File(name, bytes(content), _guess_type(name))


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def multipart_body(body: Mapping[str, Any]) -> tuple[dict[str, str], FormParts] | None:
    """A run body as multipart fields and file parts, or ``None`` when no input is a file.

    ``body["inputs"]`` holds :class:`File` values for file inputs (see :func:`as_file`).
    """
    inputs: Mapping[str, Any] = body.get("inputs") or {}
    files = {name: value for name, value in inputs.items() if isinstance(value, File)}
    if not files:
        return None
    plain = {name: value for name, value in inputs.items() if name not in files}
    fields = {"inputs": json.dumps(plain)}
    fields.update({key: _form_value(value) for key, value in body.items() if key != "inputs"})
    parts: FormParts = [
        (name, (file.name, file.content, file.content_type)) for name, file in files.items()
    ]
    return fields, parts


def encode_body(
    body: Mapping[str, Any],
) -> tuple[Mapping[str, Any] | None, dict[str, str] | None, FormParts | None]:
    """``(json_body, data, files)`` to send a run body: JSON, or multipart when it holds files."""
    form = multipart_body(body)
    if form is None:
        return body, None, None
    return None, form[0], form[1]
