"""Node executors of the local engine: one per node type, registered by type name.

What a node type is (its inputs, which are required or lists, its outputs per configuration,
its execution modes) is declared once in :mod:`vectorshift._schema.nodes_types`; the engine and
graph validation read it there. This module holds only what runs: each executor is registered
with :func:`executor`, with the few facts of behaviour that are the engine's (a list whose
items may come from untaken branches, the value of an output not produced, computed outputs
and extra checks). See :mod:`vectorshift._schema.nodes` for what a new node type touches.

An executor receives a node's inputs with every template already rendered and returns the
node's outputs by field name; the engine adds ``complete`` and stores them. ``input`` and
``output`` nodes are handled by the engine itself, since they are the run's own inputs and
outputs. Executors raise :class:`NodeError` with a message that the engine prefixes with the
node's name and id.

Node behaviour (outputs are in the declarations and ``docs/api/nodes.md``):

- ``input``: see :func:`input_outputs`.
- ``text``: the ``text`` input as text.
- ``combine_text``: the ``text`` list's text forms concatenated with no
  separator, as the platform's combine-text node does (``["a", "b"]`` gives ``"ab"``).
- ``text_formatter``: ``formatter`` is one of ``To Uppercase``, ``To Lowercase``,
  ``To Propercase`` (also ``To Title Case``: every word capitalised), ``Trim Spaces`` (also
  ``Trim``: leading and trailing whitespace removed) or ``Truncate`` (the first
  ``max_num_token`` whitespace-separated tokens, original spacing kept; at least 1).
- ``split_text``: ``delimiter`` is ``space`` (runs of spaces and
  tabs), ``newline`` (line breaks) or ``character(s)`` (the exact ``character`` input, which
  must not be empty). With ``space`` and ``newline`` empty pieces are dropped; with
  ``character(s)`` every piece is kept.
- ``merge``: ``function`` ``first`` gives the first field, in field order, whose
  branch ran (the platform picks the first by time; field order makes runs reproducible);
  ``join`` gives the list of the values of every field whose branch ran, as the platform's
  "Join All" does. The engine passes :data:`SKIPPED` for a field from an untaken branch, and
  skips the merge node itself when no field is available.
- ``condition``: see :mod:`vectorshift.local.nodes_condition`;
  the taken path's output is ``True``, the others are :data:`SKIPPED`.
- ``llm``: see :mod:`vectorshift.local.providers`. ``credits_used`` is always 0
  locally; with ``json_response`` the response is the parsed JSON value.
- ``pipeline``: runs
  another stored pipeline. Its inputs are ``pipeline_id`` (the stored pipeline's id) and, flat
  beside it, one key per input node name of the sub-pipeline, as the SDK forwards them as
  keyword arguments, e.g. ``{"pipeline_id": "6630...", "query": "{{ input_0.text }}",
  "dependencies": []}``. A sub-pipeline input that is not given takes its default value. The
  node's ``outputs`` list names the outputs other nodes may reference
  (``{{ pipeline_0.answer }}``). Sub-pipeline runs stream nothing to the caller.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from vectorshift._schema.nodes_types import NODE_TYPES, SPLIT_DELIMITERS, declaration
from vectorshift.local.nodes_condition import (
    ConditionError,
    condition_paths,
    condition_problems,
    first_true_group,
)
from vectorshift.local.providers import (
    LLMRequest,
    OnToken,
    ProviderConfig,
    ProviderError,
    complete,
)
from vectorshift.local.templates import to_text

__all__ = [
    "EXECUTORS",
    "SKIPPED",
    "Executor",
    "NodeContext",
    "NodeError",
    "NodeExecutor",
    "RunPipeline",
    "UploadedFile",
    "executor",
    "input_outputs",
]


class NodeError(Exception):
    """A node cannot produce its outputs; the message does not name the node."""


class _Skipped:
    """The value of an output that was not produced because its branch was not taken."""

    def __repr__(self) -> str:
        return "SKIPPED"


SKIPPED: Final = _Skipped()

RunPipeline = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class UploadedFile:
    """A file given to a run as a multipart part: the value a ``file`` input node receives.

    Args:
        name: The file name the client sent.
        content_type: The part's media type.
        content: The file's bytes.
    """

    name: str
    content_type: str
    content: bytes = field(repr=False)

    @property
    def sha256(self) -> str:
        """The hex SHA-256 digest of the content."""
        return hashlib.sha256(self.content).hexdigest()

    def metadata(self) -> dict[str, Any]:
        """What a run records of the file: name, media type, size and digest, not the bytes."""
        return {
            "name": self.name,
            "content_type": self.content_type,
            "size": len(self.content),
            "sha256": self.sha256,
        }


def input_outputs(config: dict[str, Any], value: Any, fields: set[str]) -> dict[str, Any]:
    """The input node executor: the outputs of an input node given ``value``.

    Every input type but ``file`` gives the value unchanged under its type's outputs (declared
    in :mod:`vectorshift._schema.nodes_types`: ``text`` for ``string``, ``value`` for
    ``int32``, ``float``, ``bool``, ``vec<string>`` and ``timestamp``) and under any other
    declared output in ``fields``. A ``file`` input gives ``file`` (``{"name", "content_type",
    "size"}``), ``file_name`` and ``processed_text``: the content decoded as UTF-8, with
    undecodable bytes replaced by U+FFFD. vectorshift.local's parser is plain-text only: it does
    not parse PDF, Word or other document formats as the platform does, so binary content gives
    replacement characters. A file input given no file (its default value) has no ``file``, an
    empty ``file_name`` and the value's text as ``processed_text``.

    Args:
        config: The input node's own inputs (``input_type``...).
        value: The run's value for this input: an :class:`UploadedFile` for a file input.
        fields: The node's declared outputs, ``complete`` excluded.
    """
    if config.get("input_type") != "file":
        typed = _INPUT.outputs_for(config)
        return dict.fromkeys(sorted(fields | set(typed)), value)
    if isinstance(value, UploadedFile):
        return {
            "file": {
                "name": value.name,
                "content_type": value.content_type,
                "size": len(value.content),
            },
            "file_name": value.name,
            "processed_text": value.content.decode("utf-8", errors="replace"),
        }
    return {"file": None, "file_name": "", "processed_text": to_text(value)}


@dataclass(frozen=True)
class NodeContext:
    """What an executor may use besides its inputs."""

    node_id: str
    name: str
    provider_config: ProviderConfig
    on_token: OnToken
    run_pipeline: RunPipeline
    simulated: set[str]
    """Providers the simulated model stood in for during the run; an executor adds to it."""


Executor = Callable[[dict[str, Any], NodeContext], Awaitable[dict[str, Any]]]
"""Computes a node's outputs by field name from its rendered inputs."""


