"""The fluent builder: ``pipeline.add(name=..., id=...).llm(...)``.

Each method creates a typed node, adds it to the pipeline and returns it, so its outputs can be
wired into the next node (``prompt=q.text``). Values may be literals, output references, lists of
either, or f-strings that embed references (``f"Summarise: {q.text}"``).

The methods take the node classes' own arguments, with the name (and id) already given to
``add``: ``pipeline.add(name="llm").llm(prompt=q.text)`` builds exactly
``LlmNode(name="llm", prompt=q.text)``, and mypy checks its arguments the same way. The
declared node types' methods are generated with their classes
(:class:`~vectorshift.pipeline._generated_methods.NodeMethods`); ``condition`` takes
:class:`ConditionNode`'s constructor as it is, and ``pipeline`` and ``node`` are written here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, cast, overload

from vectorshift.errors import ArgumentTypeError, PipelineDefinitionError
from vectorshift.pipeline._catalog import Dependencies, PipelineNode, Value
from vectorshift.pipeline._condition import ConditionNode
from vectorshift.pipeline._generated_methods import NodeMethods
from vectorshift.pipeline._node import Node

if TYPE_CHECKING:
    from vectorshift.pipeline._pipeline import Pipeline

__all__ = ["NodeBuilder"]

P = ParamSpec("P")
N = TypeVar("N", bound=Node)


class _Factory(Generic[P, N]):
    """A builder method made from a node class: the class's arguments, minus ``name``."""

    def __init__(self, cls: Callable[Concatenate[str, P], N]) -> None:
        self._cls = cls
        self._attribute = cls.__name__
        signature = inspect.signature(cls)
        self._signature = signature.replace(
            parameters=list(signature.parameters.values())[1:], return_annotation=cls.__name__
        )

    def __set_name__(self, owner: type[NodeBuilder], name: str) -> None:
        self._attribute = name

    @overload
    def __get__(self, builder: None, owner: type[NodeBuilder]) -> _Factory[P, N]: ...
    @overload
    def __get__(self, builder: NodeBuilder, owner: type[NodeBuilder]) -> Callable[P, N]: ...
    def __get__(
        self, builder: NodeBuilder | None, owner: type[NodeBuilder]
    ) -> _Factory[P, N] | Callable[P, N]:
        if builder is None:
            return self
        make = cast("Callable[..., N]", self._cls)

        def create(*args: P.args, **kwargs: P.kwargs) -> N:
            return builder._build(make, args, kwargs)

        create.__name__ = self._attribute
        create.__qualname__ = f"{owner.__name__}.{self._attribute}"
        create.__doc__ = self._cls.__doc__
        setattr(create, "__signature__", self._signature)  # noqa: B010 (for help() and IDEs)
        return create


class NodeBuilder(NodeMethods):
    """Creates one node named ``name`` in a pipeline; returned by ``Pipeline.add``.

    Example:
        >>> q = pipeline.add(name="query").input()
        >>> llm = pipeline.add(name="llm", id="llm_0").llm(prompt=q.text)
    """

    def __init__(
        self,
        add: Callable[[Node], Node],
        name: str | None,
        id: str | None,
        execution_mode: str | None = None,
    ) -> None:
        self._add = add
        self._name = name
        self._id = id
        self._mode = execution_mode

    def _build(self, make: Callable[..., N], args: tuple[Any, ...], kwargs: dict[str, Any]) -> N:
        if self._mode is not None:
            if make is ConditionNode:
                raise PipelineDefinitionError(
                    f"condition node {self._name!r}: execution_mode {self._mode!r} is not one "
                    "of 'normal'"
                )
            kwargs = {**kwargs, "execution_mode": self._mode}
        if self._id is not None:
            if kwargs.get("id") not in (None, self._id):
                raise ArgumentTypeError(
                    f"node {self._name!r} was given two ids: {self._id!r} to add() and "
                    f"{kwargs['id']!r}; give it once"
                )
            kwargs = {**kwargs, "id": self._id}
        node = make(self._name, *args, **kwargs)
        self._add(node)
        return node

    condition = _Factory(ConditionNode)
    """A router (:class:`ConditionNode`): ``.condition([Clause(q.text, Operator.IS_EMPTY)])``."""

    def pipeline(
        self,
        pipeline: Pipeline,
        *,
        inputs: Mapping[str, Value] | None = None,
        dependencies: Dependencies = (),
        **input_values: Value,
    ) -> PipelineNode:
        """A saved sub-pipeline used as a node (:class:`PipelineNode`).

        Args:
            pipeline: The sub-pipeline, saved and with its nodes.
            inputs: Its inputs by input node name, for names that are not Python identifiers
                or clash with these arguments.
            dependencies: Outputs to wait for besides the inputs'.
            **input_values: Its inputs by input node name.

        Raises:
            PipelineDefinitionError: the sub-pipeline is not saved, an input is unknown, or a
                required input is missing.

        Example:
            >>> post = pipeline.add(name="post").pipeline(cleaner, text=llm.response)
            >>> pipeline.add(name="answer").output(post.ref("clean_text"))
        """
        return self._build(
            PipelineNode,
            (pipeline,),
            {"inputs": {**(inputs or {}), **input_values}, "dependencies": dependencies},
        )

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
            name=self._name or node_type,
            type=node_type,
            id=self._id,
            inputs=inputs,
            outputs=sorted({"complete", *output_fields}),
            execution_mode=self._mode or "normal",
        )
        node._unnamed = self._name is None
        self._add(node)
        return node
