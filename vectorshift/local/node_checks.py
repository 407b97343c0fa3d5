"""What graph validation checks of each node, read from the node declarations.

A node of a declared type (:mod:`vectorshift._schema.nodes_types`) must have the inputs its
declaration marks required, lists where it declares lists, an ``execution_mode`` it allows, and
(for an input node with a default value) a default of its input type; its outputs, when it
lists none, are the declared ones for its inputs. Node types that are not declared are accepted
as they are: they can be stored, and fail when run.
"""

from __future__ import annotations

from typing import Any

from vectorshift._schema.io_types import value_problem
from vectorshift._schema.nodes_types import declaration
from vectorshift.local.nodes import EXECUTORS

__all__ = ["declared_outputs", "node_problems"]


def declared_outputs(node: dict[str, Any]) -> set[str]:
    """A well-formed node's output names: its own list, else its type's; with ``complete``."""
    outputs = node.get("outputs")
    if isinstance(outputs, list):
        fields = {str(field) for field in outputs}
    else:
        declared = declaration(node["type"])
        run = EXECUTORS.get(node["type"])
        if run is not None and run.outputs is not None:
            fields = set(run.outputs(node["inputs"]))
        else:
            fields = set(declared.outputs_for(node["inputs"])) if declared else set()
    fields.add("complete")
    return fields


def node_problems(label: str, node: dict[str, Any]) -> list[str]:
    """The problems of a well-formed node (a dict with a type and inputs), each naming it."""
    kind, inputs = node["type"], node["inputs"]
    declared = declaration(kind)
    if declared is None:
        return []
    problems = [
        f"{label} is missing input '{key}'"
        for key in declared.required_inputs()
        if key not in inputs
    ]
    problems += [
        f"{label}: input '{key}' must be a list"
        for key in declared.list_inputs()
        if key in inputs and not isinstance(inputs[key], list)
    ]
    mode = node.get("execution_mode", declared.execution_modes[0])
    if mode not in declared.execution_modes:
        allowed = ", ".join(repr(mode) for mode in declared.execution_modes)
        problems.append(f"{label}: execution_mode {mode!r} is not one of {allowed}")
    if kind == "input" and inputs.get("use_default_value") is True:
        problem = value_problem(
            "default_value", inputs.get("input_type"), inputs.get("default_value")
        )
        problems += [f"{label}: {problem}"] if problem else []
    run = EXECUTORS.get(kind)
    if run is not None and run.problems is not None and not problems:
        problems += run.problems(label, inputs, list(node.get("outputs", [])))
    return problems
