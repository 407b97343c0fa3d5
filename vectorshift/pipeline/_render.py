"""Pictures of a pipeline graph: a Mermaid flowchart and a compact text listing.

:func:`mermaid` draws the graph for Markdown renderers (the docs site, GitHub, Jupyter):
one box per node with its name and type, one arrow per wired source and target labelled with
the output names it carries, and dotted arrows for a condition's paths, labelled with the path.
:func:`describe` lists the nodes for a terminal, by level of the platform's layout, each with
the inputs wired into it. Both are deterministic: the same graph gives the same text.

Nothing here is imported by ``import vectorshift``; :class:`~vectorshift.Pipeline` imports it
when one of its pictures is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence

from vectorshift.errors import ArgumentError
from vectorshift.pipeline._graph import levels
from vectorshift.pipeline._node import Node, references

__all__ = ["describe", "mermaid"]

_MERMAID_ESCAPES = {'"': "#quot;", "<": "#lt;", ">": "#gt;", "#": "#35;"}
_SHAPES = {"input": ('(["', '"])'), "output": ('(["', '"])'), "condition": ('{"', '"}')}


def _escape(text: str) -> str:
    return "".join(_MERMAID_ESCAPES.get(char, char) for char in text)


def _is_path(node: Node | None, field: str) -> bool:
    return node is not None and node.type == "condition" and field.startswith("path_")


def mermaid(nodes: Sequence[Node], direction: str = "LR") -> str:
    """A Mermaid flowchart of the nodes and their wiring.

    Args:
        nodes: The graph's nodes, in the order they were added.
        direction: Mermaid's direction: ``LR`` (left to right) or ``TD`` (top down).

    Returns:
        The flowchart's source, one statement a line, ending with a newline. Nodes are named
        ``n0``, ``n1``... in node order; a reference to a node that is not in ``nodes`` is
        left out.
    """
    if direction not in ("LR", "RL", "TD", "TB", "BT"):
        raise ArgumentError(
            f"direction must be LR, RL, TD, TB or BT, got {direction!r}", argument="direction"
        )
    key = {node.id: f"n{index}" for index, node in enumerate(nodes)}
    by_id = {node.id: node for node in nodes}
    lines = [f"flowchart {direction}"]
    for node in nodes:
        opening, closing = _SHAPES.get(node.type, ('["', '"]'))
        label = f"{_escape(node.name)}<br/><small>{_escape(node.type)}</small>"
        lines.append(f"    {key[node.id]}{opening}{label}{closing}")
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
                label = _escape(", ".join(values))
                lines.append(f'    {key[source]} -- "{label}" --> {key[target.id]}')
            for path in paths:
                lines.append(f'    {key[source]} -. "{_escape(path)}" .-> {key[target.id]}')
    return "\n".join(lines) + "\n"


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
