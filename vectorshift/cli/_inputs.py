"""``-i key=value`` and ``-i key=@file``: run inputs from the command line, typed by the pipeline.

A value is taken as the input node's type asks: text for ``string`` inputs, a
:class:`~vectorshift.File` for ``file`` inputs (``@path`` only), and JSON for the others
(``-i count=3``, ``-i flags='["a","b"]'``), falling back to the text when it is not JSON.
``@path`` reads the file: its bytes for a ``file`` input, its text (UTF-8) for any other;
``@-`` reads standard input. ``@@`` at the start stands for a literal ``@``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["parse_inputs"]


def parse_inputs(pairs: Sequence[str], types: Mapping[str, str]) -> dict[str, Any]:
    """The run inputs that ``-i`` options give, for a pipeline whose inputs have ``types``.

    Args:
        pairs: The ``key=value`` texts, in order (a later key replaces an earlier one).
        types: Each input node's name and ``input_type``.

    Raises:
        ValueError: a pair has no ``=``, or a ``file`` input is not given as ``@path``.
        OSError: a file cannot be read (the message names it).
    """
    inputs: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"-i {pair!r}: give an input as key=value or key=@file")
        inputs[key] = _value(key, value, types.get(key, "string"))
    return inputs


def _value(key: str, value: str, io_type: str) -> Any:
    from vectorshift import File

    if value.startswith("@@"):
        value = value[1:]
    elif value.startswith("@"):
        where = value[1:]
        if io_type == "file":
            if where == "-":
                return File("stdin", sys.stdin.buffer.read())
            return File.from_path(where)
        value = sys.stdin.read() if where == "-" else Path(where).read_text(encoding="utf-8")
        return value if io_type.startswith(("string", "stream")) else _json_or_text(value)
    if io_type == "file":
        raise ValueError(f"-i {key}=...: {key!r} is a file input; give it as {key}=@path")
    if io_type.startswith(("string", "stream")):
        return value
    return _json_or_text(value)


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value
