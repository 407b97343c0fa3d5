"""The node types the SDK knows: their typed outputs and the platform's input defaults.

Input defaults and their order follow what the platform's editor and the official client save
(recorded in ``tests/fixtures``), so a pipeline built here opens in the visual editor as if it had
been made there. This module is imported only when a pipeline is built or fetched, never by
``import vectorshift``.
"""

from __future__ import annotations

from typing import Any

from vectorshift.pipeline._node import Node, Output

__all__ = [
    "CombineTextNode",
    "InputNode",
    "LlmNode",
    "MergeNode",
    "OutputNode",
    "SplitTextNode",
    "TextFormatterNode",
    "TextNode",
    "node_class",
]

INPUT_TYPES = ("string", "int32", "float", "bool", "vec<string>", "file")
OUTPUT_TYPES = ("string", "stream<string>", "json", "int32", "float", "bool", "vec<string>")


class InputNode(Node):
    """A pipeline input; run inputs are keyed by this node's name. Output: ``text``."""

    node_type = "input"
    output_fields = ("text",)
    text = Output()

    @staticmethod
    def defaults() -> dict[str, Any]:
        return {
            "description": "",
            "input_type": "string",
            "use_default_value": False,
            "default_value": "",
            "file_parser": "default",
            "dataframe_type": "table",
        }


class OutputNode(Node):
    """A pipeline output; run outputs are keyed by this node's name."""

    node_type = "output"
    output_fields = ()

    @staticmethod
    def defaults() -> dict[str, Any]:
        return {
            "description": "",
            "format_output": True,
            "output_type": "string",
            "dependencies": [],
            "value": "",
            "dataframe_type": "table",
        }


class TextNode(Node):
    """A text template; ``{{ id.field }}`` references are filled in. Output: ``text``."""

    node_type = "text"
    output_fields = ("text",)
    text = Output()

    @staticmethod
    def defaults() -> dict[str, Any]:
        return {"text": "", "dependencies": []}


class LlmNode(Node):
    """A call to a language model. Outputs: ``response`` and token counts."""

    node_type = "llm"
    output_fields = (
        "credits_used",
        "input_tokens",
        "output_tokens",
        "response",
        "tokens_used",
    )
    response = Output()
    tokens_used = Output()
    input_tokens = Output()
    output_tokens = Output()
    credits_used = Output()

    @staticmethod
    def defaults() -> dict[str, Any]:
        return {
            "model": "gpt-4o",
            "prompt": "",
            "system": "",
            "temperature": 0.5,
            "max_tokens": 128000,
            "top_p": 0.5,
            "baseUrl": "",
            "citation_metadata": [],
            "enable_moderation": False,
            "enable_pii_address": False,
            "enable_pii_cc": False,
            "enable_pii_email": False,
            "enable_pii_name": False,
            "enable_pii_phone": False,
            "enable_pii_ssn": False,
            "jsonSchema": "",
            "provider": "openai",
            "reasoning_effort": "default",
            "retry_on_failure": False,
            "safe_context_token_window": False,
            "show_sources": False,
            "stream": False,
            "use_personal_api_key": False,
            "verbosity": "default",
            "dependencies": [],
            "json_response": False,
            "max_retries": 1,
            "retry_interval_ms": 1000,
            "json_schema": "",
            "base_url": "",
            "api_key": "",
            "use_finetuned_model": False,
            "finetuned_model": "",
            "enable_web_search": False,
            "thinking_token_limit": 24576,
            "aws_access_key_id": "",
            "aws_secret_access_key": "",
            "aws_region": "us-east-1",
            "endpoint": "",
            "deployment_id": "",
        }


class CombineTextNode(Node):
    """Joins several texts. Output: ``processed_text``."""

    node_type = "combine_text"
    output_fields = ("processed_text",)
    processed_text = Output()

    @staticmethod
    def defaults() -> dict[str, Any]:
        return {"text": [], "dependencies": []}


class TextFormatterNode(Node):
    """Applies a formatter (``To Uppercase``, ``Trim``...) to a text. Output: ``output``."""

    node_type = "text_formatter"
    output_fields = ("output",)
    output = Output()

    @staticmethod
    def defaults() -> dict[str, Any]:
        return {"text": "", "formatter": "To Uppercase", "dependencies": [], "max_num_token": 0}


class SplitTextNode(Node):
    """Splits a text into a list. Output: ``processed_text``."""

    node_type = "split_text"
    output_fields = ("processed_text",)
    processed_text = Output()

    @staticmethod
    def defaults() -> dict[str, Any]:
        return {"text": "", "delimiter": "newline", "dependencies": [], "character": ""}


class MergeNode(Node):
    """Merges branches: ``first`` available value, or ``join`` of them. Output: ``output``."""

    node_type = "merge"
    output_fields = ("output",)
    output = Output()

    @staticmethod
    def defaults() -> dict[str, Any]:
        return {"function": "first", "type": "string", "dependencies": [], "fields": []}


_CLASSES: dict[str, type[Node]] = {
    cls.node_type: cls
    for cls in (
        InputNode,
        OutputNode,
        TextNode,
        LlmNode,
        CombineTextNode,
        TextFormatterNode,
        SplitTextNode,
        MergeNode,
    )
}


def node_class(node_type: str) -> type[Node]:
    """The typed class for a node type, or :class:`Node` for types the SDK does not model."""
    return _CLASSES.get(node_type, Node)


def node_defaults(node_type: str) -> dict[str, Any]:
    """The platform's default inputs of a node type (empty for unmodelled types)."""
    cls = _CLASSES.get(node_type)
    defaults = getattr(cls, "defaults", None)
    return dict(defaults()) if defaults is not None else {}
