"""Graph serialisation (the platform's graph format) and the checks run before any request.

Serialisation is deterministic: node output lists are sorted, edges come in a fixed order, and
canvas positions follow from the wiring, so the same pipeline gives the same bytes in every
process. The layout is the platform's for generated graphs (:func:`levels`): levels of a
breadth-first topological walk, ``x = 1200 * level`` and ``y = 600 * index in the level``.

:func:`validate` runs before any request: names, ids, references, cycles, unwired outputs and
the ``stream<string>`` rule of :func:`check_streams`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from vectorshift.errors import PipelineDefinitionError
from vectorshift.pipeline._node import TEMPLATE, Node, references

__all__ = [
    "canvas_metadata",
    "check_streams",
    "deserialize_nodes",
    "pipeline_io",
    "serialize_nodes",
    "validate",
]

_COLUMN_WIDTH = 1200.0
_ROW_HEIGHT = 600.0


def _label(node: Node) -> str:
    return f"{node.name!r} ({node.id})"


def _upstream(node: Node, ids: set[str]) -> list[str]:
    seen: list[str] = []
    for source, _ in node.references():
        if source in ids and source not in seen:
            seen.append(source)
    return seen


def check_acyclic(nodes: Sequence[Node]) -> None:
    """Refuse wiring with a cycle.

    Raises:
        PipelineDefinitionError: the wiring has a cycle (the nodes on it are named).
    """
    ids = {node.id for node in nodes}
    by_id = {node.id: node for node in nodes}
    upstream = {node.id: _upstream(node, ids) for node in nodes}
    state: dict[str, int] = {}

    def visit(node_id: str, path: list[str]) -> None:
        if state.get(node_id) == 2:
            return
        if state.get(node_id) == 1:
            cycle = [*path[path.index(node_id) :], node_id]
            names = " -> ".join(_label(by_id[i]) for i in cycle)
            raise PipelineDefinitionError(
                f"the pipeline's wiring has a cycle: {names}", node_ids=tuple(cycle[:-1])
            )
        state[node_id] = 1
        for source in upstream[node_id]:
            visit(source, [*path, node_id])
        state[node_id] = 2

    for node in nodes:
        visit(node.id, [])


def layers(ids: Sequence[str], upstream: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Ids by layer of a breadth-first topological walk: the layout of :func:`levels`.

    Args:
        ids: Every id, in creation order.
        upstream: The distinct predecessors of each id, in the order they were wired; ids
            not in ``ids`` are ignored.

    Returns:
        The layers; an id on a cycle (or downstream of one) is in none.
    """
    known = set(ids)
    pending = {i: 0 for i in ids}
    successors: dict[str, list[str]] = {i: [] for i in ids}
    for target in ids:
        for source in upstream.get(target, ()):
            if source in known:
                pending[target] += 1
                successors[source].append(target)
    layer = [i for i in ids if pending[i] == 0]
    result: list[list[str]] = []
    while layer:
        result.append(layer)
        ready: list[str] = []
        for source in layer:
            for successor in successors[source]:
                pending[successor] -= 1
                if pending[successor] == 0:
                    ready.append(successor)
        layer = ready
    return result


def levels(nodes: Sequence[Node]) -> list[list[str]]:
    """The node ids by level of a breadth-first topological walk, as the platform lays them out.

    Level 0 holds the nodes with no predecessor, in node order. Scanning a level in order, each
    node's successors (in node order) lose one pending predecessor; a successor whose last
    predecessor this was joins the next level, in the order it became ready. So within a level
    the order follows readiness, not creation (recorded from the official client's graphs).
    The walk itself is :func:`layers`, which the SVG diagrams share.
    """
    ids = {node.id for node in nodes}
    return layers([node.id for node in nodes], {node.id: _upstream(node, ids) for node in nodes})


def batch_mode_config(node: Node) -> dict[str, bool]:
    """The canvas's ``batchModeConfig`` of a node, as the official client writes it.

    ``{}`` unless the node runs in batch mode; else, for each input the node may take as a
    list, whether its value is a literal list one level deeper than the input's own type (a
    list for a text, a list of lists for a list input). A reference (``{{ q.value }}``, even to
    a list) and a scalar give ``False``.
    """
    if node.execution_mode != "batch":
        return {}
    defaults: Mapping[str, Any] = getattr(node, "DEFAULTS", {})
    config: dict[str, bool] = {}
    for field in node._batch_fields():
        value = node.inputs.get(field)
        deeper = isinstance(value, list)
        if isinstance(value, list) and isinstance(defaults.get(field), list):
            deeper = all(isinstance(item, list) for item in value)
        config[field] = deeper
    return config


