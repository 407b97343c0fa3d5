"""Pipelines, their nodes and the handles of their runs."""

from vectorshift.pipeline._catalog import (
    CombineTextNode,
    InputNode,
    LlmNode,
    MergeNode,
    OutputNode,
    PipelineNode,
    SplitTextNode,
    TextFormatterNode,
    TextNode,
)
from vectorshift.pipeline._condition import (
    Clause,
    ConditionGroup,
    ConditionNode,
    LogicalOp,
    Operator,
)
from vectorshift.pipeline._handler import RunHandler
from vectorshift.pipeline._node import Node, NodeOutput
from vectorshift.pipeline._pipeline import Pipeline

__all__ = [
    "Clause",
    "CombineTextNode",
    "ConditionGroup",
    "ConditionNode",
    "InputNode",
    "LlmNode",
    "LogicalOp",
    "MergeNode",
    "Node",
    "NodeOutput",
    "Operator",
    "OutputNode",
    "Pipeline",
    "PipelineNode",
    "RunHandler",
    "SplitTextNode",
    "TextFormatterNode",
    "TextNode",
]
