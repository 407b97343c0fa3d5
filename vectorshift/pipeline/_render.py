"""Pictures of a pipeline graph: a Mermaid flowchart, an SVG drawing and a text listing.

:func:`parts` says what a picture shows: one box per node with its name and type, one arrow
per wired source and target labelled with the output names it carries, and dashed arrows for
a condition's paths, labelled with the path. :func:`mermaid` writes it for Markdown renderers
(GitHub, Jupyter); :func:`svg` draws it with :func:`~vectorshift.pipeline._svg.draw`, as
:func:`svg_of_stored` does for a pipeline object as the API returns it (the local platform's
dashboard draws with it, and the docs site draws its diagrams with the same code).
:func:`describe` lists the nodes for a terminal, by level of the platform's layout, each with
the inputs wired into it. All are deterministic: the same graph gives the same text.

Nothing here is imported by ``import vectorshift``; :class:`~vectorshift.Pipeline` imports it
when one of its pictures is asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vectorshift.errors import ArgumentError
from vectorshift.pipeline._graph import deserialize_nodes, levels
from vectorshift.pipeline._node import Node, references
from vectorshift.pipeline._svg import DiagramEdge, DiagramNode, draw

__all__ = ["describe", "mermaid", "parts", "svg", "svg_of_stored"]

_MERMAID_ESCAPES = {'"': "#quot;", "<": "#lt;", ">": "#gt;", "#": "#35;"}
_NODE_SHAPES = {"input": "round", "output": "round", "condition": "hexagon"}
_MERMAID_SHAPES = {"round": ('(["', '"])'), "hexagon": ('{"', '"}'), "box": ('["', '"]')}


def _escape(text: str) -> str:
    return "".join(_MERMAID_ESCAPES.get(char, char) for char in text)


def _is_path(node: Node | None, field: str) -> bool:
    return node is not None and node.type == "condition" and field.startswith("path_")


def _check_direction(direction: str) -> None:
    if direction not in ("LR", "RL", "TD", "TB", "BT"):
        raise ArgumentError(
            f"direction must be LR, RL, TD, TB or BT, got {direction!r}", argument="direction"
        )


def parts(nodes: Sequence[Node]) -> tuple[list[DiagramNode], list[DiagramEdge]]:
    """What a picture of the graph shows: a box per node, an arrow per wired pair.

    Boxes are named ``n0``, ``n1``... in node order. Arrows come grouped by target in node
    order, each target's sources in the order its inputs reference them: one arrow for the
    values a source feeds it (labelled with their names), then one dashed arrow per condition
    path it is gated on. A reference to a node not in ``nodes`` is left out.
    """
    key = {node.id: f"n{index}" for index, node in enumerate(nodes)}
    by_id = {node.id: node for node in nodes}
    boxes = [
        DiagramNode(key[node.id], node.name, node.type, _NODE_SHAPES.get(node.type, "box"))
        for node in nodes
    ]
    arrows: list[DiagramEdge] = []
    for target in nodes:
        wired: dict[str, list[str]] = {}
        for source, field in references(target.inputs):
            if source not in by_id:
                continue
            fields = wired.setdefault(source, [])
            if field not in fields:
                fields.append(field)
        for source, fields in wired.items():
            paths = [f for f in fields if _is_path(by_id[source], f)]
            values = [f for f in fields if f not in paths]
            if values:
                arrows.append(DiagramEdge(key[source], key[target.id], ", ".join(values)))
            arrows += [
                DiagramEdge(key[source], key[target.id], path, dashed=True) for path in paths
            ]
    return boxes, arrows


def mermaid(nodes: Sequence[Node], direction: str = "LR") -> str:
    """A Mermaid flowchart of the nodes and their wiring (:func:`parts`).

    Args:
        nodes: The graph's nodes, in the order they were added.
        direction: Mermaid's direction: ``LR`` (left to right) or ``TD`` (top down).

    Returns:
        The flowchart's source, one statement a line, ending with a newline. Nodes are named
        ``n0``, ``n1``... in node order; a reference to a node that is not in ``nodes`` is
        left out.
    """
    _check_direction(direction)
    boxes, arrows = parts(nodes)
    lines = [f"flowchart {direction}"]
    for box in boxes:
        opening, closing = _MERMAID_SHAPES[box.shape]
        label = f"{_escape(box.title)}<br/><small>{_escape(box.kind)}</small>"
        lines.append(f"    {box.id}{opening}{label}{closing}")
    for arrow in arrows:
        link = ('-. "{}" .->' if arrow.dashed else '-- "{}" -->').format(_escape(arrow.label))
        lines.append(f"    {arrow.source} {link} {arrow.target}")
    return "\n".join(lines) + "\n"


def svg(nodes: Sequence[Node], direction: str = "LR", title: str = "") -> str:
    """The graph drawn as a standalone SVG (:func:`parts`, laid out as the builder does).

    Args:
        nodes: The graph's nodes, in the order they were added.
        direction: ``LR``, ``RL``, ``TD``, ``TB`` or ``BT``.
        title: The pipeline's name, for the picture's accessible label.
    """
    _check_direction(direction)
    boxes, arrows = parts(nodes)
    label = f"Diagram of the pipeline {title}" if title else "Diagram of a pipeline"
    return draw(boxes, arrows, direction, label=label)


def svg_of_stored(pipeline_object: Mapping[str, Any], direction: str = "LR") -> str:
    """The diagram of a pipeline object as the API returns it, as standalone SVG.

    Args:
        pipeline_object: A stored pipeline (``{"name": ..., "nodes": {...}, ...}``, as
            ``GET /pipeline`` answers, with or without ``canvas_metadata``). Node types the
            SDK does not model are drawn as boxes; the stored canvas positions are not used:
            the layout follows the wiring, as for a pipeline built in Python.
        direction: ``LR``, ``RL``, ``TD``, ``TB`` or ``BT``.

    Returns:
        The ``<svg>`` element's text.
    """
    nodes = deserialize_nodes(pipeline_object)
    return svg(nodes, direction, str(pipeline_object.get("name") or ""))


def _wired_inputs(node: Node, by_id: dict[str, Node]) -> list[str]:
    """``input=source.field`` for each input of ``node`` wired to other nodes' outputs.

    An input fed by several outputs reads ``input=[a.x, b.y]``; the condition paths the node
    is gated on come last, as ``when router.path_0``.
    """
    shown: list[str] = []
    gates: list[str] = []
    for name, value in node.inputs.items():
        sources: list[str] = []
        for source, field in references(value):
            entry = f"{by_id[source].name if source in by_id else source}.{field}"
            if _is_path(by_id.get(source), field):
                if entry not in gates:
                    gates.append(entry)
            elif entry not in sources:
                sources.append(entry)
        if len(sources) == 1:
            shown.append(f"{name}={sources[0]}")
        elif sources:
            shown.append(f"{name}=[{', '.join(sources)}]")
    return shown + [f"when {gate}" for gate in gates]


def describe(name: str, nodes: Sequence[Node]) -> str:
    """The graph as text: nodes by level, each with its type and the inputs wired into it.

    Args:
        name: The pipeline's name, for the first line.
        nodes: The graph's nodes, in the order they were added.

    Returns:
        Lines ending with a newline: a title, then one line per node, ``<level>  <name>
        (<type>)  <input>=<source>.<output>, ...``, where a condition's path a node is gated on
        reads ``when <condition>.<path>``. Nodes on a cycle (which :meth:`Pipeline.validate`
        refuses) are listed last, under ``?``.
    """
    by_id = {node.id: node for node in nodes}
    ordered = levels(nodes)
    placed = {node_id for level in ordered for node_id in level}
    unplaced = [node.id for node in nodes if node.id not in placed]
    count = f"{len(nodes)} node{'s' if len(nodes) != 1 else ''}"
    lines = [f"{name}: {count}, {len(ordered)} level{'s' if len(ordered) != 1 else ''}"]
    rows = [(str(index), level) for index, level in enumerate(ordered)]
    if unplaced:
        rows.append(("?", unplaced))
    width = max((len(label) for label, _ in rows), default=1)
    for label, level in rows:
        for position, node_id in enumerate(level):
            node = by_id[node_id]
            prefix = (label if position == 0 else "").ljust(width)
            line = f"{prefix}  {node.name} ({node.type})"
            wired = _wired_inputs(node, by_id)
            if wired:
                line += "  " + ", ".join(wired)
            lines.append(line)
    return "\n".join(lines) + "\n"