def canvas_metadata(nodes: Sequence[Node]) -> dict[str, Any]:
    """``canvas_metadata``: layout for each node, and the edges derived from the templates.

    A node that came from the server keeps its stored layout; nodes added in Python are placed
    by :func:`levels`: ``x = 1200 * level``, ``y = 600 * index in the level``, and ``zIndex``
    counts the nodes in that order.
    """
    place: dict[str, tuple[int, int, int]] = {}
    for col, level in enumerate(levels(nodes)):
        for row, node_id in enumerate(level):
            place[node_id] = (col, row, len(place))
    canvas_nodes: dict[str, Any] = {}
    by_id = {node.id: node for node in nodes}
    for node_id, (col, row, z_index) in place.items():  # in visiting order, as the platform
        node = by_id[node_id]
        canvas_nodes[node.id] = (
            node.canvas
            if node.canvas is not None
            else {
                "advancedOutputs": False,
                "position": {"x": col * _COLUMN_WIDTH, "y": row * _ROW_HEIGHT},
                "zIndex": z_index,
                "sidePanelOpen": True,
                "input_mode": "inputs",
                "batchModeConfig": batch_mode_config(node),
            }
        )
    return {"nodes": canvas_nodes, "edges": edges(nodes)}


def edges(nodes: Sequence[Node]) -> list[dict[str, str]]:
    """One edge per (source handle, target), grouped by target in node order, sources sorted.

    A reference to a condition's path (``path_0``, ``path_else``) leaves from that path's
    handle; any other reference leaves from the source's ``outputs`` handle.
    """
    by_id = {node.id: node for node in nodes}
    result: list[dict[str, str]] = []
    for target in nodes:
        handles: set[tuple[str, str]] = set()
        for source, field in target.references():
            if source not in by_id:
                continue
            is_path = by_id[source].type == "condition" and field.startswith("path_")
            handles.add((source, field if is_path else "outputs"))
        for source, handle in sorted(handles):
            source_handle = f"{source}-{handle}"
            result.append(
                {
                    "id": f"reactflow__edge-{source}{source_handle}-{target.id}{target.id}-inputs",
                    "sourceHandle": source_handle,
                    "targetHandle": f"{target.id}-inputs",
                    "source": source,
                    "target": target.id,
                }
            )
    return result


def serialize_nodes(nodes: Sequence[Node]) -> dict[str, Any]:
    """The ``nodes`` map of a graph, in the order the nodes were added."""
    return {node.id: node.to_json() for node in nodes}


def deserialize_nodes(data: Mapping[str, Any]) -> list[Node]:
    """The nodes of a stored pipeline object, with their canvas positions when it has them."""
    canvas = (data.get("canvas_metadata") or {}).get("nodes") or {}
    raw_nodes = data.get("nodes") or {}
    return [
        Node.from_json(node, canvas.get(node_id))
        for node_id, node in raw_nodes.items()
        if isinstance(node, Mapping)
    ]


