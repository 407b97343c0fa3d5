"""The node types the SDK knows: typed outputs, keyword constructors and platform defaults.

Each class is the one place that describes its node type: its constructor takes the node's
settings as keyword arguments, fills in every other input with the platform's default, and
checks what can be checked without the graph. ``pipeline.add(name=...).llm(...)`` calls the same
constructor, so a node built directly (``pipeline.add_node(LlmNode(name="llm", ...))``) is the
same node.

Input defaults and their order follow what the platform's editor and the official client save
(recorded in ``tests/fixtures``), so a pipeline built here opens in the visual editor as if it had
been made there. This module is imported only when a pipeline is built or fetched, never by
``import vectorshift``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal, get_args

from vectorshift._vocabulary import INPUT_OUTPUTS
from vectorshift.errors import PipelineDefinitionError
from vectorshift.pipeline._graph import input_mismatch
from vectorshift.pipeline._node import Node, NodeOutput, Output

if TYPE_CHECKING:
    from vectorshift.pipeline._pipeline import Pipeline

__all__ = ["InputNode", "LlmNode", "OutputNode", "PipelineNode", "TextNode"]

Value = Any
"""A node input: a literal, a :class:`NodeOutput`, a string embedding references, or a list."""
Dependencies = Sequence[NodeOutput | str]
"""Outputs a node waits for besides those its inputs reference (``[router.path_0]``)."""

InputType = Literal[
    "string", "int32", "float", "bool", "vec<string>", "timestamp", "file", "vec<file>", "image",
    "audio", "json", "stream<string>",
]
OutputType = Literal[
    "string", "stream<string>", "json", "int32", "float", "bool", "timestamp", "file", "vec<file>",
    "image", "audio", "dataframe",
]
Formatter = Literal[
    "To Uppercase", "To Lowercase", "To Title Case", "To Propercase", "Trim", "Trim Spaces",
    "Truncate",
]
Delimiter = Literal["space", "newline", "character(s)"]
MergeFunction = Literal["first", "join"]

INPUT_TYPES: tuple[str, ...] = get_args(InputType)
OUTPUT_TYPES: tuple[str, ...] = get_args(OutputType)
FORMATTERS: tuple[str, ...] = get_args(Formatter)


def check_one_of(node: str, what: str, value: object, allowed: tuple[str, ...]) -> None:
    """Refuse ``value`` for the setting ``what`` of node ``node`` unless it is ``allowed``."""
    if value not in allowed:
        raise PipelineDefinitionError(
            f"node {node!r}: {what} {value!r} is not one of {', '.join(allowed)}"
        )


class TypedNode(Node):
    """A modelled node type: the platform's defaults, overridden by the given inputs.

    Package-internal: the base of every class of this module and of ``_transforms``.
    """

    DEFAULTS: ClassVar[Mapping[str, Any]] = {}

    def _setup(
        self, name: str, id: str | None, dependencies: Dependencies | None, **inputs: Any
    ) -> None:
        merged = {**self.DEFAULTS, **inputs}
        if dependencies is not None:
            merged["dependencies"] = list(dependencies)
        Node.__init__(self, name=name, id=id, inputs=merged)


class InputNode(TypedNode):
    """A pipeline input; run inputs are keyed by this node's name.

    Outputs depend on the input type, as on the platform: ``string`` has ``text``; ``int32``,
    ``float``, ``bool``, ``vec<string>`` and ``timestamp`` have ``value``; ``file`` has ``file``
    (the file), ``file_name`` and ``processed_text`` (the file's text); ``vec<file>`` has
    ``files``, ``file_names`` and ``processed_texts``; ``image`` has ``image`` and ``audio``
    ``audio``; ``json`` and ``stream<string>`` have only ``complete``. Using an output the type
    does not have (``count.text`` on an ``int32`` input) raises at once.

    Args:
        name: The node's name: the key of this input in run inputs.
        input_type: One of ``string``, ``int32``, ``float``, ``bool``, ``vec<string>``,
            ``timestamp``, ``file``, ``vec<file>``, ``image``, ``audio``, ``json``,
            ``stream<string>``. ``vectorshift.local`` runs all but ``vec<file>``, ``image`` and
            ``audio``, which it refuses by name when a run gives them.
        id: The node's id; derived from the name by default.
        description: Shown in the platform's UI and API docs.
        default_value: Used when a run does not give this input; makes it optional.

    Raises:
        PipelineDefinitionError: an input type the platform does not have.

    Example:
        >>> query = pipeline.add(name="query").input()
        >>> count = pipeline.add(name="count").input(input_type="int32")
        >>> doc = pipeline.add(name="doc").input(input_type="file")
        >>> pipeline.add(name="summary").text(
        ...     text=f"{doc.file_name} ({count.value} words): {doc.processed_text}")
    """

    node_type = "input"
    output_fields = ("text",)
    text = Output()
    value = Output()
    file = Output()
    file_name = Output()
    processed_text = Output()
    files = Output()
    file_names = Output()
    processed_texts = Output()
    image = Output()
    audio = Output()
    DEFAULTS = {
        "description": "", "input_type": "string", "use_default_value": False,
        "default_value": "", "file_parser": "default", "dataframe_type": "table",
    }

    def __init__(
        self,
        name: str,
        input_type: InputType = "string",
        *,
        id: str | None = None,
        description: str = "",
        default_value: Any = None,
    ) -> None:
        check_one_of(name, "input_type", input_type, INPUT_TYPES)
        given = {} if default_value is None else {
            "use_default_value": True, "default_value": default_value
        }
        self._setup(name, id, None, description=description, input_type=input_type, **given)
        self.outputs = sorted({"complete", *INPUT_OUTPUTS[input_type]})


class OutputNode(TypedNode):
    """A pipeline output; run outputs are keyed by this node's name.

    Args:
        name: The node's name: the key of this output in run results.
        value: What to output, usually another node's output (``llm.response``).
        output_type: The platform's: ``string``, ``stream<string>``, ``json`` (also for lists,
            such as split text's), ``int32``, ``float``, ``bool``, ``timestamp``, ``file``,
            ``vec<file>``, ``image``, ``audio`` or ``dataframe``. A ``stream<string>`` output
            receives token deltas when the run streams; it must be fed directly by the
            ``response`` of an llm node built with ``stream=True``.
        id: The node's id; derived from the name by default.
        description: Shown in the platform's UI and API docs.
        format_output: Let the platform format the value for display.
        dependencies: Outputs to wait for besides ``value``'s.

    Example:
        >>> pipeline.add(name="answer").output(llm.response)
    """

    node_type = "output"
    output_fields = ()
    DEFAULTS = {
        "description": "", "format_output": True, "output_type": "string", "dependencies": [],
        "value": "", "dataframe_type": "table",
    }

    def __init__(
        self,
        name: str,
        value: Value,
        output_type: OutputType = "string",
        *,
        id: str | None = None,
        description: str = "",
        format_output: bool = True,
        dependencies: Dependencies = (),
    ) -> None:
        check_one_of(name, "output_type", output_type, OUTPUT_TYPES)
        self._setup(name, id, dependencies, description=description,
                    format_output=format_output, output_type=output_type, value=value)


class TextNode(TypedNode):
    """A text template; references (``f"Summarise: {q.text}"``) are filled in. Output: ``text``.

    Example:
        >>> prompt = pipeline.add(name="prompt").text(f"Summarise: {query.text}")
    """

    node_type = "text"
    output_fields = ("text",)
    text = Output()
    DEFAULTS = {"text": "", "dependencies": []}

    def __init__(
        self, name: str, text: Value, *, id: str | None = None, dependencies: Dependencies = ()
    ) -> None:
        self._setup(name, id, dependencies, text=text)


class LlmNode(TypedNode):
    """A call to a language model. Outputs: ``response`` and token counts.

    Args:
        name: The node's name.
        id: The node's id; derived from the name by default.
        provider: ``openai`` on the platform; ``vectorshift.local`` also offers ``local``, an
            offline simulated model (``model="echo"`` or ``model="lorem"``).
        model: The model name.
        prompt: The user prompt; wire other nodes' outputs into it.
        system: The system prompt.
        stream: Publish tokens as they are produced (what ``stream<string>`` outputs receive).
        temperature: Sampling temperature.
        max_tokens: Upper bound of the answer's length in tokens.
        top_p: Nucleus sampling.
        json_response: Ask for a JSON answer; ``response`` is then the parsed JSON value.
        token_delay_ms: ``vectorshift.local``'s simulated model only: milliseconds per token.
            Not sent unless given.
        dependencies: Outputs to wait for besides those the prompts reference.
        extra_inputs: Other inputs of the platform's llm node
            (``{"reasoning_effort": "high"}``...), sent as given.

    Raises:
        PipelineDefinitionError: an extra input the platform's llm node does not have.

    Example:
        >>> llm = pipeline.add(name="llm").llm(model="gpt-4o-mini", prompt=query.text)
    """

    node_type = "llm"
    output_fields = ("credits_used", "input_tokens", "output_tokens", "response", "tokens_used")
    response = Output()
    tokens_used = Output()
    input_tokens = Output()
    output_tokens = Output()
    credits_used = Output()
    DEFAULTS = {
        "model": "gpt-4o", "prompt": "", "system": "", "temperature": 0.5,
        "max_tokens": 128000, "top_p": 0.5, "baseUrl": "", "citation_metadata": [],
        "enable_moderation": False, "enable_pii_address": False, "enable_pii_cc": False,
        "enable_pii_email": False, "enable_pii_name": False, "enable_pii_phone": False,
        "enable_pii_ssn": False, "jsonSchema": "", "provider": "openai",
        "reasoning_effort": "default", "retry_on_failure": False,
        "safe_context_token_window": False, "show_sources": False, "stream": False,
        "use_personal_api_key": False, "verbosity": "default", "dependencies": [],
        "json_response": False, "max_retries": 1, "retry_interval_ms": 1000, "json_schema": "",
        "base_url": "", "api_key": "", "use_finetuned_model": False, "finetuned_model": "",
        "enable_web_search": False, "thinking_token_limit": 24576, "aws_access_key_id": "",
        "aws_secret_access_key": "", "aws_region": "us-east-1", "endpoint": "",
        "deployment_id": "",
    }

    def __init__(
        self,
        name: str,
        *,
        id: str | None = None,
        provider: str = "openai",
        model: str = "gpt-4o",
        prompt: Value = "",
        system: Value = "",
        stream: bool = False,
        temperature: float = 0.5,
        max_tokens: int = 128000,
        top_p: float = 0.5,
        json_response: bool = False,
        token_delay_ms: int | None = None,
        dependencies: Dependencies = (),
        extra_inputs: Mapping[str, Any] | None = None,
    ) -> None:
        extra_inputs = dict(extra_inputs or {})
        unknown = sorted(set(extra_inputs) - set(self.DEFAULTS))
        if unknown:
            raise PipelineDefinitionError(
                f"llm node {name!r}: the llm node has no input {', '.join(map(repr, unknown))}"
            )
        if token_delay_ms is not None:
            extra_inputs["token_delay_ms"] = token_delay_ms
        self._setup(name, id, dependencies, **{
            **extra_inputs, "provider": provider, "model": model, "prompt": prompt,
            "system": system, "stream": stream, "temperature": temperature,
            "max_tokens": max_tokens, "top_p": top_p, "json_response": json_response,
        })


class PipelineNode(Node):
    """A saved pipeline used as a node; its outputs are its output nodes, by name.

    Wire its outputs with :meth:`Node.ref`: ``post.ref("summary")``.

    Args:
        name: The node's name.
        pipeline: The sub-pipeline: saved (it has an id) and with its nodes (built here, or
            fetched).
        id: The node's id; derived from the name by default.
        inputs: The sub-pipeline's inputs by input node name, for names that are not Python
            identifiers or that clash with this constructor's arguments.
        dependencies: Outputs to wait for besides the inputs'.
        **input_values: The sub-pipeline's inputs by input node name.

    Raises:
        PipelineDefinitionError: the sub-pipeline is not saved or has no nodes, an input is
            unknown, or a required input (one without a default value) is missing.

    Example:
        >>> post = pipeline.add(name="post").pipeline(cleaner, text=llm.response)
        >>> pipeline.add(name="answer").output(post.ref("clean_text"))
    """

    node_type = "pipeline"

    def __init__(
        self,
        name: str,
        pipeline: Pipeline,
        *,
        id: str | None = None,
        inputs: Mapping[str, Value] | None = None,
        dependencies: Dependencies = (),
        **input_values: Value,
    ) -> None:
        given = {**(inputs or {}), **input_values}
        label = f"pipeline node {name!r}"
        if pipeline.id is None or not pipeline.nodes:
            raise PipelineDefinitionError(
                f"{label}: pipeline {pipeline.name!r} must be saved and have its nodes "
                "(save it, or fetch it, before using it as a node)"
            )
        sub = f"{label}: sub-pipeline {pipeline.name!r} ({pipeline.id})"
        unknown, missing, declared = input_mismatch(pipeline.nodes, given)
        clashes = sorted({"pipeline_id", "dependencies"} & set(declared))
        if clashes:
            raise PipelineDefinitionError(
                f"{sub} has inputs named {', '.join(map(repr, clashes))}, which the pipeline "
                "node uses for itself"
            )
        if unknown:
            raise PipelineDefinitionError(
                f"{sub} has no input {', '.join(map(repr, unknown))}; its inputs are "
                f"{', '.join(map(repr, declared)) or 'none'}"
            )
        if missing:
            raise PipelineDefinitionError(
                f"{sub} needs input {', '.join(map(repr, missing))}, which was not given"
            )
        outputs = [node.name for node in pipeline.nodes if node.type == "output"]
        super().__init__(
            name=name,
            id=id,
            inputs={"pipeline_id": pipeline.id, **given, "dependencies": list(dependencies)},
            outputs=sorted({"complete", *outputs}),
        )

