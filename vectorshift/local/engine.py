"""The pipeline execution engine of ``vectorshift.local``.

This module is the whole contract with the local server: it validates graphs, derives a
pipeline's inputs and outputs, and executes runs. It knows nothing of HTTP or storage; node
semantics live in :mod:`vectorshift.local.nodes`, templates in
:mod:`vectorshift.local.templates`, LLM calls in :mod:`vectorshift.local.providers`.

Scheduling. Every node runs in its own task of one anyio task group and starts as soon as
every node it references (in any input, ``dependencies`` included) has finished, so
independent branches run concurrently. The first node failure cancels the others and
:func:`execute` raises it as :class:`RunFailure`; cancelling the caller's scope cancels
everything, including simulated token loops and HTTP streams.

Branches. A value from a condition path that was not taken is *skipped*. A node that
references a skipped value is skipped too (it does not run, and it does not fail), and so on
downstream. A ``merge`` node is the exception: it runs with the fields that are available and
is skipped only when none is (or when its own ``dependencies`` are skipped).

Inputs and outputs. An ``input`` node publishes the run input of its name (or its
``default_value`` when the run does not give one) under every output field it declares, and
under its type's outputs (``text`` for ``string``, ``value`` for ``int32``...); a ``file``
input publishes the file's ``file``, ``file_name`` and ``processed_text`` instead (see
:func:`vectorshift.local.nodes.input_outputs`). Input nodes' own inputs are configuration and
are never treated as templates.
An ``output`` node's ``value`` becomes the run output of the node's name, with its type kept
(a list from ``split_text`` stays a list). An output node that is skipped is absent from the
outputs returned and gets no frame.

Batch nodes (``"execution_mode": "batch"``) run once per element of their list inputs and
output lists: what iterates, lengths, order and failures are in :mod:`vectorshift.local.batch`.

Frames passed to ``emit`` (the server adds ``run_id`` and the SSE ``id``):

- ``{"type": "stream", "output_name": <output name>, "output_value": <delta>}``: with
  ``EngineOptions.stream_tokens``, for each token of an ``llm`` node with ``"stream": true``,
  to every ``stream<string>`` output whose value is exactly ``{{ <that llm>.response }}``.
- ``{"type": "stream", "output_name": <output name>, "output_value": <value>}``: for every output
  node when its value is ready, except a ``stream<string>`` output that already received token
  deltas (its deltas concatenated are its value).
- ``{"type": "stream", "output_name": "<node name>.<field>", "output_value": <value>,
  "node_id": <id>}``: with ``EngineOptions.intermediate_results``, for each output field of each
  non-output node as it completes (``complete`` and skipped paths excluded).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import anyio
from anyio import CancelScope

from vectorshift.local.batch import run_batch
from vectorshift.local.engine_share import check_off_loop, start_when_ready
from vectorshift.local.limits import Meter
from vectorshift.local.node_checks import declared_outputs, node_problems
from vectorshift.local.nodes import (
    EXECUTORS,
    SKIPPED,
    NodeContext,
    NodeError,
    input_outputs,
)
from vectorshift.local.providers import OnToken, ProviderConfig
from vectorshift.local.templates import find_references, render, single_reference

__all__ = [
    "Emit",
    "EngineOptions",
    "GraphValidationError",
    "RunFailure",
    "SubPipelineLoader",
    "execute",
    "pipeline_io",
    "validate_graph",
]

Emit = Callable[[dict[str, Any]], Awaitable[None]]
SubPipelineLoader = Callable[[str], Awaitable[dict[str, Any]]]

_MAX_PIPELINE_DEPTH = 8


class GraphValidationError(Exception):
    """A pipeline graph the engine cannot accept. The server answers 422 with ``str(exc)``."""

    node_ids: tuple[str, ...]

    def __init__(self, message: str, node_ids: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.node_ids = tuple(node_ids)


class RunFailure(Exception):
    """The run failed; ``str(exc)`` is the user-facing error and names the node.

    Example: ``node 'llm' (llm_0): the LLM provider 'cohere' is set to be real, but ...``.
    """

    node_id: str | None

    def __init__(self, message: str, node_id: str | None = None) -> None:
        super().__init__(message)
        self.node_id = node_id


@dataclass
class EngineOptions:
    """How one run is executed; the server builds it from the run request and its config.

    Attributes:
        stream_tokens: Emit token deltas for ``stream<string>`` outputs fed directly by an
            ``llm`` node with ``"stream": true``.
        intermediate_results: Emit a frame for every output of every non-output node.
        load_pipeline: Loads a stored pipeline's ``nodes`` map by id for ``pipeline`` nodes;
            raises ``KeyError`` for an unknown id. Without it, pipeline nodes fail.
        providers: Which providers are simulated, and the keys of the real ones (server
            configuration, never the graph). Default: every provider simulated.
        max_value_size: Most characters one node may interpolate into its inputs, stream as
            tokens, or produce as any one output value; ``None``: unbounded.
        max_run_size: Most characters the output values of every node of the run (its
            sub-pipelines' included) may add up to; ``None``: unbounded.
    """

    stream_tokens: bool = False
    intermediate_results: bool = False
    load_pipeline: SubPipelineLoader | None = None
    providers: ProviderConfig = dataclasses.field(default_factory=ProviderConfig)
    max_value_size: int | None = None
    max_run_size: int | None = None


def _short(node_id: str, node: Any) -> str:
    name = node.get("name") if isinstance(node, dict) else None
    return f"'{name}' ({node_id})" if isinstance(name, str) and name else f"'{node_id}'"


def _label(node_id: str, node: Any) -> str:
    return f"node {_short(node_id, node)}"


def _shape_problems(node_id: str, node: Any) -> list[str]:
    if not isinstance(node, dict):
        return [f"node '{node_id}' must be an object"]
    label = _label(node_id, node)
    problems: list[str] = []
    if node.get("id") != node_id:
        problems.append(f"{label} has id {node.get('id')!r} but is stored under key '{node_id}'")
    if not isinstance(node.get("name"), str) or not node["name"].strip():
        problems.append(f"node '{node_id}' needs a non-empty string 'name'")
    if not isinstance(node.get("type"), str) or not node["type"]:
        problems.append(f"{label} needs a string 'type'")
    if not isinstance(node.get("inputs"), dict):
        problems.append(f"{label} needs an object 'inputs'")
    outputs = node.get("outputs", [])
    if not isinstance(outputs, list) or not all(isinstance(field, str) for field in outputs):
        problems.append(f"{label}: 'outputs' must be a list of output names")
    if problems:
        return problems
    return node_problems(label, node)


def _find_cycle(edges: dict[str, list[str]]) -> list[str] | None:
    state: dict[str, int] = dict.fromkeys(edges, 0)  # 0 unseen, 1 on the path, 2 finished
    for start in edges:
        if state[start]:
            continue
        path = [start]
        stack = [iter(edges[start])]
        state[start] = 1
        while stack:
            following = next(stack[-1], None)
            if following is None:
                state[path.pop()] = 2
                stack.pop()
            elif state[following] == 1:
                return [*path[path.index(following) :], following]
            elif state[following] == 0:
                state[following] = 1
                path.append(following)
                stack.append(iter(edges[following]))
    return None


def validate_graph(nodes: dict[str, Any]) -> None:
    """Check a graph's ``nodes`` map before it is stored or run.

    Every node needs ``id`` (equal to its key), ``name`` (unique), ``type`` and ``inputs``;
    declared node types need their required inputs, lists and execution mode
    (:mod:`vectorshift.local.node_checks`); every ``{{ id.field }}`` reference must name
    an existing node and an output that node declares; the graph must have no cycle; condition
    nodes must be well formed. Unknown node *types* are accepted (they can be stored, and fail
    when run). Every problem found is reported, separated by ``"; "``.

    Raises:
        GraphValidationError: naming the nodes involved in ``node_ids``.

    Example:
        >>> validate_graph({"t": {"id": "t", "name": "t", "type": "text",
        ...                       "inputs": {"text": "{{ llm_9.response }}"}}})
        Traceback (most recent call last):
        ...
        vectorshift.local.engine.GraphValidationError: node 't' (t) references missing node \
'llm_9' in input 'text'
    """
    if not isinstance(nodes, dict):
        raise GraphValidationError("the graph's 'nodes' must be an object of nodes by id")
    problems: list[tuple[tuple[str, ...], str]] = []
    valid: dict[str, dict[str, Any]] = {}
    for node_id, node in nodes.items():
        shape = _shape_problems(node_id, node)
        problems += [((node_id,), problem) for problem in shape]
        if not shape:
            valid[node_id] = node
    by_name: dict[str, list[str]] = {}
    for node_id, node in valid.items():
        by_name.setdefault(node["name"], []).append(node_id)
    for name, ids in by_name.items():
        if len(ids) > 1:
            problems.append((tuple(ids), f"node name '{name}' is used by {', '.join(ids)}"))
    edges: dict[str, list[str]] = {node_id: [] for node_id in valid}
    for node_id, node in valid.items():
        if node["type"] == "input":
            continue
        for key, value in node["inputs"].items():
            for ref in find_references(value):
                if ref.node_id not in nodes:
                    problems.append(
                        (
                            (node_id,),
                            f"{_label(node_id, node)} references missing node "
                            f"'{ref.node_id}' in input '{key}'",
                        )
                    )
                elif ref.node_id in valid:
                    target = valid[ref.node_id]
                    declared = declared_outputs(target)
                    if ref.field in declared:
                        edges[node_id].append(ref.node_id)
                    else:
                        problems.append(
                            (
                                (node_id,),
                                (
                                    f"{_label(node_id, node)} references output "
                                    f"'{ref.field}' of {_label(ref.node_id, target)} in input "
                                    f"'{key}', but that node's outputs are "
                                    f"{', '.join(sorted(declared))}"
                                ),
                            )
                        )
    cycle = _find_cycle(edges)
    if cycle is not None:
        flow = " -> ".join(_short(node_id, valid[node_id]) for node_id in reversed(cycle))
        problems.append((tuple(cycle[:-1]), f"the graph has a cycle: {flow}"))
    if problems:
        involved = dict.fromkeys(node_id for node_ids, _ in problems for node_id in node_ids)
        raise GraphValidationError("; ".join(message for _, message in problems), involved)


def pipeline_io(nodes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The pipeline-level inputs and outputs maps, recomputed from its input and output nodes.

    Example:
        >>> pipeline_io({"input_0": {"id": "input_0", "name": "query", "type": "input",
        ...                          "inputs": {"input_type": "string"}}})
        ({'query': {'io_type': 'string', 'description': '', 'default_value': ''}}, {})
    """
    inputs: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    for node in nodes.values():
        if not isinstance(node, dict) or not isinstance(node.get("inputs"), dict):
            continue
        config = node["inputs"]
        if node.get("type") == "input":
            inputs[node["name"]] = {
                "io_type": config.get("input_type", "string"),
                "description": config.get("description", ""),
                "default_value": config.get("default_value", ""),
            }
        elif node.get("type") == "output":
            outputs[node["name"]] = {
                "io_type": config.get("output_type", "string"),
                "description": config.get("description", ""),
            }
    return inputs, outputs


class _Skip(Exception):
    """A looked-up value comes from a branch that was not taken."""


async def _no_tokens(_delta: str) -> None:
    """The token sink of batch nodes: their answers are lists, sent whole."""


async def _discard(_frame: dict[str, Any]) -> None:
    """The emit callback of sub-pipeline runs: their frames are not the caller's."""


class _Run:
    """The state of one execution of one graph."""

    def __init__(
        self,
        nodes: dict[str, Any],
        inputs: dict[str, Any],
        emit: Emit,
        options: EngineOptions,
        stack: tuple[str, ...],
        meter: Meter,
        simulated: set[str],
    ) -> None:
        self._meter = meter
        self._nodes = nodes
        self._inputs = inputs
        self._emit = emit
        self._options = options
        self._stack = stack
        self._simulated = simulated
        self._results: dict[str, dict[str, Any]] = {}
        self._skipped: set[str] = set()
        self._outputs: dict[str, Any] = {}
        self._deltas_sent: set[str] = set()
        self._failure: RunFailure | None = None
        self._done: set[str] = set()  # the nodes that finished well
        self._stream_targets: dict[str, list[str]] = {}

    async def run(self) -> dict[str, Any]:
        try:
            reads = await check_off_loop(validate_graph, self._nodes)
        except GraphValidationError as exc:
            raise RunFailure(str(exc), exc.node_ids[0] if exc.node_ids else None) from exc
        for node_id, node in self._nodes.items():
            if node["type"] not in EXECUTORS and node["type"] not in ("input", "output"):
                raise RunFailure(
                    f"{_label(node_id, node)}: node type '{node['type']}' is not "
                    "supported by vectorshift.local",
                    node_id,
                )
        self._stream_targets = self._find_stream_targets()
        async with anyio.create_task_group() as group:
            scope = group.cancel_scope
            await start_when_ready(
                group,
                lambda node_id: self._run_node(node_id, scope),
                reads,
                self._done.__contains__,
            )
        if self._failure is not None:
            raise self._failure
        names = [node["name"] for node in self._nodes.values() if node["type"] == "output"]
        return {name: self._outputs[name] for name in names if name in self._outputs}

    def _find_stream_targets(self) -> dict[str, list[str]]:
        targets: dict[str, list[str]] = {}
        if not self._options.stream_tokens:
            return targets
        for node in self._nodes.values():
            if node["type"] != "output" or node["inputs"].get("output_type") != "stream<string>":
                continue
            ref = single_reference(node["inputs"].get("value"))
            if ref is None or ref.field != "response":
                continue
            source = self._nodes[ref.node_id]
            if source["type"] == "llm" and source["inputs"].get("stream") is True:
                targets.setdefault(ref.node_id, []).append(node["name"])
        return targets

    async def _run_node(self, node_id: str, scope: CancelScope) -> None:
        node = self._nodes[node_id]
        try:  # started once every node it reads finished (start_when_ready)
            await self._evaluate(node_id, node)
        except NodeError as exc:
            self._fail(RunFailure(f"{_label(node_id, node)}: {exc}", node_id), exc, scope)
        except Exception as exc:
            failure = RunFailure(f"{_label(node_id, node)}: internal error: {exc!r}", node_id)
            self._fail(failure, exc, scope)
        else:
            self._done.add(node_id)

    def _fail(self, failure: RunFailure, cause: Exception, scope: CancelScope) -> None:
        failure.__cause__ = cause
        if self._failure is None:
            self._failure = failure
        scope.cancel()

    def _lookup(self, node_id: str, field: str) -> Any:
        if node_id in self._skipped:
            raise _Skip
        value = self._results[node_id].get(field)
        if value is SKIPPED:
            raise _Skip
        return value

    def _available(self, value: Any, count: Callable[[int], None]) -> Any:
        try:
            return render(value, self._lookup, count)
        except _Skip:
            return SKIPPED

    def _render_inputs(self, kind: str, inputs: dict[str, Any]) -> dict[str, Any]:
        run = EXECUTORS.get(kind)
        skippable = run.skippable_list if run is not None else None
        count = self._meter.reading("its inputs")
        if skippable is None:
            rendered: dict[str, Any] = render(inputs, self._lookup, count)
            return rendered
        rendered = {
            key: render(value, self._lookup, count)
            for key, value in inputs.items()
            if key != skippable
        }
        items = [self._available(item, count) for item in inputs[skippable]]
        if all(item is SKIPPED for item in items):
            raise _Skip
        rendered[skippable] = items
        return rendered

    async def _evaluate(self, node_id: str, node: dict[str, Any]) -> None:
        kind, name = node["type"], node["name"]
        if kind == "input":
            value = self._inputs.get(name, node["inputs"].get("default_value"))
            fields = declared_outputs(node) - {"complete"}
            await self._publish(node_id, node, input_outputs(node["inputs"], value, fields))
            return
        try:
            inputs = self._render_inputs(kind, node["inputs"])
        except _Skip:
            self._skipped.add(node_id)
            return
        if kind == "output":
            self._outputs[name] = inputs.get("value")
            self._results[node_id] = {"complete": True}
            if name not in self._deltas_sent:
                await self._emit(
                    {"type": "stream", "output_name": name, "output_value": self._outputs[name]}
                )
            return
        batch = node.get("execution_mode") == "batch"
        sink = _no_tokens if batch else self._token_sink(node_id)
        context = NodeContext(
            node_id, name, self._options.providers, sink, self._run_pipeline, self._simulated
        )
        run = EXECUTORS[kind]
        if batch:
            result: dict[str, Any] = await run_batch(
                node, inputs, lambda element: run.execute(element, context), declared_outputs(node)
            )
        else:
            result = await run.execute(inputs, context)
        for field in declared_outputs(node):
            result.setdefault(field, run.missing_output)
        self._meter.produced(result)
        await self._publish(node_id, node, result)

    async def _publish(self, node_id: str, node: dict[str, Any], result: dict[str, Any]) -> None:
        result["complete"] = True
        self._results[node_id] = result
        if not self._options.intermediate_results:
            return
        for field, value in result.items():
            if field != "complete" and value is not SKIPPED:
                await self._emit(
                    {
                        "type": "stream",
                        "output_name": f"{node['name']}.{field}",
                        "output_value": value,
                        "node_id": node_id,
                    }
                )

    def _token_sink(self, node_id: str) -> OnToken:
        targets = self._stream_targets.get(node_id, [])
        count = self._meter.reading("its answer")

        async def sink(delta: str) -> None:
            count(len(delta))
            for name in targets:
                self._deltas_sent.add(name)
                await self._emit({"type": "stream", "output_name": name, "output_value": delta})

        return sink

    async def _run_pipeline(self, pipeline_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
        loader = self._options.load_pipeline
        if loader is None:
            raise NodeError("pipeline nodes need a pipeline loader, and the server gave none")
        if pipeline_id in self._stack or len(self._stack) >= _MAX_PIPELINE_DEPTH:
            chain = " -> ".join((*self._stack, pipeline_id))
            raise NodeError(f"pipelines nest too deeply or include themselves: {chain}")
        try:
            nodes = await loader(pipeline_id)
        except KeyError as exc:
            raise NodeError(f"pipeline '{pipeline_id}' does not exist") from exc
        options = dataclasses.replace(
            self._options, stream_tokens=False, intermediate_results=False
        )
        try:
            sub = _Run(
                nodes,
                inputs,
                _discard,
                options,
                (*self._stack, pipeline_id),
                self._meter,
                self._simulated,
            )
            return await sub.run()
        except RunFailure as exc:
            raise NodeError(f"sub-pipeline '{pipeline_id}' failed: {exc}") from exc


async def execute(
    nodes: dict[str, Any],
    inputs: dict[str, Any],
    emit: Emit,
    options: EngineOptions,
    simulated: set[str] | None = None,
) -> dict[str, Any]:
    """Run a graph and return its outputs keyed by output node name.

    ``inputs`` are keyed by input node name (the server checks names against
    :func:`pipeline_io` first). Frames are passed to ``emit`` as described in the module
    docstring. Cancellation of the calling scope propagates and stops all work. Each provider
    whose LLM node the simulated model answered (in sub-pipelines too) is added to
    ``simulated``, as the run goes, so a failed run reports them as well.

    Raises:
        RunFailure: an invalid graph, a node type vectorshift.local cannot run, or a node
            failure, with a message naming the node.

    Example:
        >>> async def main(graph: dict[str, Any]) -> dict[str, Any]:
        ...     async def emit(frame: dict[str, Any]) -> None:
        ...         print(frame)
        ...     return await execute(graph["nodes"], {"query": "hi"}, emit, EngineOptions())
    """
    meter = Meter(options.max_value_size, options.max_run_size)
    found = set() if simulated is None else simulated
    return await _Run(nodes, inputs, emit, options, (), meter, found).run()
