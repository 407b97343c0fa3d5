"""The fluent builder: ``pipeline.add(name=..., id=...).llm(...)``.

Each method creates a typed node, adds it to the pipeline and returns it, so its outputs can be
wired into the next node (``prompt=q.text``). Values may be literals, output references, lists of
either, or f-strings that embed references (``f"Summarise: {q.text}"``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

from vectorshift.pipeline._catalog import (
    INPUT_TYPES,
    OUTPUT_TYPES,
    CombineTextNode,
    InputNode,
    LlmNode,
    MergeNode,
    OutputNode,
    SplitTextNode,
    TextFormatterNode,
    TextNode,
    node_defaults,
)
from vectorshift.pipeline._node import Node, NodeOutput

__all__ = ["NodeBuilder"]

N = TypeVar("N", bound=Node)
Value = Any
"""A literal, a :class:`NodeOutput`, a string embedding references, or a list of those."""


class NodeBuilder:
    """Creates one node named ``name`` in a pipeline; returned by ``Pipeline.add``."""

    def __init__(self, add: Callable[[Node], Node], name: str, id: str | None) -> None:
        self._add = add
        self._name = name
        self._id = id

    def _make(
        self,
        cls: type[N],
        inputs: dict[str, Any],
        dependencies: Sequence[NodeOutput | str] | None,
    ) -> N:
        merged = node_defaults(cls.node_type)
        merged.update(inputs)
        if dependencies is not None:
            merged["dependencies"] = list(dependencies)
        node = cls(name=self._name, id=self._id, inputs=merged)
        self._add(node)
        return node

    def input(
        self,
        input_type: str = "string",
        *,
        description: str = "",
        default_value: Any = None,
    ) -> InputNode:
        """A pipeline input, keyed by this node's name in run inputs.

        Args:
            input_type: One of ``string``, ``int32``, ``float``, ``bool``, ``vec<string>``,
                ``file``.
            description: Shown in the platform's UI and API docs.
            default_value: Used when a run does not give this input; makes it optional.

        Example:
            >>> query = pipeline.add(name="query").input()
        """
        if input_type not in INPUT_TYPES:
            raise ValueError(
                f"input node {self._name!r}: input_type {input_type!r} is not one of "
                f"{', '.join(INPUT_TYPES)}"
            )
        inputs: dict[str, Any] = {"description": description, "input_type": input_type}
        if default_value is not None:
            inputs.update(use_default_value=True, default_value=default_value)
        return self._make(InputNode, inputs, None)

    def output(
        self,
        value: Value,
        output_type: str = "string",
        *,
        description: str = "",
        format_output: bool = True,
        dependencies: Sequence[NodeOutput | str] | None = None,
    ) -> OutputNode:
        """A pipeline output, keyed by this node's name in run results.

        Args:
            value: What to output, usually another node's output (``llm.response``).
            output_type: One of ``string``, ``stream<string>`` (receives LLM token deltas when
                the run streams), ``json``, ``int32``, ``float``, ``bool``, ``vec<string>``.

        Example:
            >>> pipeline.add(name="answer").output(llm.response)
        """
        if output_type not in OUTPUT_TYPES:
            raise ValueError(
                f"output node {self._name!r}: output_type {output_type!r} is not one of "
                f"{', '.join(OUTPUT_TYPES)}"
            )
        inputs = {
            "description": description,
            "format_output": format_output,
            "output_type": output_type,
            "value": value,
        }
        return self._make(OutputNode, inputs, dependencies)

    def text(
        self, text: Value, *, dependencies: Sequence[NodeOutput | str] | None = None
    ) -> TextNode:
        """A text template.

        Example:
            >>> prompt = pipeline.add(name="prompt").text(f"Summarise: {query.text}")
        """
        return self._make(TextNode, {"text": text}, dependencies)

    def llm(
        self,
        *,
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
        dependencies: Sequence[NodeOutput | str] | None = None,
        **extra_inputs: Any,
    ) -> LlmNode:
        """A language-model call.

        Args:
            provider: ``openai`` on the platform; ``vectorshift.local`` also offers ``local``,
                an offline simulated model (``model="echo"`` or ``model="lorem"``).
            model: The model name.
            prompt: The user prompt; wire other nodes' outputs into it.
            system: The system prompt.
            stream: Publish tokens as they are produced (needed for ``stream<string>`` outputs).
            temperature: Sampling temperature.
            max_tokens: Upper bound of the answer's length in tokens.
            top_p: Nucleus sampling.
            json_response: Ask for (and parse) a JSON answer.
            token_delay_ms: ``vectorshift.local``'s simulated model only: milliseconds per
                token. Not sent unless given.
            **extra_inputs: Any other input of the platform's llm node, sent as is.

        Example:
            >>> llm = pipeline.add(name="llm").llm(model="gpt-4o-mini", prompt=query.text)
        """
        inputs: dict[str, Any] = {
            "provider": provider,
            "model": model,
            "prompt": prompt,
            "system": system,
            "stream": stream,
            "temperature": temperature,
            "max_tokens": max_tokens,
            "top_p": top_p,
            "json_response": json_response,
            **extra_inputs,
        }
        if token_delay_ms is not None:
            inputs["token_delay_ms"] = token_delay_ms
        return self._make(LlmNode, inputs, dependencies)

    def combine_text(
        self, text: Sequence[Value], *, dependencies: Sequence[NodeOutput | str] | None = None
    ) -> CombineTextNode:
        """Joins texts into one (output ``processed_text``)."""
        return self._make(CombineTextNode, {"text": list(text)}, dependencies)

    def text_formatter(
        self,
        text: Value,
        formatter: str = "To Uppercase",
        *,
        max_num_token: int = 0,
        dependencies: Sequence[NodeOutput | str] | None = None,
    ) -> TextFormatterNode:
        """Formats a text (``To Uppercase``, ``To Lowercase``, ``To Title Case``, ``Trim``...)."""
        inputs = {"text": text, "formatter": formatter, "max_num_token": max_num_token}
        return self._make(TextFormatterNode, inputs, dependencies)

    def split_text(
        self,
        text: Value,
        delimiter: Literal["space", "newline", "character"] = "newline",
        *,
        character: str = "",
        dependencies: Sequence[NodeOutput | str] | None = None,
    ) -> SplitTextNode:
        """Splits a text into a list (output ``processed_text``)."""
        inputs = {"text": text, "delimiter": delimiter, "character": character}
        return self._make(SplitTextNode, inputs, dependencies)

    def merge(
        self,
        fields: Sequence[Value],
        function: Literal["first", "join"] = "first",
        *,
        type: str = "string",
        dependencies: Sequence[NodeOutput | str] | None = None,
    ) -> MergeNode:
        """Merges branches: the first value available, or all of them joined."""
        inputs = {"function": function, "type": type, "fields": list(fields)}
        return self._make(MergeNode, inputs, dependencies)

    def node(
        self,
        node_type: str,
        *,
        output_fields: Sequence[str] = (),
        **inputs: Any,
    ) -> Node:
        """Any platform node type, built generically: its inputs are sent as given.

        Args:
            node_type: The platform's node type.
            output_fields: The node's output fields, so other nodes can be wired to them.
            **inputs: The node's inputs.

        Example:
            >>> kb = pipeline.add(name="kb").node(
            ...     "knowledge_base", output_fields=["results"], query=q.text
            ... )
            >>> pipeline.add(name="docs").output(kb.ref("results"))
        """
        node = Node(
            name=self._name,
            type=node_type,
            id=self._id,
            inputs=inputs,
            outputs=sorted({"complete", *output_fields}),
        )
        self._add(node)
        return node