def pipeline_io(nodes: Sequence[Node]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Pipeline-level ``inputs`` and ``outputs`` maps, from the input and output nodes."""
    inputs: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    for node in nodes:
        if node.type == "input":
            inputs[node.name] = {
                "io_type": node.inputs.get("input_type", "string"),
                "description": node.inputs.get("description", ""),
                "default_value": node.inputs.get("default_value", ""),
            }
        elif node.type == "output":
            outputs[node.name] = {
                "io_type": node.inputs.get("output_type", "string"),
                "description": node.inputs.get("description", ""),
            }
    return inputs, outputs


STREAM = "stream<string>"
_TYPE_INPUTS = ("type", "input_type", "output_type")


def check_streams(nodes: Sequence[Node]) -> None:
    """The rule for ``stream<string>``, which is what the platform streams token by token.

    An output node of type ``stream<string>`` must be fed directly by the ``response`` of an
    ``llm`` node built with ``stream=True``: its ``value`` is exactly that one reference, with
    no text around it. No other node but an input (whose ``stream<string>`` type outputs only
    ``complete``) may declare ``stream<string>`` (as its ``type``, ``input_type`` or
    ``output_type``). A streaming llm's ``response`` may also feed other nodes;
    they receive the complete text.

    Raises:
        PipelineDefinitionError: naming the node that breaks the rule (and its source).
    """
    by_id = {node.id: node for node in nodes}
    for node in nodes:
        if node.type == "input":
            # The platform has stream<string> inputs; they output only ``complete``.
            continue
        if node.type != "output":
            declared = [key for key in _TYPE_INPUTS if node.inputs.get(key) == STREAM]
            if declared:
                raise PipelineDefinitionError(
                    f"node {_label(node)} declares {declared[0]} {STREAM!r}, but only output "
                    f"nodes may be {STREAM} (fed by an llm built with stream=True)",
                    node_ids=(node.id,),
                )
            continue
        if node.inputs.get("output_type") != STREAM:
            continue
        value = node.inputs.get("value")
        match = TEMPLATE.fullmatch(value) if isinstance(value, str) else None
        source = by_id.get(match.group(1)) if match else None
        if (
            match is None
            or source is None
            or source.type != "llm"
            or (match.group(2) != "response")
        ):
            raise PipelineDefinitionError(
                f"output node {_label(node)} is of type {STREAM} but its value is {value!r}; "
                f"a {STREAM} output must be fed directly by the response of an llm node built "
                "with stream=True (value=llm.response), or be of type string",
                node_ids=(node.id,),
            )
        if source.inputs.get("stream") is not True:
            raise PipelineDefinitionError(
                f"output node {_label(node)} is of type {STREAM} but llm node "
                f"{_label(source)} does not stream: build it with stream=True, or make the "
                "output of type string",
                node_ids=(node.id, source.id),
            )


def validate(nodes: Sequence[Node]) -> None:
    """Check a graph before it is sent.

    Raises:
        PipelineDefinitionError: a duplicate node name or id, a reference to a missing node or
            output field, a cycle, an output node wired to nothing, or a ``stream<string>``
            that breaks :func:`check_streams`'s rule. The message names the nodes.
    """
    by_id: dict[str, Node] = {}
    names: dict[str, Node] = {}
    for node in nodes:
        if node.id in by_id:
            raise PipelineDefinitionError(
                f"two nodes share the id {node.id!r}: {_label(by_id[node.id])} and {node.name!r}",
                node_ids=(node.id,),
            )
        if node.name in names:
            raise PipelineDefinitionError(
                f"two nodes share the name {node.name!r}: {names[node.name].id} and {node.id}",
                node_ids=(names[node.name].id, node.id),
            )
        by_id[node.id] = node
        names[node.name] = node
    for node in nodes:
        for key, value in node.inputs.items():
            for source, field in references(value):
                target = by_id.get(source)
                if target is None:
                    raise PipelineDefinitionError(
                        f"node {_label(node)} input {key!r} references a node {source!r} that is "
                        "not in this pipeline",
                        node_ids=(node.id, source),
                    )
                if field not in target.outputs:
                    raise PipelineDefinitionError(
                        f"node {_label(node)} input {key!r} references {source}.{field}, but "
                        f"node {_label(target)} has no output {field!r} "
                        f"(it has {', '.join(target.outputs)})",
                        node_ids=(node.id, source),
                    )
        if node.type == "output" and not references(node.inputs.get("value")):
            value = node.inputs.get("value")
            if value in (None, ""):
                raise PipelineDefinitionError(
                    f"output node {_label(node)} is wired to nothing: give it a value "
                    "(e.g. value=llm.response)",
                    node_ids=(node.id,),
                )
    check_acyclic(nodes)
    check_streams(nodes)


def input_mismatch(
    nodes: Sequence[Node], given: Iterable[str]
) -> tuple[list[str], list[str], list[str]]:
    """Compare input names with a pipeline's input nodes.

    Returns:
        The names given that no input node has, the required inputs (no default value) not
        given, and every declared input name, each sorted.
    """
    declared = {node.name: node for node in nodes if node.type == "input"}
    names = set(given)
    unknown = sorted(names - set(declared))
    missing = sorted(
        name
        for name, node in declared.items()
        if name not in names and not node.inputs.get("use_default_value")
    )
    return unknown, missing, sorted(declared)
