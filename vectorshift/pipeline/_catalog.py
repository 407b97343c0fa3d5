"""The builder's hand-written side of the node types: the base class, its hooks, PipelineNode.

The typed node classes themselves (``InputNode``, ``LlmNode``...) and the fluent methods are
generated from the node declarations into :mod:`vectorshift.pipeline._generated_nodes` (see
:mod:`vectorshift._schema.nodes`); their constructors call :meth:`TypedNode._setup`, which
checks the declared choices and runs this module's ``@prepares`` hook of the node type, the
checks that need code. A node built directly (``pipeline.add_node(LlmNode(name="llm", ...))``)
is the same node as ``pipeline.add(name="llm").llm(...)`` builds.

Input defaults and their order follow what the platform's editor and the official client save
(recorded in ``tests/fixtures``), so a pipeline built here opens in the visual editor as if it had
been made there. This module is imported only when a pipeline is built or fetched, never by
``import vectorshift``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal

from vectorshift.errors import PipelineDefinitionError
from vectorshift.pipeline._graph import input_mismatch
from vectorshift.pipeline._node import Node, NodeOutput

if TYPE_CHECKING:
    from vectorshift.pipeline._pipeline import Pipeline

__all__ = ["PipelineNode"]

ExecutionMode = Literal["normal", "batch"]
"""A node's ``execution_mode``: ``batch`` runs it once per element of its list inputs."""


class _Required:
    """The default of a class argument that must be given (the name may come as ``node_name``)."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Final[Any] = _Required()

Value = Any
"""A node input: a literal, a :class:`NodeOutput`, a string embedding references, or a list."""
Dependencies = Sequence[NodeOutput | str]
"""Outputs a node waits for besides those its inputs reference (``[router.path_0]``)."""

Inputs = dict[str, Any]
Defaults = Mapping[str, Any]
Prepare = Callable[[str, Inputs, Defaults], Inputs]
_PREPARE: dict[str, Prepare] = {}


def prepares(node_type: str) -> Callable[[Prepare], Prepare]:
    """Register the decorated function as the builder's checks of ``node_type``.

    It receives the node's name, the arguments given to the constructor (every one, by name)
    and the declared defaults, and returns the inputs to save over the declared defaults, or raises
    :class:`PipelineDefinitionError`.
    """

    def register(prepare: Prepare) -> Prepare:
        _PREPARE[node_type] = prepare
        return prepare

    return register


def check_one_of(node: str, what: str, value: object, allowed: tuple[str, ...]) -> None:
    """Refuse ``value`` for the setting ``what`` of node ``node`` unless it is ``allowed``."""
    if value not in allowed:
        raise PipelineDefinitionError(
            f"node {node!r}: {what} {value!r} is not one of {', '.join(allowed)}"
        )


def official_name(
    node_type: str, name: str | None, node_name: str | None, id: str | None
) -> tuple[str, bool]:
    """The node's name, given as ``name`` or as the official client's ``node_name``.

    Without either the node is *unnamed*: it is named ``<type>_<n>`` when added to a pipeline
    (``n`` counts the nodes of its type before it), as the official client names it; until
    then its name is its id or its type.
    """
    if name is not None and node_name is not None and name != node_name:
        raise PipelineDefinitionError(
            f"{node_type} node was given two names: {name!r} and node_name={node_name!r}"
        )
    chosen = name if name is not None else node_name
    if chosen is None:
        return id or node_type, True
    return chosen, False


def check_mode(node_type: str, name: str, mode: str | None, allowed: tuple[str, ...]) -> str:
    """The node's ``execution_mode`` (``normal`` by default), refused unless its type allows it."""
    if mode is None:
        return "normal"
    if mode not in allowed:
        raise PipelineDefinitionError(
            f"{node_type} node {name!r}: execution_mode {mode!r} is not one of "
            f"{', '.join(map(repr, allowed))} (batch mode is for llm, combine_text, "
            "text_formatter, split_text and pipeline nodes)"
        )
    return mode


