"""``-i key=value`` and ``-i key=@file``: run inputs from the command line, typed by the pipeline.

A value is taken as the input node's type asks: text for ``string`` and ``timestamp`` inputs, a
:class:`~vectorshift.File` for ``file`` inputs (``@path`` only), and JSON for the others
(``-i count=3``, ``-i flags='["a","b"]'``). A ``json`` input takes the text itself when it is
not JSON; for the typed inputs (``int32``, ``float``, ``bool``, ``vec<string>``) a value that is
not JSON is a usage error naming the input and its type, never sent as text.
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
        ValueError: a pair has no ``=``, a ``file`` input is not given as ``@path``, or a
            typed input's value is not JSON.
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
    if io_type == "file":
        raise ValueError(f"-i {key}=...: {key!r} is a file input; give it as {key}=@path")
    if io_type.startswith(("string", "stream")) or io_type in _TEXT_TYPES:
        return value
    try:
        return json.loads(value)
    except ValueError:
        if io_type == "json":
            return value
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise ValueError(
            f"-i {key}={shown}: input {key!r} is of type {io_type}, and its value is read as "
            f"JSON (e.g. {_EXAMPLES.get(io_type, '3')}); {shown!r} is not JSON"
        ) from None


_TEXT_TYPES = ("timestamp",)
"""Types whose values are text, taken as given like ``string``'s."""
_EXAMPLES = {
    "int32": "-i n=3",
    "float": "-i x=0.5",
    "bool": "-i flag=true",
    "vec<string>": '-i tags=\'["a", "b"]\'',
}
