"""The platform's input and output types: what each input type outputs, and accepts.

One table per fact, read by the local engine and server, by the SDK's run-input check, by the
builder's generator (which copies the names into ``vectorshift/pipeline/_generated_nodes.py``)
and by the docs generator:

- :data:`INPUT_OUTPUTS`: an input node's outputs by its ``input_type``, recorded from the
  official client (``tests/fixtures/official``).
- :data:`RUN_VALUES`: the pydantic type of the value a run gives an input of each type. An
  ``int32`` takes a whole number (not a boolean) in the 32-bit range; a ``float`` a number (not a
  boolean, not NaN or infinite); ``string``, ``timestamp`` and ``stream<string>`` a string
  (``None`` is refused); ``vec<string>`` a list of strings; ``json`` any JSON value. File and
  media inputs (``file``, ``vec<file>``, ``image``, ``audio``) are checked as files elsewhere.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Final

from pydantic import Field, JsonValue, StrictBool, StrictFloat, StrictInt, StrictStr, TypeAdapter
from pydantic import ValidationError as _ValidationError

from vectorshift._repr import short_repr
from vectorshift._schema._base import json_kind

__all__ = [
    "INPUT_OUTPUTS",
    "INPUT_TYPES",
    "OUTPUT_TYPES",
    "RUN_VALUES",
    "value_problem",
]

INPUT_OUTPUTS: Final[dict[str, tuple[str, ...]]] = {
    "string": ("text",),
    "int32": ("value",),
    "float": ("value",),
    "bool": ("value",),
    "vec<string>": ("value",),
    "timestamp": ("value",),
    "file": ("file", "file_name", "processed_text"),
    "vec<file>": ("files", "file_names", "processed_texts"),
    "image": ("image",),
    "audio": ("audio",),
    "json": (),
    "stream<string>": (),
}
"""An input node's outputs by its ``input_type``, besides ``complete`` (which every node has)."""

INPUT_TYPES: Final = tuple(INPUT_OUTPUTS)
"""Every ``input_type`` an input node may have, in the platform's order."""

OUTPUT_TYPES: Final = (
    "string",
    "stream<string>",
    "json",
    "int32",
    "float",
    "bool",
    "timestamp",
    "file",
    "vec<file>",
    "image",
    "audio",
    "dataframe",
    "vec<string>",
)
"""Every ``output_type`` an output node may have (a list, such as split text's, is ``json``;
``vec<string>`` is what the official client writes for a batch node's list of texts)."""

Int32 = Annotated[StrictInt, Field(ge=-(2**31), le=2**31 - 1)]
Number = StrictInt | Annotated[StrictFloat, Field(allow_inf_nan=False)]

RUN_VALUES: Final[dict[str, Any]] = {
    "string": StrictStr,
    "int32": Int32,
    "float": Number,
    "bool": StrictBool,
    "vec<string>": list[StrictStr],
    "timestamp": StrictStr,
    "json": JsonValue,
    "stream<string>": StrictStr,
}
"""The value a run gives an input, by input type (pydantic types, strict: nothing is coerced)."""


@cache
def _adapter(io_type: str) -> TypeAdapter[Any]:
    return TypeAdapter(RUN_VALUES[io_type])


_shown = short_repr


def value_problem(path: str, io_type: object, value: Any) -> str | None:
    """Why ``value`` is not a value of input type ``io_type``, or ``None`` when it is.

    Types without an entry in :data:`RUN_VALUES` (files, media, unknown types) are not checked
    here.

    Args:
        path: Where the value sits, for the message (``inputs.n``, ``runs[2].inputs.n``).
        io_type: The input's type (``int32``...).
        value: The value given.

    Returns:
        ``"<path>: expected <io_type>, got <value> (<its JSON type>)"``, or ``None``.

    Example:
        >>> value_problem("inputs.n", "int32", "abc")
        "inputs.n: expected int32, got 'abc' (a string)"
    """
    if not isinstance(io_type, str) or io_type not in RUN_VALUES:
        return None
    try:
        _adapter(io_type).validate_python(value, strict=True)
    except _ValidationError:
        return f"{path}: expected {io_type}, got {_shown(value)} ({json_kind(value)})"
    return None
