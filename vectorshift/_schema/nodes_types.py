"""The node types, one declaration each (see :mod:`vectorshift._schema.nodes` for the form).

Field order is the platform's saved order and the defaults are what its editor and the official
client save (recorded in ``tests/fixtures``), so a pipeline built from these opens in the visual
editor as if it had been made there. A class docstring is the node's description; the builder's
docstrings add the arguments (from the fields' docs), the outputs, ``raises`` and ``example``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

from vectorshift._schema.io_types import INPUT_OUTPUTS, INPUT_TYPES, OUTPUT_TYPES
from vectorshift._schema.nodes import Builder, NodeType, Outputs, Param, spec

__all__ = [
    "BINARY_OPERATORS",
    "NODE_TYPES",
    "OPERATORS",
    "UNARY_OPERATORS",
    "declaration",
]

UNARY_OPERATORS: Final = ("IsEmpty", "IsNotEmpty", "IsTrue", "IsFalse", "Expression")
"""Condition operators that test ``operand1`` alone; the platform stores no ``operand2``."""

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
"""Condition operators comparing ``operand1`` with ``operand2``, which is stored as text."""

OPERATORS: Final = BINARY_OPERATORS + UNARY_OPERATORS
"""Every condition operator string the platform stores, exactly as it spells them."""

FORMATTERS: Final = (
    "To Uppercase",
    "To Lowercase",
    "To Title Case",
    "To Propercase",
    "Trim",
    "Trim Spaces",
    "Truncate",
)
SPLIT_DELIMITERS: Final = ("space", "newline", "character(s)")
MERGE_FUNCTIONS: Final = ("first", "join")

_NAME = "The node's name."
BATCH: Final = ("normal", "batch")
"""The execution modes of node types that may run in batch mode (the official client's list)."""


def _deps(doc: str) -> Any:
    return spec([], doc)


class Input(NodeType):
    """A pipeline input; run inputs are keyed by this node's name.

    Using an output its type does not have (``count.text`` on an ``int32`` input) raises at once.
    """

    type_name: ClassVar[str] = "input"
    outputs: ClassVar[Outputs] = Outputs(by="input_type", cases=INPUT_OUTPUTS)
    builder: ClassVar[Builder] = Builder(
        "InputNode",
        "input",
        positional=("input_type",),
        keywords=(
            "description",
            "default_value",
            "use_default_value",
            "file_parser",
            "dataframe_type",
        ),
        params={
            "default_value": Param(
                "Any",
                "None",
                "Used when a run does not give this input; makes it optional. It must be a value "
                "of the input's type (``3`` for ``int32``).",
            ),
            "use_default_value": Param(
                "bool | None",
                "None",
                "Whether ``default_value`` makes the input optional (the official client's "
                "keyword); by default, true exactly when a ``default_value`` is given.",
            ),
        },
        name_doc="The node's name: the key of this input in run inputs.",
    )
    raises: ClassVar[str] = (
        "PipelineDefinitionError: an input type the platform does not have, or a default value "
        "that is not of the input's type."
    )
    example: ClassVar[str] = (
        '>>> query = pipeline.add(name="query").input()\n'
        '>>> count = pipeline.add(name="count").input(input_type="int32")\n'
        '>>> doc = pipeline.add(name="doc").input(input_type="file")\n'
        '>>> pipeline.add(name="summary").text(\n'
        '...     text=f"{doc.file_name} ({count.value} words): {doc.processed_text}")'
    )

    description: str = spec("", "Shown in the platform's UI and API docs.")
    input_type: str = spec(
        "string",
        "The type of the run's value. ``vectorshift.local`` runs all but ``vec<file>``, "
        "``image`` and ``audio``, which it refuses by name when a run gives them.",
        choices=("InputType", INPUT_TYPES),
    )
    use_default_value: bool = spec(False, "Whether ``default_value`` makes the input optional.")
    default_value: Any = spec("", "Used when a run does not give this input.")
    file_parser: str = spec("default", "How the platform parses a file input.")
    dataframe_type: str = spec("table", "The platform's dataframe kind.")


class Output(NodeType):
    """A pipeline output; run outputs are keyed by this node's name."""

    type_name: ClassVar[str] = "output"
    outputs: ClassVar[Outputs] = Outputs()
    builder: ClassVar[Builder] = Builder(
        "OutputNode",
        "output",
        positional=("value", "output_type"),
        keywords=("description", "format_output", "dataframe_type", "dependencies"),
        no_default=("value",),
        name_doc="The node's name: the key of this output in run results.",
    )
    example: ClassVar[str] = '>>> pipeline.add(name="answer").output(llm.response)'

    description: str = spec("", "Shown in the platform's UI and API docs.")
    format_output: bool = spec(True, "Let the platform format the value for display.")
    output_type: str = spec(
        "string",
        "The platform's type of the value (``json`` also for lists, such as split text's). A "
        "``stream<string>`` output receives token deltas when the run streams; it must be fed "
        "directly by the ``response`` of an llm node built with ``stream=True``.",
        choices=("OutputType", OUTPUT_TYPES),
    )
    dependencies: list[str] = _deps("Outputs to wait for besides ``value``'s.")
    value: Any = spec(
        "",
        "What to output, usually another node's output (``llm.response``).",
        required=True,
        wired=True,
    )
    dataframe_type: str = spec("table", "The platform's dataframe kind.")


class Text(NodeType):
    """A text template; references (``f"Summarise: {q.text}"``) are filled in."""

    type_name: ClassVar[str] = "text"
    outputs: ClassVar[Outputs] = Outputs(fixed=("text",))
    builder: ClassVar[Builder] = Builder(
        "TextNode", "text", positional=("text",), keywords=("dependencies",), no_default=("text",)
    )
    example: ClassVar[str] = (
        '>>> prompt = pipeline.add(name="prompt").text(f"Summarise: {query.text}")'
    )

    text: str = spec("", "The text; wire other nodes' outputs into it.", required=True, wired=True)
    dependencies: list[str] = _deps("Outputs to wait for besides those the text references.")


class Llm(NodeType):
    """A call to a language model."""

    type_name: ClassVar[str] = "llm"
    execution_modes: ClassVar[tuple[str, ...]] = BATCH
    batch_fields: ClassVar[tuple[str, ...]] = ("prompt", "system")
    outputs: ClassVar[Outputs] = Outputs(
        fixed=("response", "tokens_used", "input_tokens", "output_tokens", "credits_used")
    )
    builder: ClassVar[Builder] = Builder(
        "LlmNode",
        "llm",
        keywords=(
            "provider",
            "model",
            "prompt",
            "system",
            "stream",
            "temperature",
            "max_tokens",
            "top_p",
            "json_response",
            "token_delay_ms",
            "use_personal_api_key",
            "show_sources",
            "api_key",
            "base_url",
            "json_schema",
            "reasoning_effort",
            "thinking_token_limit",
            "verbosity",
            "aws_access_key_id",
            "aws_secret_access_key",
            "aws_region",
            "dependencies",
            "extra_inputs",
        ),
        params={
            "token_delay_ms": Param(
                "int | None",
                "None",
                "``vectorshift.local``'s simulated model only: milliseconds per token. Not sent "
                "unless given.",
            ),
            "extra_inputs": Param(
                "Mapping[str, Any] | None",
                "None",
                "Other inputs of the platform's llm node "
                '(``{"reasoning_effort": "high"}``...), sent as given.',
            ),
        },
    )
    raises: ClassVar[str] = (
        "PipelineDefinitionError: an extra input the platform's llm node does not have."
    )
    example: ClassVar[str] = (
        '>>> llm = pipeline.add(name="llm").llm(model="gpt-4o-mini", prompt=query.text)'
    )

    model: str = spec("gpt-4o", "The model name.", required=True)
    prompt: str = spec(
        "", "The user prompt; wire other nodes' outputs into it.", required=True, wired=True
    )
    system: str = spec("", "The system prompt.", wired=True)
    temperature: float = spec(0.5, "Sampling temperature.")
    max_tokens: int = spec(128000, "Upper bound of the answer's length in tokens.")
    top_p: float = spec(0.5, "Nucleus sampling.")
    baseUrl: str = spec("")
    citation_metadata: list[Any] = spec([])
    enable_moderation: bool = spec(False)
    enable_pii_address: bool = spec(False)
    enable_pii_cc: bool = spec(False)
    enable_pii_email: bool = spec(False)
    enable_pii_name: bool = spec(False)
    enable_pii_phone: bool = spec(False)
    enable_pii_ssn: bool = spec(False)
    jsonSchema: str = spec("")
    provider: str = spec(
        "openai",
        "``openai`` on the platform; ``vectorshift.local`` also offers ``local``, an offline "
        'simulated model (``model="echo"`` or ``model="lorem"``).',
        required=True,
    )
    reasoning_effort: str = spec("default")
    retry_on_failure: bool = spec(False)
    safe_context_token_window: bool = spec(False)
    show_sources: bool = spec(False)
    stream: bool = spec(
        False, "Publish tokens as they are produced (what ``stream<string>`` outputs receive)."
    )
    use_personal_api_key: bool = spec(False)
    verbosity: str = spec("default")
    dependencies: list[str] = _deps("Outputs to wait for besides those the prompts reference.")
    json_response: bool = spec(
        False, "Ask for a JSON answer; ``response`` is then the parsed JSON value."
    )
    max_retries: int = spec(1)
    retry_interval_ms: int = spec(1000)
    json_schema: str = spec("")
    base_url: str = spec("")
    api_key: str = spec("")
    use_finetuned_model: bool = spec(False)
    finetuned_model: str = spec("")
    enable_web_search: bool = spec(False)
    thinking_token_limit: int = spec(24576)
    aws_access_key_id: str = spec("")
    aws_secret_access_key: str = spec("")
    aws_region: str = spec("us-east-1")
    endpoint: str = spec("")
    deployment_id: str = spec("")


class CombineText(NodeType):
    """Concatenates texts, in order, with no separator."""

    type_name: ClassVar[str] = "combine_text"
    execution_modes: ClassVar[tuple[str, ...]] = BATCH
    batch_fields: ClassVar[tuple[str, ...]] = ("text",)
    outputs: ClassVar[Outputs] = Outputs(fixed=("processed_text",))
    builder: ClassVar[Builder] = Builder(
        "CombineTextNode",
        "combine_text",
        positional=("text",),
        keywords=("dependencies",),
        no_default=("text",),
    )
    raises: ClassVar[str] = "PipelineDefinitionError: ``text`` is not a list."
    example: ClassVar[str] = (
        '>>> both = pipeline.add(name="both").combine_text([topic.text, "\\\\n", style.text])'
    )

    text: list[Any] = spec([], "The texts to combine, in order.", required=True, wired=True)
    dependencies: list[str] = _deps("Outputs to wait for besides the texts'.")


class TextFormatter(NodeType):
    """Formats a text."""

    type_name: ClassVar[str] = "text_formatter"
    execution_modes: ClassVar[tuple[str, ...]] = BATCH
    batch_fields: ClassVar[tuple[str, ...]] = ("text", "formatter")
    outputs: ClassVar[Outputs] = Outputs(fixed=("output",))
    builder: ClassVar[Builder] = Builder(
        "TextFormatterNode",
        "text_formatter",
        positional=("text", "formatter"),
        keywords=("max_num_token", "dependencies"),
        no_default=("text",),
    )
    raises: ClassVar[str] = (
        "PipelineDefinitionError: an unknown formatter, or ``Truncate`` without ``max_num_token``."
    )
    example: ClassVar[str] = (
        '>>> short = pipeline.add(name="short").text_formatter(llm.response, "Truncate",\n'
        "...                                                   max_num_token=20)"
    )

    text: str = spec("", "The text to format.", required=True, wired=True)
    formatter: str = spec(
        "To Uppercase",
        "``To Uppercase``, ``To Lowercase``, ``To Title Case`` (or its platform name "
        "``To Propercase``: every word capitalised), ``Trim`` (or ``Trim Spaces``: leading and "
        "trailing whitespace removed) or ``Truncate`` (the first ``max_num_token`` "
        "whitespace-separated tokens).",
        required=True,
        choices=("Formatter", FORMATTERS),
    )
    dependencies: list[str] = _deps("Outputs to wait for besides ``text``'s.")
    max_num_token: int = spec(0, "How many tokens ``Truncate`` keeps (at least 1).")


class SplitText(NodeType):
    """Splits a text into a list."""

    type_name: ClassVar[str] = "split_text"
    execution_modes: ClassVar[tuple[str, ...]] = BATCH
    batch_fields: ClassVar[tuple[str, ...]] = ("text", "delimiter")
    outputs: ClassVar[Outputs] = Outputs(fixed=("processed_text",))
    builder: ClassVar[Builder] = Builder(
        "SplitTextNode",
        "split_text",
        positional=("text", "delimiter"),
        keywords=("character", "dependencies"),
        no_default=("text",),
    )
    raises: ClassVar[str] = (
        "PipelineDefinitionError: an unknown delimiter, or ``character(s)`` without a character."
    )
    example: ClassVar[str] = (
        '>>> parts = pipeline.add(name="parts").split_text(doc.text, "character(s)",\n'
        '...                                                character=";")\n'
        '>>> pipeline.add(name="items").output(parts.processed_text, "json")'
    )

    text: str = spec("", "The text to split.", required=True, wired=True)
    delimiter: str = spec(
        "space",
        "``space`` (runs of spaces and tabs; the default, as on the platform), ``newline`` "
        "(line breaks; empty lines dropped) or ``character(s)`` (the exact ``character`` given; "
        "every piece kept). The output is a list whatever the delimiter.",
        required=True,
        choices=("Delimiter", SPLIT_DELIMITERS),
    )
    dependencies: list[str] = _deps("Outputs to wait for besides ``text``'s.")
    character: str = spec("", 'The separator for ``delimiter="character(s)"``.')


class Merge(NodeType):
    """Brings branches back together."""

    type_name: ClassVar[str] = "merge"
    outputs: ClassVar[Outputs] = Outputs(fixed=("output",))
    builder: ClassVar[Builder] = Builder(
        "MergeNode",
        "merge",
        positional=("fields", "function"),
        keywords=("type", "dependencies"),
        no_default=("fields",),
    )
    raises: ClassVar[str] = (
        "PipelineDefinitionError: an unknown function, or ``fields`` is not a non-empty list."
    )
    example: ClassVar[str] = (
        '>>> merged = pipeline.add(name="merge").merge([code.response, plain.text])'
    )

    function: str = spec(
        "first",
        "``first``: the first field whose branch ran; ``join``: the list of the values of "
        "every branch that ran.",
        required=True,
        choices=("MergeFunction", MERGE_FUNCTIONS),
    )
    type: str = spec("string", "The platform's type of the merged value.")
    dependencies: list[str] = _deps("Outputs to wait for besides the fields'.")
    fields: list[Any] = spec(
        [], "The branches' values, in order of preference.", required=True, wired=True
    )


class Condition(NodeType):
    """Routes the run down the first path whose condition is true, else ``path_else``.

    Built by the hand-written :class:`vectorshift.ConditionNode` (clauses and groups are objects
    of their own); its operators are :data:`OPERATORS`.
    """

    type_name: ClassVar[str] = "condition"
    outputs: ClassVar[Outputs] = Outputs(
        computed="``path_0``, ``path_1``... one per group of ``conditions``, and ``path_else``"
    )
    builder: ClassVar[Builder] = Builder("ConditionNode", "condition", generate=False)

    conditions: list[Any] = spec(
        [], "One group of terms per path, in order.", required=True, wired=True
    )
    outputs_: dict[str, str] = spec({}, "``path`` for every path name.", alias="outputs")
    dependencies: list[str] = _deps("Outputs to wait for besides those the clauses reference.")


class Pipeline(NodeType):
    """A saved pipeline used as a node; beside ``pipeline_id``, one input per sub-pipeline input.

    Built by the hand-written :class:`vectorshift.PipelineNode`.
    """

    type_name: ClassVar[str] = "pipeline"
    execution_modes: ClassVar[tuple[str, ...]] = BATCH
    outputs: ClassVar[Outputs] = Outputs(
        computed="one per output node of the sub-pipeline, by that node's name"
    )
    builder: ClassVar[Builder] = Builder("PipelineNode", "pipeline", generate=False)

    pipeline_id: str = spec("", "The id of the saved sub-pipeline.", required=True)
    dependencies: list[str] = _deps("Outputs to wait for besides the inputs'.")


NODE_TYPES: Final[dict[str, type[NodeType]]] = {
    declared.type_name: declared
    for declared in (
        Input,
        Output,
        Text,
        Llm,
        CombineText,
        TextFormatter,
        SplitText,
        Merge,
        Condition,
        Pipeline,
    )
}
"""Every declared node type by its platform name."""


def declaration(node_type: str) -> type[NodeType] | None:
    """The declaration of a node type, or ``None`` for types not declared here."""
    return NODE_TYPES.get(node_type)