class TypedNode(Node):
    """A declared node type: the platform's defaults, overridden by the given inputs.

    Package-internal: the base of every generated class of
    :mod:`vectorshift.pipeline._generated_nodes`.
    """

    DEFAULTS: ClassVar[Mapping[str, Any]] = {}
    CHOICES: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    OUTPUTS_BY: ClassVar[str | None] = None
    OUTPUT_CASES: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    EXECUTION_MODES: ClassVar[tuple[str, ...]] = ("normal",)
    BATCH_FIELDS: ClassVar[tuple[str, ...]] = ()

    def _batch_fields(self) -> tuple[str, ...]:
        """The inputs this node's type may take as lists in batch mode."""
        return self.BATCH_FIELDS

    def _setup(
        self,
        name: str | None,
        id: str | None,
        given: dict[str, Any],
        node_name: str | None = None,
        execution_mode: str | None = None,
    ) -> None:
        name, unnamed = official_name(self.node_type, name, node_name, id)
        missing = [key for key, value in given.items() if value is REQUIRED]
        if missing:
            raise PipelineDefinitionError(
                f"{self.node_type} node {name!r} needs {', '.join(missing)}"
            )
        mode = check_mode(self.node_type, name, execution_mode, self.EXECUTION_MODES)
        if unnamed and id is None:
            id = f"{self.node_type}_{secrets.token_hex(12)}"
        for key, allowed in self.CHOICES.items():
            check_one_of(name, key, given.get(key, self.DEFAULTS[key]), allowed)
        prepare = _PREPARE.get(self.node_type)
        inputs = prepare(name, given, self.DEFAULTS) if prepare is not None else given
        if "dependencies" in inputs:
            inputs["dependencies"] = list(inputs["dependencies"])
        Node.__init__(
            self, name=name, id=id, inputs={**self.DEFAULTS, **inputs}, execution_mode=mode
        )
        self._unnamed = unnamed
        if self.OUTPUTS_BY is not None:
            case = self.OUTPUT_CASES[str(self.inputs[self.OUTPUTS_BY])]
            self.outputs = sorted({"complete", *case})


@prepares("input")
def _input(name: str, given: Inputs, _defaults: Defaults) -> Inputs:
    default_value = given.pop("default_value")
    use_default = given.pop("use_default_value")
    if default_value is None:
        return given if use_default is None else {**given, "use_default_value": use_default}
    from vectorshift._schema.io_types import value_problem  # pydantic: only for defaults

    problem = value_problem("default_value", given["input_type"], default_value)
    if problem is not None:
        raise PipelineDefinitionError(f"input node {name!r}: {problem}")
    optional = True if use_default is None else use_default
    return {**given, "use_default_value": optional, "default_value": default_value}


@prepares("llm")
def _llm(name: str, given: Inputs, defaults: Defaults) -> Inputs:
    extra_inputs = dict(given.pop("extra_inputs") or {})
    unknown = sorted(set(extra_inputs) - set(defaults))
    if unknown:
        raise PipelineDefinitionError(
            f"llm node {name!r}: the llm node has no input {', '.join(map(repr, unknown))}"
        )
    token_delay_ms = given.pop("token_delay_ms")
    if token_delay_ms is not None:
        extra_inputs["token_delay_ms"] = token_delay_ms
    twice = sorted(key for key in extra_inputs if key in given and given[key] != defaults.get(key))
    if twice:
        raise PipelineDefinitionError(
            f"llm node {name!r}: {', '.join(map(repr, twice))} given both as an argument and "
            "in extra_inputs; give it once"
        )
    return {**given, **extra_inputs}


def _a_list(name: str, node_type: str, what: str, value: Any, non_empty: bool = False) -> list[Any]:
    if isinstance(value, (str, NodeOutput)) or (non_empty and not value):
        raise PipelineDefinitionError(f"{node_type} node {name!r}: {what}")
    return list(value)


@prepares("combine_text")
def _combine_text(name: str, given: Inputs, _defaults: Defaults) -> Inputs:
    text = _a_list(name, "combine_text", "text is a list of the texts to combine", given["text"])
    return {**given, "text": text}


@prepares("merge")
def _merge(name: str, given: Inputs, _defaults: Defaults) -> Inputs:
    fields = _a_list(
        name,
        "merge",
        "fields is a non-empty list of the branches' values",
        given["fields"],
        non_empty=True,
    )
    return {**given, "fields": fields}