@dataclass(frozen=True)
class NodeExecutor:
    """How the engine runs one node type: its one entry in :data:`EXECUTORS`.

    Attributes:
        execute: The executor.
        outputs: Computes the outputs of a node that lists none itself, for a type whose
            declared outputs are ``computed`` from its inputs (a condition's paths).
        problems: Further checks, called as ``problems(label, inputs, outputs)`` (``label``
            names the node, e.g. ``node 'route' (condition_0)``) once the node has its required
            inputs; returns messages that start with ``label``.
        skippable_list: A list input whose items may come from untaken branches: the node runs
            with :data:`SKIPPED` for those items, and is skipped only when all are.
        missing_output: The value of a declared output the executor did not produce.
    """

    execute: Executor
    outputs: Callable[[dict[str, Any]], Iterable[str]] | None = None
    problems: Callable[[str, dict[str, Any], list[str]], list[str]] | None = None
    skippable_list: str | None = None
    missing_output: Any = None


EXECUTORS: dict[str, NodeExecutor] = {}
"""Node types vectorshift.local can run besides ``input`` and ``output`` (run by the engine);
any other type is stored but refused at run time."""


def executor(name: str, **behaviour: Any) -> Callable[[Executor], Executor]:
    """Register the decorated executor for the declared node type ``name``.

    ``behaviour`` holds the other :class:`NodeExecutor` attributes. A new transform node is its
    declaration plus this decorator on its executor, e.g. ``@executor("reverse_text")``.

    Raises:
        ValueError: the type is not declared, or already has an executor.
    """

    def register(execute: Executor) -> Executor:
        if declaration(name) is None:
            raise ValueError(
                f"node type {name!r} is not declared: declare it in vectorshift/_schema/"
                "nodes_types.py first"
            )
        if name in EXECUTORS:
            raise ValueError(f"node type {name!r} is registered twice")
        EXECUTORS[name] = NodeExecutor(execute=execute, **behaviour)
        return execute

    return register


