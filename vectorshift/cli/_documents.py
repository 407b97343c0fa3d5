"""The checks of a pipeline document read by ``pipelines apply``, before anything is sent.

A document is what ``pipelines export`` writes: an object with a ``name``, an optional
``description``, ``nodes`` (an object of node objects by id) and optionally ``canvas_metadata``,
``inputs`` and ``outputs``. A file that is not of that shape is the user's mistake: each check
raises :class:`DocumentError` (a ``ValueError``, so the command exits 2, a usage error) naming
the file and the path in it, as ``nodes.a: must be an object``. Nothing is dropped silently.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["MAX_DEPTH", "DocumentError", "read_document"]

#: The deepest nesting a document may have (its top-level object is at depth 1). Exported
#: pipelines are a few levels deep; the limit keeps every later step (copies, comparisons,
#: encoding) well away from Python's recursion limit.
MAX_DEPTH = 100


class DocumentError(ValueError):
    """A pipeline document that is not of the shape ``pipelines apply`` reads."""


def _too_deep(value: Any) -> str | None:
    """The path of the first value nested deeper than :data:`MAX_DEPTH`, or None (iterative)."""
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, dict):
            children = [(v, f"{path}.{k}" if path else str(k)) for k, v in item.items()]
        elif isinstance(item, list):
            children = [(v, f"{path}[{i}]") for i, v in enumerate(item)]
        else:
            continue
        if depth > MAX_DEPTH:
            return path
        stack.extend((child, child_path, depth + 1) for child, child_path in children)
    return None


def _check_node(node_id: str, node: Any) -> str | None:
    """What is wrong with one node, as ``path: problem``, or None."""
    where = f"nodes.{node_id}"
    if not isinstance(node, dict):
        return f"{where}: must be an object (a node), got {type(node).__name__}"
    for key in ("type", "name"):
        value = node.get(key)
        if not isinstance(value, str) or not value.strip():
            got = "nothing" if key not in node else f"{value!r}"[:40]
            return f"{where}.{key}: must be a non-empty string, got {got}"
    if "id" in node and node["id"] != node_id:
        return f"{where}.id: must be the node's key {node_id!r}, got {node['id']!r}"[:200]
    if not isinstance(node.get("inputs", {}), dict):
        return f"{where}.inputs: must be an object"
    if not isinstance(node.get("outputs", []), list):
        return f"{where}.outputs: must be a list"
    return None


def _problem(document: Any) -> str | None:
    if not isinstance(document, dict):
        return f"must be an object (an exported pipeline), got {type(document).__name__}"
    if not isinstance(document.get("name"), str) or not document["name"].strip():
        return "name: must be a non-empty string (an exported pipeline needs a 'name')"
    if "description" in document and not isinstance(document["description"], (str, type(None))):
        return "description: must be a string"
    nodes = document.get("nodes")
    if not isinstance(nodes, dict):
        return "nodes: must be an object of nodes by id (an exported pipeline needs 'nodes')"
    for key in ("canvas_metadata", "inputs", "outputs"):
        if key in document and not isinstance(document[key], dict):
            return f"{key}: must be an object"
    canvas = document.get("canvas_metadata", {}).get("nodes", {})
    if not isinstance(canvas, dict):
        return "canvas_metadata.nodes: must be an object"
    for node_id, node in nodes.items():
        problem = _check_node(node_id, node)
        if problem:
            return problem
    deep = _too_deep(document)
    if deep is not None:
        return f"{deep}: nested more than {MAX_DEPTH} levels deep"
    return None


def read_document(path: str) -> dict[str, Any]:
    """The pipeline document in the file ``path``, checked.

    Raises:
        DocumentError: the file is not JSON, is nested too deeply for the parser, or is not of
            a document's shape; the message names the file and the path in it.
        OSError: the file cannot be read.
    """
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DocumentError(f"{path} is not JSON: {exc}") from None
    except RecursionError:
        raise DocumentError(
            f"{path}: nested too deeply to read (a pipeline document is at most "
            f"{MAX_DEPTH} levels deep)"
        ) from None
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{path} is not UTF-8 text: {exc.reason}") from None
    problem = _problem(document)
    if problem is not None or not isinstance(document, dict):
        raise DocumentError(f"{path}: {problem}")
    return document
