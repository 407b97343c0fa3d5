"""What a pipeline is without the platform: its name, ids and nodes, checked and serialised.

:class:`PipelineDefinition` is the base of :class:`~vectorshift.Pipeline`, which adds the
requests (save, fetch, run). Nothing here sends one: building, validating and preparing a run's
body are local, so they fail before any request is made.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from vectorshift.errors import PipelineDefinitionError, PipelineNotSavedError
from vectorshift.pipeline import _requests
from vectorshift.pipeline._builder import NodeBuilder
from vectorshift.pipeline._graph import canvas_metadata, pipeline_io, serialize_nodes, validate
from vectorshift.pipeline._node import Node
from vectorshift.pipeline._node_index import NodeIndex

__all__ = ["MissingNodeError", "PipelineDefinition"]


class MissingNodeError(PipelineDefinitionError, KeyError):
    """A node looked up by name that the pipeline does not have.

    A :class:`~vectorshift.PipelineDefinitionError`, and a ``KeyError`` as a lookup's error is.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class PipelineDefinition:
    """A pipeline's name, ids and graph, built and checked locally (see :class:`Pipeline`).

    Args:
        name: The pipeline's name.
        id: The pipeline's id, once saved.
        branch_id: The branch saves go to.
        description: A description shown on the platform.
        nodes: Nodes to start from.
    """

    def __init__(
        self,
        name: str,
        *,
        id: str | None = None,
        branch_id: str | None = None,
        description: str | None = None,
        nodes: Iterable[Node] = (),
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise PipelineDefinitionError(f"a pipeline needs a non-empty name, got {name!r}")
        self.name = name
        self.id = id
        self.branch_id = branch_id
        self.description = description
        self._nodes: list[Node] = []
        self._index = NodeIndex()
        for node in nodes:
            self.add_node(node)
        # The graph as the platform last had it (nodes as serialised), or None when unknown.
        # A pipeline given an id is taken to be that saved pipeline, as given.
        self._saved: dict[str, Any] | None = None
        if id is not None:
            self._mark_saved()

    @property
    def nodes(self) -> list[Node]:
        """The nodes, in the order they were added."""
        return list(self._nodes)

    def add(self, name: str, id: str | None = None) -> NodeBuilder:
        """Start a node named ``name``; call a node method on the result to create it.

        Args:
            name: The node's name, unique in the pipeline.
            id: The node's id; by default ``<type>_<24 hex>`` derived from the name.

        Example:
            >>> q = pipeline.add(name="query").input()
            >>> llm = pipeline.add(name="llm", id="llm_0").llm(prompt=q.text)
        """
        return NodeBuilder(self.add_node, name, id)

    def add_node(self, node: Node) -> Node:
        """Add a node built directly.

        A node built without a name (``LlmNode(prompt=...)``) is named ``<type>_<n>`` here,
        ``n`` counting the nodes of its type before it, as the official client names it.

        Raises:
            PipelineDefinitionError: a node with the same name or id is already there.
        """
        index = self._index.of(self._nodes)
        if node._unnamed:
            count = index.types[node.type]
            while self._index.named(self._nodes, f"{node.type}_{count}") is not None:
                count += 1
            node.name, node._unnamed = f"{node.type}_{count}", False
        clash = self._index.clash(self._nodes, node)
        if clash is not None:
            what, existing = clash
            raise PipelineDefinitionError(
                f"pipeline {self.name!r} already has a node with the {what} "
                f"{getattr(node, what)!r} ({existing.name!r}, {existing.id})",
                node_ids=(existing.id, node.id),
            )
        self._nodes.append(node)
        self._index.added(self._nodes, node)
        return node

    def node(self, name: str) -> Node:
        """The node named ``name``.

        Raises:
            MissingNodeError: there is no such node (the message lists the names there are);
                a :class:`~vectorshift.PipelineDefinitionError` and a ``KeyError``.
        """
        found = self._index.named(self._nodes, name, scan=True)
        if found is not None:
            return found
        raise MissingNodeError(
            f"pipeline {self.name!r} has no node named {name!r}; "
            f"its nodes are {', '.join(n.name for n in self._nodes) or 'none'}"
        )

    def to_json(self) -> dict[str, Any]:
        """The graph as the platform stores it: nodes, canvas metadata, inputs and outputs.

        Raises:
            PipelineDefinitionError: the graph is not valid (see :meth:`validate`).
        """
        validate(self._nodes)
        inputs, outputs = pipeline_io(self._nodes)
        return {
            "nodes": serialize_nodes(self._nodes),
            "canvas_metadata": canvas_metadata(self._nodes),
            "inputs": inputs,
            "outputs": outputs,
        }

    def validate(self) -> None:
        """Check the graph without sending anything.

        Raises:
            PipelineDefinitionError: naming the nodes involved.
        """
        validate(self._nodes)

    def diagram(self, direction: str = "LR") -> str:
        """The graph as a Mermaid flowchart, for Markdown pages, notebooks and GitHub.

        Each node is a box with its name and type; each arrow is labelled with the outputs it
        carries, and a condition's paths are dotted arrows labelled ``path_0``, ``path_else``...
        A notebook shows a pipeline as this diagram.

        Args:
            direction: ``LR`` (left to right, the default), ``RL``, ``TD``, ``TB`` or ``BT``.

        Returns:
            The flowchart's Mermaid source (without the Markdown fence).

        Example:
            >>> print(pipeline.diagram())
            flowchart LR
                n0(["query<br/><small>input</small>"])
            ...
        """
        from vectorshift.pipeline._render import mermaid

        return mermaid(self._nodes, direction)

    def to_svg(self, direction: str = "LR") -> str:
        """The :meth:`diagram` drawn as a standalone SVG picture, with no network or script.

        The same boxes and arrows as the Mermaid flowchart, laid out in the columns the
        platform's canvas gets (a column per level of the wiring). The SVG embeds its styles:
        a system font, text and lines in ``currentColor``, readable on light and dark pages (a
        page may set the CSS property ``--vsd-color`` to its own text colour). Texts are
        escaped, and the same graph gives the same bytes. The local platform's dashboard and
        this documentation draw their diagrams with it.

        Args:
            direction: ``LR`` (left to right, the default), ``RL``, ``TD``, ``TB`` or ``BT``.

        Returns:
            One ``<svg>`` element, to write to a ``.svg`` file or put in an HTML page.

        Raises:
            ArgumentError: an unknown direction.

        Example:
            >>> from pathlib import Path
            >>> Path("pipeline.svg").write_text(pipeline.to_svg())
        """
        from vectorshift.pipeline._render import svg

        return svg(self._nodes, direction, self.name)

    def describe(self) -> str:
        """The graph as text for a terminal: the nodes by level, with the inputs wired in.

        Returns:
            A title line, then one line per node: its level (on the first node of a level),
            name, type and its wired inputs as ``input=source.output``; a node gated on a
            condition's path reads ``when router.path_0``.

        Example:
            >>> print(pipeline.describe())
            Summariser: 3 nodes, 3 levels
            0  query (input)
            1  llm (llm)  prompt=query.text
            2  answer (output)  value=llm.response
        """
        from vectorshift.pipeline._render import describe

        return describe(self.name, self._nodes)

    def _repr_markdown_(self) -> str:
        """Jupyter's rendering: the name, then the :meth:`diagram` in a Mermaid fence."""
        return f"**{self.name}**\n\n```mermaid\n{self.diagram()}```\n"

    def _mark_saved(self) -> None:
        """Record the graph as the platform now has it (after a save, a fetch or a create)."""
        self._saved = serialize_nodes(self._nodes)

    @property
    def has_unsaved_changes(self) -> bool:
        """Whether nodes were added or changed since the pipeline was last saved or fetched.

        The platform runs the saved graph, so runs refuse while this is true: call ``save()``.

        Example:
            >>> pipeline.add(name="extra").input()
            >>> pipeline.has_unsaved_changes
            True
        """
        return self._saved is not None and serialize_nodes(self._nodes) != self._saved

    def _require_saved(self) -> str:
        """The id of a pipeline whose graph is the one on the platform, for a run of it.

        Raises:
            PipelineNotSavedError: the pipeline was never saved, or has changes it has not
                saved (a ``ValueError``).
        """
        pipeline_id = self._require_id()
        if self.has_unsaved_changes:
            assert self._saved is not None
            ids = {node.id for node in self._nodes}
            changed = sorted(
                {node.name for node in self._nodes if self._saved.get(node.id) != node.to_json()}
                | {
                    str(data.get("name") or node_id)
                    for node_id, data in self._saved.items()
                    if node_id not in ids
                }
            )
            raise PipelineNotSavedError(
                f"pipeline {self._label()} has unsaved changes (nodes "
                f"{', '.join(map(repr, changed))} added or changed since it was last saved or "
                "fetched), and the platform runs the saved graph: call save() before running it",
                node_ids=tuple(
                    node.id for node in self._nodes if self._saved.get(node.id) != node.to_json()
                ),
            )
        return pipeline_id

    def _require_id(self) -> str:
        if self.id is None:
            raise PipelineNotSavedError(
                f"pipeline {self.name!r} has not been saved yet: call save() (or new()) first"
            )
        return self.id

    def check_inputs(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Check run inputs against the pipeline's input nodes, before any request.

        Raises:
            InputError: an input name is unknown, a required input is missing, or a value is
                not of its input's type (``inputs.n: expected int32, got 'abc'``); a
                ``ValueError``.
        """
        return _requests.check_inputs(self._nodes, inputs, self._label())

    def _label(self) -> str:
        return f"{self.name!r} ({self.id})"

    def _prepare(
        self, inputs: Mapping[str, Any], trace_id: str | None, **options: Any
    ) -> tuple[str, str, dict[str, Any]]:
        """The pipeline id, trace id and checked body of a run, before any request.

        Raises:
            ValueError: the pipeline is not saved, or has unsaved changes; an input is wrong.
        """
        pipeline_id = self._require_saved()
        trace_id = trace_id or _requests.new_trace_id()
        body = _requests.run_body(self._nodes, self._label(), inputs, trace_id=trace_id, **options)
        return pipeline_id, trace_id, body