@prepares("text_formatter")
def _text_formatter(name: str, given: Inputs, _defaults: Defaults) -> Inputs:
    if given["formatter"] == "Truncate" and given["max_num_token"] < 1:
        raise PipelineDefinitionError(
            f"text_formatter node {name!r}: 'Truncate' needs max_num_token >= 1, "
            f"got {given['max_num_token']}"
        )
    return given


@prepares("split_text")
def _split_text(name: str, given: Inputs, _defaults: Defaults) -> Inputs:
    if given["delimiter"] == "character(s)" and not given["character"]:
        raise PipelineDefinitionError(
            f"split_text node {name!r}: delimiter 'character(s)' needs a non-empty character"
        )
    return given


class PipelineNode(Node):
    """A saved pipeline used as a node; its outputs are its output nodes, by name.

    Wire its outputs with :meth:`Node.ref`: ``post.ref("summary")``.

    Args:
        name: The node's name.
        pipeline: The sub-pipeline: saved (it has an id) and with its nodes (built here, or
            fetched).
        id: The node's id; derived from the name by default.
        inputs: The sub-pipeline's inputs by input node name, for names that are not Python
            identifiers or that clash with this constructor's arguments.
        dependencies: Outputs to wait for besides the inputs'.
        node_name: The official client's keyword for ``name``.
        execution_mode: ``batch`` runs the sub-pipeline once per element of its list inputs.
        **input_values: The sub-pipeline's inputs by input node name.

    Raises:
        PipelineDefinitionError: the sub-pipeline is not saved or has no nodes, an input is
            unknown, or a required input (one without a default value) is missing.

    Example:
        >>> post = pipeline.add(name="post").pipeline(cleaner, text=llm.response)
        >>> pipeline.add(name="answer").output(post.ref("clean_text"))
    """

    node_type = "pipeline"

    def __init__(
        self,
        name: str | None = None,
        pipeline: Pipeline = REQUIRED,
        *,
        id: str | None = None,
        inputs: Mapping[str, Value] | None = None,
        dependencies: Dependencies = (),
        node_name: str | None = None,
        execution_mode: ExecutionMode | None = None,
        **input_values: Value,
    ) -> None:
        given = {**(inputs or {}), **input_values}
        name, unnamed = official_name("pipeline", name, node_name, id)
        mode = check_mode("pipeline", name, execution_mode, ("normal", "batch"))
        label = f"pipeline node {name!r}"
        if pipeline is REQUIRED:
            raise PipelineDefinitionError(f"{label} needs pipeline")
        if pipeline.id is None or not pipeline.nodes:
            raise PipelineDefinitionError(
                f"{label}: pipeline {pipeline.name!r} must be saved and have its nodes "
                "(save it, or fetch it, before using it as a node)"
            )
        sub = f"{label}: sub-pipeline {pipeline.name!r} ({pipeline.id})"
        unknown, missing, declared = input_mismatch(pipeline.nodes, given)
        clashes = sorted({"pipeline_id", "dependencies"} & set(declared))
        if clashes:
            raise PipelineDefinitionError(
                f"{sub} has inputs named {', '.join(map(repr, clashes))}, which the pipeline "
                "node uses for itself"
            )
        if unknown:
            raise PipelineDefinitionError(
                f"{sub} has no input {', '.join(map(repr, unknown))}; its inputs are "
                f"{', '.join(map(repr, declared)) or 'none'}"
            )
        if missing:
            raise PipelineDefinitionError(
                f"{sub} needs input {', '.join(map(repr, missing))}, which was not given"
            )
        outputs = [node.name for node in pipeline.nodes if node.type == "output"]
        super().__init__(
            name=name,
            id=id if id is not None or not unnamed else f"pipeline_{secrets.token_hex(12)}",
            inputs={"pipeline_id": pipeline.id, **given, "dependencies": list(dependencies)},
            outputs=sorted({"complete", *outputs}),
            execution_mode=mode,
        )
        self._unnamed = unnamed

    def _batch_fields(self) -> tuple[str, ...]:
        """The sub-pipeline's inputs: each may be a list in batch mode."""
        return tuple(key for key in self.inputs if key not in ("pipeline_id", "dependencies"))
