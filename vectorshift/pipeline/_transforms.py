"""Node types that transform text and join branches: combine, format, split, merge.

Built like the rest of the catalog (:mod:`vectorshift.pipeline._catalog`): keyword
constructors, the platform's defaults, and checks that need no graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import get_args

from vectorshift.errors import PipelineDefinitionError
from vectorshift.pipeline._catalog import (
    FORMATTERS,
    Delimiter,
    Dependencies,
    Formatter,
    MergeFunction,
    TypedNode,
    Value,
    check_one_of,
)
from vectorshift.pipeline._node import NodeOutput, Output

__all__ = ["CombineTextNode", "MergeNode", "SplitTextNode", "TextFormatterNode"]


class CombineTextNode(TypedNode):
    """Concatenates texts, in order, with no separator. Output: ``processed_text``.

    Example:
        >>> both = pipeline.add(name="both").combine_text([topic.text, "\\n", style.text])
    """

    node_type = "combine_text"
    output_fields = ("processed_text",)
    processed_text = Output()
    DEFAULTS = {"text": [], "dependencies": []}

    def __init__(
        self,
        name: str,
        text: Sequence[Value],
        *,
        id: str | None = None,
        dependencies: Dependencies = (),
    ) -> None:
        if isinstance(text, (str, NodeOutput)):
            raise PipelineDefinitionError(
                f"combine_text node {name!r}: text is a list of the texts to combine"
            )
        self._setup(name, id, dependencies, text=list(text))


class TextFormatterNode(TypedNode):
    """Formats a text. Output: ``output``.

    Args:
        name: The node's name.
        text: The text to format.
        formatter: ``To Uppercase``, ``To Lowercase``, ``To Title Case`` (or its platform name
            ``To Propercase``: every word capitalised), ``Trim`` (or ``Trim Spaces``: leading
            and trailing whitespace removed) or ``Truncate`` (the first ``max_num_token``
            whitespace-separated tokens).
        id: The node's id; derived from the name by default.
        max_num_token: How many tokens ``Truncate`` keeps (at least 1).
        dependencies: Outputs to wait for besides ``text``'s.

    Raises:
        PipelineDefinitionError: an unknown formatter, or ``Truncate`` without
            ``max_num_token``.

    Example:
        >>> short = pipeline.add(name="short").text_formatter(llm.response, "Truncate",
        ...                                                   max_num_token=20)
    """

    node_type = "text_formatter"
    output_fields = ("output",)
    output = Output()
    DEFAULTS = {"text": "", "formatter": "To Uppercase", "dependencies": [], "max_num_token": 0}

    def __init__(
        self,
        name: str,
        text: Value,
        formatter: Formatter = "To Uppercase",
        *,
        id: str | None = None,
        max_num_token: int = 0,
        dependencies: Dependencies = (),
    ) -> None:
        check_one_of(name, "formatter", formatter, FORMATTERS)
        if formatter == "Truncate" and max_num_token < 1:
            raise PipelineDefinitionError(
                f"text_formatter node {name!r}: 'Truncate' needs max_num_token >= 1, "
                f"got {max_num_token}"
            )
        self._setup(name, id, dependencies, text=text, formatter=formatter,
                    max_num_token=max_num_token)


class SplitTextNode(TypedNode):
    """Splits a text into a list. Output: ``processed_text``.

    Args:
        name: The node's name.
        text: The text to split.
        delimiter: ``space`` (runs of spaces and tabs; the default, as on the platform),
            ``newline`` (line breaks; empty lines dropped) or ``character(s)`` (the exact
            ``character`` given; every piece kept).
        id: The node's id; derived from the name by default.
        character: The separator for ``delimiter="character(s)"``.
        dependencies: Outputs to wait for besides ``text``'s.

    Example:
        >>> parts = pipeline.add(name="parts").split_text(doc.text, "character(s)", character=";")
        >>> pipeline.add(name="items").output(parts.processed_text, "json")
    """

    node_type = "split_text"
    output_fields = ("processed_text",)
    processed_text = Output()
    DEFAULTS = {"text": "", "delimiter": "space", "dependencies": [], "character": ""}

    def __init__(
        self,
        name: str,
        text: Value,
        delimiter: Delimiter = "space",
        *,
        id: str | None = None,
        character: str = "",
        dependencies: Dependencies = (),
    ) -> None:
        check_one_of(name, "delimiter", delimiter, get_args(Delimiter))
        if delimiter == "character(s)" and not character:
            raise PipelineDefinitionError(
                f"split_text node {name!r}: delimiter 'character(s)' needs a non-empty character"
            )
        self._setup(name, id, dependencies, text=text, delimiter=delimiter, character=character)


class MergeNode(TypedNode):
    """Brings branches back together. Output: ``output``.

    Args:
        name: The node's name.
        fields: The branches' values, in order of preference.
        function: ``first``: the first field whose branch ran; ``join``: the list of the values
            of every branch that ran.
        id: The node's id; derived from the name by default.
        type: The platform's type of the merged value.
        dependencies: Outputs to wait for besides the fields'.

    Example:
        >>> merged = pipeline.add(name="merge").merge([code.response, plain.text])
    """

    node_type = "merge"
    output_fields = ("output",)
    output = Output()
    DEFAULTS = {"function": "first", "type": "string", "dependencies": [], "fields": []}

    def __init__(
        self,
        name: str,
        fields: Sequence[Value],
        function: MergeFunction = "first",
        *,
        id: str | None = None,
        type: str = "string",
        dependencies: Dependencies = (),
    ) -> None:
        check_one_of(name, "function", function, get_args(MergeFunction))
        if isinstance(fields, (str, NodeOutput)) or not fields:
            raise PipelineDefinitionError(
                f"merge node {name!r}: fields is a non-empty list of the branches' values"
            )
        self._setup(name, id, dependencies, function=function, type=type, fields=list(fields))
