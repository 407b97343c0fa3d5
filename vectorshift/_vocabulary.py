"""The platform's words, in one place: condition operators and what each input type outputs.

These are facts recorded from the official client (``vectorshift==0.1.15``; the recorded graphs
are in ``tests/fixtures/official``), not choices of ours. The builder writes them and the local
engine executes them, so both read them from here. The module imports nothing, so the local
server and the builder can share it without loading each other.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BINARY_OPERATORS",
    "INPUT_OUTPUTS",
    "INPUT_TYPES",
    "OPERATORS",
    "OUTPUT_TYPES",
    "SPLIT_DELIMITERS",
    "UNARY_OPERATORS",
]

UNARY_OPERATORS: Final = ("IsEmpty", "IsNotEmpty", "IsTrue", "IsFalse", "Expression")
"""Operators that test ``operand1`` alone; the platform stores no ``operand2`` key for them."""

BINARY_OPERATORS: Final = (
    "Equal",
    "NotEqual",
    "GreaterThan",
    "LessThan",
    "GreaterThanEqual",
    "LessThanEqual",
    "TextContains",
    "TextDoesNotContains",
    "TextStartsWith",
    "TextDoesNotStartWith",
    "TextEndsWith",
    "TextDoesNotEndWith",
    "TextGreaterThanNCharacters",
    "TextLessThanNCharacters",
    "VecContainsItem",
    "VecDoesNotContainsItem",
    "MapContainsKey",
)
"""Operators that compare ``operand1`` with ``operand2``, which the platform stores as text."""

OPERATORS: Final = BINARY_OPERATORS + UNARY_OPERATORS
"""Every condition operator string the platform stores, exactly as it spells them."""

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
"""Every ``input_type`` an input node may have."""

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
)
"""Every ``output_type`` an output node may have (a list, such as split text's, is ``json``)."""

SPLIT_DELIMITERS: Final = ("space", "newline", "character(s)")
"""A split-text node's ``delimiter``: ``character(s)`` splits on its ``character`` input."""
