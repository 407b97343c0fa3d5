"""Nodes and output references: the pieces a pipeline graph is made of.

A node's outputs are typed attributes (``llm.response``, ``q.text``): each is a descriptor on the
node class, so a misspelt output is an attribute error for mypy and the IDE, with no plugin.
An output reference renders as the platform's template ``{{ <node id>.<field> }}`` wherever it is
used: as a node input, inside an f-string, or in a list.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping
from typing import Any, ClassVar, overload

from vectorshift.errors import PipelineDefinitionError

__all__ = [
    "MissingOutputError",
    "Node",
    "NodeOutput",
    "Output",
    "node_class",
    "references",
    "to_wire",
]

TEMPLATE = re.compile(r"\{\{\s*([A-Za-z0-9_\-]+)\.([A-Za-z0-9_\-]+)\s*\}\}")
_BAD_NAME = re.compile(r"[{}\n\r]")
_ID = re.compile(r"^[A-Za-z0-9_\-]+$")

_NODE_CLASSES: dict[str, type[Node]] = {}
"""The typed class of each node type: every class that declares its own ``node_type``.

Filled as the classes are defined (:meth:`Node.__init_subclass__`); ``vectorshift.pipeline``
imports the modules that define them, and Python runs that package before any of its modules,
so the table is complete before a node is decoded.
"""


def node_class(node_type: str) -> type[Node]:
    """The typed class for a node type, or :class:`Node` for types the SDK does not model."""
    return _NODE_CLASSES.get(node_type, Node)


class NodeOutput:
    """A reference to one output field of one node, e.g. ``llm.response``.

    Use it as a node input, in a list, or inside an f-string: it renders as
    ``{{ <node id>.<field> }}``.
    """

    __slots__ = ("field", "node")

    def __init__(self, node: Node, field: str) -> None:
        self.node = node
        self.field = field

    @property
    def template(self) -> str:
        """The platform template for this reference."""
        return f"{{{{ {self.node.id}.{self.field} }}}}"

    def __str__(self) -> str:
        return self.template

    def __format__(self, spec: str) -> str:
        return format(self.template, spec)

    def __repr__(self) -> str:
        return f"<output {self.node.name!r}.{self.field} ({self.template})>"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, NodeOutput) and other.node is self.node and other.field == self.field
        )

    def __hash__(self) -> int:
        return hash((id(self.node), self.field))


class Output:
    """Declares a typed output field on a node class."""

    def __init__(self, field: str | None = None) -> None:
        self.field = field or ""

    def __set_name__(self, owner: type[Node], name: str) -> None:
        if not self.field:
            self.field = name

    @overload
    def __get__(self, obj: None, owner: type[Node]) -> Output: ...
    @overload
    def __get__(self, obj: Node, owner: type[Node]) -> NodeOutput: ...
    def __get__(self, obj: Node | None, owner: type[Node]) -> Output | NodeOutput:
        if obj is None:
            return self
        if self.field not in obj.outputs:
            # A field the class declares but this node does not have: an int32 input has
            # ``value``, not ``text``; a file input has ``file_name``...
            raise MissingOutputError(
                f"{obj.type} node {obj.name!r} ({obj.id}){_kind(obj)} has no output "
                f"{self.field!r}; its outputs are {', '.join(obj.outputs)}",
                node_ids=(obj.id,),
            )
        return NodeOutput(obj, self.field)


class MissingOutputError(PipelineDefinitionError, AttributeError):
    """An output a node does not have was referenced as an attribute.

    It is a :class:`PipelineDefinitionError`, and an :class:`AttributeError` so that
    ``hasattr(node, "text")`` answers ``False``.
    """


def _kind(node: Node) -> str:
    input_type = node.inputs.get("input_type") if node.type == "input" else None
    return f" of type {input_type!r}" if isinstance(input_type, str) else ""


def to_wire(value: Any) -> Any:
    """Turn builder values (output references, nested lists and dicts) into wire JSON values."""
    if isinstance(value, NodeOutput):
        return value.template
    if isinstance(value, Node):
        raise PipelineDefinitionError(
            f"node {value.name!r} ({value.id}) was given where a value was expected; "
            "wire one of its outputs instead (e.g. llm.response)",
            node_ids=(value.id,),
        )
    if isinstance(value, (list, tuple)):
        return [to_wire(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): to_wire(item) for key, item in value.items()}
    return value


def references(value: Any) -> list[tuple[str, str]]:
    """Every ``(node id, field)`` a wire value references through templates, in order."""
    found: list[tuple[str, str]] = []
    if isinstance(value, str):
        found.extend((m.group(1), m.group(2)) for m in TEMPLATE.finditer(value))
    elif isinstance(value, list):
        for item in value:
            found.extend(references(item))
    elif isinstance(value, dict):
        for item in value.values():
            found.extend(references(item))
    return found


def default_id(node_type: str, name: str) -> str:
    """A stable id for a node: ``<type>_<24 hex>`` derived from its name.

    Deriving it from the (unique) name keeps saved JSON identical from run to run and process to
    process, where a random id would change every time the script runs.
    """
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:24]
    return f"{node_type}_{digest}"


class Node:
    """A node of a pipeline graph.

    Subclasses describe the node types the SDK knows (their typed outputs and input defaults);
    :class:`Node` itself stands for any other platform type, kept verbatim. A subclass that
    declares its own ``node_type`` registers itself as that type's class, so
    :meth:`from_json` rebuilds nodes of that type as it; two classes may not claim one type.

    Attributes:
        id: The node id, unique in its pipeline; wiring references it.
        name: The node name, unique in its pipeline; run inputs and outputs are keyed by it.
        type: The platform node type (``llm``, ``input``...).
        inputs: The node's inputs as wire JSON (templates for wired values).
        outputs: The node's output field names.
    """

    node_type: ClassVar[str] = ""
    output_fields: ClassVar[tuple[str, ...]] = ()

    complete = Output()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        node_type = cls.__dict__.get("node_type")
        if not node_type:
            return
        known = _NODE_CLASSES.get(node_type)
        same = known is not None and (known.__module__, known.__qualname__) == (
            cls.__module__,
            cls.__qualname__,
        )
        if known is not None and not same:
            raise TypeError(
                f"{cls.__qualname__} declares node_type {node_type!r}, which "
                f"{known.__module__}.{known.__qualname__} already models"
            )
        _NODE_CLASSES[node_type] = cls

    def __init__(
        self,
        *,
        name: str,
        type: str | None = None,
        id: str | None = None,
        inputs: Mapping[str, Any] | None = None,
        outputs: list[str] | None = None,
        task_name: str | None = None,
        execution_mode: str = "normal",
        extra: Mapping[str, Any] | None = None,
        canvas: Mapping[str, Any] | None = None,
    ) -> None:
        node_type = type or self.node_type
        if not node_type:
            raise PipelineDefinitionError(f"node {name!r} needs a type")
        if not isinstance(name, str) or not name.strip() or _BAD_NAME.search(name):
            raise PipelineDefinitionError(
                f"node name {name!r} is not valid: it must be non-empty, on one line, "
                "without braces"
            )
        node_id = id or default_id(node_type, name)
        if not _ID.match(node_id):
            raise PipelineDefinitionError(
                f"node id {node_id!r} of node {name!r} is not valid: use letters, digits, '_', '-'"
            )
        self.id = node_id
        self.name = name
        self.type = node_type
        self.inputs: dict[str, Any] = to_wire(dict(inputs or {}))
        self.outputs: list[str] = sorted(
            outputs if outputs is not None else {"complete", *self.output_fields}
        )
        self.task_name = task_name or node_type
        self.execution_mode = execution_mode
        self.extra: dict[str, Any] = dict(extra or {})
        self.canvas: dict[str, Any] | None = dict(canvas) if canvas is not None else None
        self._unnamed = False
        """Built without a name: a pipeline names it ``<type>_<n>`` when adding it."""

    def _batch_fields(self) -> tuple[str, ...]:
        """The inputs this node may take as lists in batch mode (none for other node types)."""
        return ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, id={self.id!r}, type={self.type!r})"

    def ref(self, field: str) -> NodeOutput:
        """A reference to an output by name (for outputs not declared as attributes).

        Raises:
            PipelineDefinitionError: the node has no such output.
        """
        if field not in self.outputs:
            raise PipelineDefinitionError(
                f"node {self.name!r} ({self.id}) has no output {field!r}; "
                f"its outputs are {', '.join(self.outputs)}",
                node_ids=(self.id,),
            )
        return NodeOutput(self, field)

    def references(self) -> list[tuple[str, str]]:
        """Every ``(node id, field)`` this node's inputs reference."""
        return references(self.inputs)

    def to_json(self) -> dict[str, Any]:
        """The node as the platform stores it (the platform's graph format)."""
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "inputs": copy.deepcopy(self.inputs),
            "outputs": list(self.outputs),
            "task_name": self.task_name,
            "execution_mode": self.execution_mode,
        }
        data.update(copy.deepcopy(self.extra))
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], canvas: Mapping[str, Any] | None = None) -> Node:
        """Rebuild a node from platform JSON, as the typed class of its type when there is one.

        Unknown node types and unknown fields are kept verbatim, so saving what was fetched
        loses nothing.
        """
        known = {"id", "name", "type", "inputs", "outputs", "task_name", "execution_mode"}
        node_type = str(data.get("type") or "")
        node = node_class(node_type).__new__(node_class(node_type))
        Node.__init__(
            node,
            name=str(data.get("name") or data.get("id") or ""),
            type=node_type,
            id=str(data.get("id") or ""),
            inputs=data.get("inputs") or {},
            outputs=list(data.get("outputs") or []),
            task_name=data.get("task_name"),
            execution_mode=str(data.get("execution_mode") or "normal"),
            extra={k: v for k, v in data.items() if k not in known},
            canvas=canvas,
        )
        node.outputs = list(data.get("outputs") or [])
        return node
