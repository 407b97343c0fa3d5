"""Pipelines, their nodes and the handles of their runs.

The node types are the public names of ``_generated_nodes`` and ``_generated_transforms``
(generated from the node declarations), ``_catalog`` and ``_condition`` (their ``__all__``),
so a node type defined there is exported here with no second list.
"""

from vectorshift.pipeline import _catalog, _condition, _generated_nodes, _generated_transforms
from vectorshift.pipeline._catalog import *  # noqa: F403 (exactly _catalog.__all__)
from vectorshift.pipeline._condition import *  # noqa: F403 (exactly _condition.__all__)
from vectorshift.pipeline._generated_nodes import *  # noqa: F403 (exactly its __all__)
from vectorshift.pipeline._generated_transforms import *  # noqa: F403 (exactly its __all__)
from vectorshift.pipeline._handler import RunHandler
from vectorshift.pipeline._node import Node, NodeOutput
from vectorshift.pipeline._pipeline import Pipeline

__all__ = ["Node", "NodeOutput", "Pipeline", "RunHandler"]
__all__ += _catalog.__all__
__all__ += _condition.__all__
__all__ += _generated_nodes.__all__
__all__ += _generated_transforms.__all__
