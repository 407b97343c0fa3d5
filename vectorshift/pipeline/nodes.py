"""The node classes where the official client keeps them: ``vectorshift.pipeline.nodes``.

``from vectorshift.pipeline.nodes import InputNode, LlmNode, OutputNode`` works as it does with
the official client; the classes are those of :mod:`vectorshift.pipeline` (one class per node
type), and take its ``node_name=`` and ``execution_mode=`` keywords.

Example:
    >>> from vectorshift.pipeline.nodes import InputNode, LlmNode, OutputNode
    >>> question = InputNode(node_name="question", input_type="string")
"""

from vectorshift.pipeline import _catalog, _condition, _generated_nodes, _generated_transforms
from vectorshift.pipeline._catalog import *  # noqa: F403 (exactly _catalog.__all__)
from vectorshift.pipeline._condition import *  # noqa: F403 (exactly _condition.__all__)
from vectorshift.pipeline._generated_nodes import *  # noqa: F403 (exactly its __all__)
from vectorshift.pipeline._generated_transforms import *  # noqa: F403 (exactly its __all__)

__all__: list[str] = []
__all__ += _catalog.__all__
__all__ += _condition.__all__
__all__ += _generated_nodes.__all__
__all__ += _generated_transforms.__all__
