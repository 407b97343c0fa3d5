"""Batch mode in the local engine: a node that runs once per element of its list inputs.

A node saved with ``"execution_mode": "batch"`` (``pipeline.add_batch(...)`` or the node classes'
``execution_mode="batch"``) is allowed for the node types whose declaration lists ``batch``
(llm, combine_text, text_formatter, split_text, pipeline); graph validation refuses it
elsewhere, naming the node. The platform documents that such a node "processes each input
independently" and that its outputs are lists (``vec<T>``); what follows is what
``vectorshift.local`` chose where the official client and the platform's documentation say
nothing (``tests/fixtures/official/FACTS.md`` §4, "Not pinned down"):

- **Which inputs iterate: the run-time values.** Of the inputs the node type may batch (its
  declaration's ``batch_fields``: an llm's ``prompt`` and ``system``; a text formatter's
  ``text`` and ``formatter``; a split's ``text`` and ``delimiter``; combine text's ``text``; a
  pipeline node's sub-pipeline inputs), each whose rendered value is a list one level deeper
  than the input's own type iterates: a list for a text input, a list of lists for
  ``combine_text``'s ``text``. The others are shared by every element (a non-batch text node
  as a shared system prompt "runs once", as the docs' example has it). The canvas's
  ``batchModeConfig`` is not read: the official client writes ``false`` for an input wired
  to a list (``{{ questions.value }}``), which the docs' example batches all the same, so the
  flag cannot be what decides; the value can, and it also makes a chain work.
- **Chains.** A batch node's outputs are lists, so a batch node fed by one iterates over its
  elements (``add_batch.text_formatter`` feeding ``add_batch.split_text`` splits each text).
  A non-batch node fed by a batch node receives the whole list.
- **Lengths.** Every iterated input must have the same length; otherwise the run fails at that
  node, naming it and each iterated input with its length. No input is truncated or padded.
  A batch node with no iterated input fails the same way (it would have nothing to run
  once per); an empty list runs no element and gives empty lists.
- **Order and failure.** Elements run one after the other, in input order, and the outputs
  are in that order. The first element that fails fails the node (and so the run), naming the
  element's index; no partial list is published. Sequential runs keep a local run's
  results and simulated token counts reproducible.
- **Streaming.** A batch llm does not stream tokens (its answer is a list): a
  ``stream<string>`` output fed by it receives the whole value in one frame.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from vectorshift._schema.nodes_types import declaration
from vectorshift.local.nodes import NodeError

__all__ = ["batch_fields", "run_batch"]


def batch_fields(node: dict[str, Any]) -> tuple[str, ...]:
    """The inputs of a batch node that may iterate, in declaration order."""
    if node["type"] == "pipeline":
        return tuple(key for key in node["inputs"] if key not in ("pipeline_id", "dependencies"))
    declared = declaration(node["type"])
    return declared.batch_fields if declared is not None else ()


def _iterates(kind: str, field: str, value: Any) -> bool:
    if not isinstance(value, list):
        return False
    declared = declaration(kind)
    if declared is not None and field in declared.list_inputs():
        return all(isinstance(item, list) for item in value)
    return True


async def run_batch(
    node: dict[str, Any],
    inputs: dict[str, Any],
    execute: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]],
    outputs: Iterable[str],
) -> dict[str, list[Any]]:
    """Run ``execute`` once per element of the node's iterated inputs; outputs as lists.

    ``outputs`` are the node's output names: each is a list, empty when no element ran.

    Raises:
        NodeError: no input iterates, the iterated inputs' lengths differ, or an element
            failed (the message names its index).
    """
    fields = batch_fields(node)
    iterated = [field for field in fields if _iterates(node["type"], field, inputs.get(field))]
    if not iterated:
        raise NodeError(
            "a batch node needs a list in at least one of "
            f"{', '.join(map(repr, fields)) or 'its inputs'}, and got none"
        )
    lengths = {field: len(inputs[field]) for field in iterated}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{field!r} has {count}" for field, count in lengths.items())
        raise NodeError(f"batch inputs have different lengths: {shown} elements")
    results: dict[str, list[Any]] = {field: [] for field in outputs if field != "complete"}
    for index in range(next(iter(lengths.values()))):
        element = {**inputs, **{field: inputs[field][index] for field in iterated}}
        try:
            produced = await execute(element)
        except NodeError as exc:
            raise NodeError(f"batch element {index}: {exc}") from exc
        for field, value in produced.items():
            results.setdefault(field, []).append(value)
    return results