_INPUT = NODE_TYPES["input"]


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise NodeError(f"{what} must be a whole number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise NodeError(f"{what} must be a whole number, got {value!r}")


def _float(value: Any, what: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise NodeError(f"{what} must be a number, got {value!r}")


@executor("text")
async def _text(inputs: dict[str, Any], _ctx: NodeContext) -> dict[str, Any]:
    return {"text": to_text(inputs.get("text"))}


@executor("combine_text")
async def _combine_text(inputs: dict[str, Any], _ctx: NodeContext) -> dict[str, Any]:
    parts = inputs.get("text")
    items = parts if isinstance(parts, list) else [parts]
    return {"processed_text": "".join(to_text(item) for item in items)}


def _truncate(text: str, limit: int) -> str:
    if limit < 1:
        raise NodeError(f"formatter 'Truncate' needs max_num_token of at least 1, got {limit}")
    ends = [match.end() for match in re.finditer(r"\S+", text)]
    return text if len(ends) <= limit else text[: ends[limit - 1]]


_FORMATTERS: dict[str, Callable[[str, dict[str, Any]], str]] = {
    "touppercase": lambda text, _inputs: text.upper(),
    "tolowercase": lambda text, _inputs: text.lower(),
    "topropercase": lambda text, _inputs: re.sub(
        r"\S+", lambda match: match.group(0)[:1].upper() + match.group(0)[1:].lower(), text
    ),
    "trimspaces": lambda text, _inputs: text.strip(),
    "truncate": lambda text, inputs: _truncate(
        text, _int(inputs.get("max_num_token"), "input 'max_num_token'")
    ),
}
_FORMATTERS["totitlecase"] = _FORMATTERS["topropercase"]
_FORMATTERS["trim"] = _FORMATTERS["trimspaces"]


@executor("text_formatter")
async def _text_formatter(inputs: dict[str, Any], _ctx: NodeContext) -> dict[str, Any]:
    formatter = to_text(inputs.get("formatter"))
    apply = _FORMATTERS.get(re.sub(r"[^a-z]", "", formatter.lower()))
    if apply is None:
        raise NodeError(
            f"unknown formatter '{formatter}' (use To Uppercase, To Lowercase, To Propercase, "
            "To Title Case, Trim Spaces or Truncate)"
        )
    return {"output": apply(to_text(inputs.get("text")), inputs)}


@executor("split_text")
async def _split_text(inputs: dict[str, Any], _ctx: NodeContext) -> dict[str, Any]:
    text = to_text(inputs.get("text"))
    delimiter = to_text(inputs.get("delimiter"))
    if delimiter == "space":
        parts = [part for part in re.split(r"[ \t]+", text) if part]
    elif delimiter == "newline":
        parts = [part for part in text.splitlines() if part]
    elif delimiter == "character(s)":
        character = to_text(inputs.get("character"))
        if not character:
            raise NodeError("delimiter 'character(s)' needs a non-empty 'character' input")
        parts = text.split(character)
    else:
        raise NodeError(
            f"unknown delimiter '{inputs.get('delimiter')}' (the platform's are "
            f"{', '.join(SPLIT_DELIMITERS)})"
        )
    return {"processed_text": parts}


@executor("merge", skippable_list="fields")
async def _merge(inputs: dict[str, Any], _ctx: NodeContext) -> dict[str, Any]:
    available = [value for value in inputs.get("fields") or [] if value is not SKIPPED]
    function = to_text(inputs.get("function")).strip().lower()
    if function in ("first", "pick first", "pickfirst"):
        return {"output": available[0]}
    if function in ("join", "join all", "joinall"):
        return {"output": available}
    raise NodeError(f"unknown merge function '{inputs.get('function')}' (use first or join)")


def _condition_problems(label: str, inputs: dict[str, Any], outputs: list[str]) -> list[str]:
    problems = [f"{label}: {problem}" for problem in condition_problems(inputs)]
    paths = condition_paths(inputs)
    extra = [field for field in outputs if field not in paths and field != "complete"]
    if extra:
        joined = ", ".join(extra)
        problems.append(f"{label} declares outputs {joined} but its paths are {', '.join(paths)}")
    return problems


@executor("condition", outputs=condition_paths, problems=_condition_problems)
async def _condition(inputs: dict[str, Any], _ctx: NodeContext) -> dict[str, Any]:
    try:
        taken = first_true_group(inputs["conditions"])
    except ConditionError as exc:
        raise NodeError(str(exc)) from exc
    paths = condition_paths(inputs)
    chosen = paths[-1] if taken is None else paths[taken]
    return {path: True if path == chosen else SKIPPED for path in paths}


@executor("llm")
async def _llm(inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
    temperature = inputs.get("temperature")
    max_tokens = inputs.get("max_tokens")
    json_response = inputs.get("json_response") is True
    request = LLMRequest(
        provider=to_text(inputs.get("provider")),
        model=to_text(inputs.get("model")),
        prompt=to_text(inputs.get("prompt")),
        system=to_text(inputs.get("system")),
        temperature=None if temperature in (None, "") else _float(temperature, "temperature"),
        max_tokens=None if max_tokens in (None, "") else _int(max_tokens, "max_tokens"),
        json_response=json_response,
        token_delay_ms=_float(inputs.get("token_delay_ms", 20), "token_delay_ms"),
        node_name=ctx.name,
        node_id=ctx.node_id,
    )
    try:
        result = await complete(request, ctx.provider_config, ctx.on_token)
    except ProviderError as exc:
        raise NodeError(str(exc)) from exc
    if result.simulated:
        ctx.simulated.add(request.provider)
    response: Any = result.text
    if json_response:
        try:
            response = json.loads(result.text)
        except ValueError as exc:
            raise NodeError(f"json_response is on but the answer is not JSON: {exc}") from exc
    return {
        "response": response,
        "tokens_used": result.input_tokens + result.output_tokens,
        "input_tokens": result.input_tokens,
        "output_tokens": result.output_tokens,
        "credits_used": 0,
    }


@executor("pipeline", missing_output=SKIPPED)
async def _pipeline(inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
    pipeline_id = inputs.get("pipeline_id")
    if not isinstance(pipeline_id, str) or not pipeline_id:
        raise NodeError("input 'pipeline_id' must be the id of a stored pipeline")
    forwarded = {
        key: value for key, value in inputs.items() if key not in ("pipeline_id", "dependencies")
    }
    return await ctx.run_pipeline(pipeline_id, forwarded)
