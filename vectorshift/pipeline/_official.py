"""The official client's pipeline methods that have no request: batch nodes and references.

Code written for the official client calls these on a pipeline: ``add_batch`` (the fluent
builder for batch nodes), ``to_dict`` (the reference other nodes take), and the class methods
``from_json`` and ``serialize_inputs``. They are here, in one mixin of :class:`Pipeline`, with
the official names and argument order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from vectorshift.pipeline._builder import NodeBuilder
from vectorshift.pipeline._definition import PipelineDefinition

if TYPE_CHECKING:
    from vectorshift.pipeline._pipeline import Pipeline

__all__ = ["OfficialPipeline"]


class OfficialPipeline(PipelineDefinition):
    """The official client's ``add_batch``, ``to_dict``, ``from_json``, ``serialize_inputs``."""

    def add_batch(self, name: str | None = None, id: str | None = None) -> NodeBuilder:
        """Start a node that runs in batch mode: once per element of its list inputs.

        The node is saved with ``"execution_mode": "batch"`` and the canvas's
        ``batchModeConfig``, as the official client's ``add_batch`` writes it; its outputs are
        lists, in the order of its inputs' elements. Only llm, combine_text, text_formatter,
        split_text and pipeline nodes may run in batch mode (the others raise). How
        ``vectorshift.local`` runs it: :mod:`vectorshift.local.batch`.

        Args:
            name: The node's name, unique in the pipeline; ``<type>_<n>`` when omitted.
            id: The node's id; by default ``<type>_<24 hex>`` derived from the name.

        Raises:
            PipelineDefinitionError: (from the node method) the node type has no batch mode.

        Example:
            >>> answers = pipeline.add_batch(name="answers").llm(prompt=questions.value)
            >>> pipeline.add(name="answer_list").output(answers.response, "vec<string>")
        """
        return NodeBuilder(self.add_node, name, id, execution_mode="batch")

    def to_dict(self) -> dict[str, Any]:
        """The reference to this saved pipeline that other objects take (a pipeline node's).

        Returns:
            ``{"object_id": <id>, "object_type": "pipeline"}``, with ``branch_id`` when known.

        Raises:
            PipelineNotSavedError: the pipeline has no id yet.

        Example:
            >>> pipeline.to_dict()
            {'object_id': '6630...', 'object_type': 'pipeline', 'branch_id': '6630...'}
        """
        reference: dict[str, Any] = {"object_id": self._require_id(), "object_type": "pipeline"}
        if self.branch_id is not None:
            reference["branch_id"] = self.branch_id
        return reference

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Pipeline:
        """A pipeline from a stored pipeline object (the ``object`` of a fetch answer).

        Reads ``_id`` (or ``id``), ``mainBranch``, ``name``, ``description`` and ``nodes`` with
        their canvas layout; sends nothing. It talks through the default client.

        Example:
            >>> pipeline = Pipeline.from_json(answer["object"])
            >>> [node.name for node in pipeline.nodes]
        """
        # Pipeline's own reader (this mixin's module must not import Pipeline's).
        rebuild: Callable[[Mapping[str, Any], None], Pipeline] = getattr(  # noqa: B009
            cls, "_from_object"
        )
        return rebuild(data, None)

    @classmethod
    def serialize_inputs(cls, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """``inputs`` with every value that has a ``to_dict()`` replaced by what it returns.

        A pipeline given as an input (to a pipeline node, say) becomes its reference.

        Example:
            >>> Pipeline.serialize_inputs({"pipeline": sub, "n": 3})
            {'pipeline': {'object_id': '6630...', 'object_type': 'pipeline'}, 'n': 3}
        """
        serialized: dict[str, Any] = {}
        for key, value in inputs.items():
            to_dict = getattr(value, "to_dict", None)
            serialized[key] = to_dict() if callable(to_dict) else value
        return serialized
