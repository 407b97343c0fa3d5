"""Pipelines, their nodes and the handles of their runs."""

from vectorshift.pipeline._handler import RunHandler
from vectorshift.pipeline._node import Node, NodeOutput
from vectorshift.pipeline._pipeline import Pipeline

__all__ = ["Node", "NodeOutput", "Pipeline", "RunHandler"]
