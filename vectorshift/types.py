"""The results returned to users: frozen pydantic models.

Each result is also the declaration the SDK reads its wire shape with:
:mod:`vectorshift._schema.answers` maps a status answer, and :mod:`vectorshift._schema.frames` a
stream frame, onto these fields (the platform's status word normalised, ``result`` or
``outputs``, ``run_id`` or ``pipeline_run_id``, the body kept whole in ``raw``), and the model's
own validation checks every field, as it does for a result built by hand.

The results carry the normalised status vocabulary (docs/protocol.md#status-vocabulary) and also
answer the dict access the platform docs show (``status["result"]``, ``status.get("result")``,
``result["outputs"]["answer"]``), so documented snippets keep working.

Importing this module imports pydantic: nothing that ``from vectorshift import Pipeline,
RunHandler, Client`` loads imports it at module level
(docs/guides/performance.md#what-the-first-use-costs).
"""

# No ``from __future__ import annotations``: the field annotations stay objects, so pydantic
# builds the models here although the classes report ``vectorshift`` as their module, where
# names such as ``RunState`` do not exist.
import logging
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar, get_args, overload

from pydantic import BaseModel, ConfigDict

import vectorshift
from vectorshift import _log
from vectorshift._public_path import publish
from vectorshift._repr import short_repr
from vectorshift._sse import SSEFrame

if TYPE_CHECKING:
    from vectorshift.pipeline import RunHandler

__all__ = [
    "RunOutcome",
    "RunResult",
    "RunState",
    "RunStatus",
    "SSEFrame",
    "StreamChunk",
    "normalize_status",
]

_T = TypeVar("_T")
RunState = Literal["running", "succeeded", "failed", "cancelled"]

_STATES: dict[str, RunState] = {
    **dict.fromkeys(("pending", "queued", "in_progress", "running", "started"), "running"),
    **dict.fromkeys(("completed", "succeeded", "success"), "succeeded"),
    **dict.fromkeys(("failed", "error"), "failed"),
    **dict.fromkeys(("cancelled", "canceled", "terminated", "aborted"), "cancelled"),
}
_TERMINAL: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
_WORDS: tuple[str, ...] = get_args(RunState)
_unknown_seen: set[str] = set()
_unknown_lock = threading.Lock()


def normalize_status(raw: str | None) -> tuple[RunState, bool]:
    """Map a server's status string to one of the four SDK states.

    Returns:
        The state and whether the raw string was known. An unknown string counts as
        ``running`` (so waiting stays bounded by its timeout, never an error mid-poll) and is
        logged once per process.
    """
    state = _STATES.get(raw) if raw is not None else None  # the common case: an exact word
    if state is not None:
        return state, True
    key = (raw or "").strip().lower()
    state = _STATES.get(key)
    if state is not None:
        return state, True
    with _unknown_lock:
        first = key not in _unknown_seen
        _unknown_seen.add(key)
    if first:
        _log.event(
            logging.WARNING, "unknown run status %r from the server; treating it as running", raw
        )
    return "running", False


class _Result(BaseModel):
    """Mapping-style reads over a result: ``m["key"]``, ``m.get("key")``, ``"key" in m``.

    ``repr()`` and ``print()`` show the class name and the fields that are set (``raw``, the
    body as received, is left out: its values are the fields'), e.g.
    ``RunStatus(task_id='t-1', status='succeeded', raw_status='completed', result={...})``.
    Results are unhashable, as the dicts they hold are.
    """

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid", defer_build=True)
    __hash__ = None  # type: ignore[assignment]
    _aliases: ClassVar[tuple[str, ...]] = ()

    def __repr_args__(self) -> Iterator[tuple[str, Any]]:
        for name in type(self).model_fields:
            value = self.__dict__[name]
            if name != "raw" and value is not None:
                yield name, value

    def __str__(self) -> str:
        return repr(self)

    def _lookup(self, key: str) -> Any:
        if key in type(self).model_fields or key in self._aliases:
            return getattr(self, key)
        raise KeyError(key)

    def __getitem__(self, key: str) -> Any:
        return self._lookup(key)

    def get(self, key: str, default: Any = None) -> Any:
        """The value under ``key``, or ``default``."""
        try:
            return self._lookup(key)
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (key in type(self).model_fields or key in self._aliases)

    def keys(self) -> list[str]:
        """The keys dict access answers: the aliases, then the fields."""
        return [*self._aliases, *type(self).model_fields]

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        return iter(self.keys())


class RunStatus(_Result):
    """Where a pipeline run stands.

    Attributes:
        pipeline_id: The pipeline that runs.
        task_id: The run's id.
        trace_id: The trace id of the run, when known.
        status: ``running``, ``succeeded``, ``failed`` or ``cancelled``.
        raw_status: The status string exactly as the server sent it.
        result: The outputs keyed by output node name, once the run succeeded.
        error: The run's error message, when it failed.
        raw: The response body as received.

    Example:
        >>> status = handler.run_status()
        >>> status.status, status.is_terminal
        ('succeeded', True)
        >>> status["result"]["answer"] == status.outputs["answer"]
        True
    """

    _aliases: ClassVar[tuple[str, ...]] = ("outputs",)

    pipeline_id: str | None = None
    task_id: str
    trace_id: str | None = None
    status: RunState
    raw_status: str | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    raw: dict[str, Any] = {}

    @property
    def is_terminal(self) -> bool:
        """True once the run succeeded, failed or was cancelled: the status will not change."""
        return self.status in _TERMINAL

    @property
    def known_status(self) -> bool:
        """False when the server sent a status string this SDK does not know."""
        return (self.raw_status or "").strip().lower() in _STATES

    @property
    def outputs(self) -> dict[str, Any]:
        """The outputs keyed by output node name (empty until the run succeeded)."""
        return dict(self.result or {})

    @overload
    def output(self, name: str) -> Any: ...
    @overload
    def output(self, name: str, type_: type[_T]) -> _T: ...
    def output(self, name: str, type_: Any = None) -> Any:
        """One output by its output node's name, checked to be of ``type_`` (typed for mypy).

        ``result["outputs"]["answer"]`` is ``Any`` to a type checker (``mypy --strict`` reports
        "Returning Any" where it is returned); ``result.output("answer", str)`` is a ``str``,
        checked when read. ``type_`` may be a class (``str``, ``int``, ``float``, which also
        takes an ``int``, ``bool``, ``dict``, ``list``...), a generic type (``list[str]``,
        ``dict[str, int]``: every element is checked), or a pydantic model, which the output
        (a JSON object) is validated into.

        Raises:
            OutputError: the run has no such output (it has not succeeded, or the name is
                misspelt; the message lists the names there are), or its value is not of
                ``type_``. A ``ValueError``.

        Example:
            >>> result = pipeline.run({"query": "hello"})
            >>> answer: str = result.output("answer", str)
            >>> tags = result.output("tags", list[str])
        """
        from vectorshift.errors import OutputError

        outputs = self.result or {}
        if name not in outputs:
            known = ", ".join(map(repr, outputs)) or "none"
            raise OutputError(
                f"run {self.task_id} has no output {name!r} (its outputs: {known}; status "
                f"{self.status})",
                output_name=name,
            )
        value = outputs[name]
        return value if type_ is None else _as_type(self.task_id, name, value, type_)


def _as_type(task_id: str, name: str, value: Any, type_: Any) -> Any:
    """``value`` as ``type_``: checked for a class, validated for a generic or a model."""
    from vectorshift.errors import OutputError

    if isinstance(type_, type) and issubclass(type_, BaseModel):
        try:
            return type_.model_validate(value)
        except ValueError as exc:
            raise OutputError(
                f"run {task_id}: output {name!r} is not a {type_.__name__}: {exc}",
                output_name=name,
            ) from None
    if isinstance(type_, type):
        fits = isinstance(value, type_) and not (type_ is int and isinstance(value, bool))
        if type_ is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if fits:
            return value
        raise OutputError(
            f"run {task_id}: output {name!r} is a {type(value).__name__} "
            f"({_short(value)}), not a {type_.__name__}",
            output_name=name,
        )
    from pydantic import TypeAdapter, ValidationError

    try:
        return TypeAdapter(type_).validate_python(value, strict=True)
    except ValidationError as exc:
        raise OutputError(
            f"run {task_id}: output {name!r} is not a {type_}: "
            f"{exc.errors(include_url=False)[0]['msg']}",
            output_name=name,
        ) from None


def _short(value: Any) -> str:
    return short_repr(value, 60)


class RunResult(RunStatus):
    """The outcome of a blocking run (``pipeline.run(inputs)``); ``run_id`` names the run.

    Example:
        >>> result = pipeline.run({"query": "hello"})
        >>> result["outputs"]["answer"]
        'hello'
    """

    _aliases: ClassVar[tuple[str, ...]] = ("outputs", "run_id")

    @property
    def run_id(self) -> str:
        """The run's id (the same as ``task_id``)."""
        return self.task_id


class StreamChunk(_Result):
    """One frame of a streaming run, decoded (docs/protocol.md#sse-frames).

    ``stream`` chunks carry a token delta of a ``stream<string>`` output, or the value of a
    node output as it completes (``output_name`` is then ``"<node name>.<field>"`` on
    ``vectorshift.local``). The last chunk is a ``result`` chunk with the run's ``status``
    (``succeeded``, ``failed`` or ``cancelled``, the words of :attr:`RunStatus.status`; the
    platform's own word, such as ``success``, is ``raw_status``), its ``outputs`` and, when it
    failed, ``error``.

    Attributes:
        type: ``stream`` or ``result``.
        output_name: The output a ``stream`` chunk belongs to.
        output_value: The delta or value of a ``stream`` chunk.
        run_id: The run (read from ``run_id`` or ``pipeline_run_id``).
        status: A ``result`` chunk's status: ``succeeded``, ``failed`` or ``cancelled`` (or
            ``running`` for a word this SDK does not know); ``None`` on ``stream`` chunks.
        raw_status: A ``result`` chunk's status exactly as the server sent it.
        outputs: A ``result`` chunk's outputs.
        error: A failed ``result`` chunk's error.
        id: The SSE event id, when the server numbers its frames.
        node_id: The node that produced an intermediate value, when the server says.
        raw: The frame's JSON object.

    Example:
        >>> for chunk in pipeline.stream({"query": "hi"}):
        ...     if chunk.type == "stream":
        ...         print(chunk.output_name, chunk.output_value)
    """

    type: Literal["stream", "result"]
    output_name: str | None = None
    output_value: Any = None
    run_id: str | None = None
    status: RunState | None = None
    raw_status: str | None = None
    outputs: dict[str, Any] | None = None
    error: str | None = None
    id: str | None = None
    node_id: str | None = None
    raw: dict[str, Any] = {}


@dataclass(frozen=True)
class RunOutcome:
    """What became of one input of :meth:`Pipeline.map <vectorshift.Pipeline.amap>`.

    A plain dataclass, not a pydantic model: it holds live objects (a handler bound to a
    client, an exception) that have no JSON form, and nothing reads it from the wire.

    Attributes:
        index: The input's position in the inputs given (0 for the first).
        inputs: The input mapping itself.
        handler: The run's handler, once it was started (``None`` when the start failed); a
            run that did not end in time can still be waited for through it.
        result: The run's final status (also when it failed or was cancelled); ``None`` when
            no final status was seen.
        error: Why the input did not succeed: a run error (failed, cancelled, not finished in
            time) or the error of its start; ``None`` when it succeeded.

    Example:
        >>> for outcome in pipeline.map(rows, concurrency=16):
        ...     if outcome.ok:
        ...         print(outcome.index, outcome.result["result"]["answer"])
        ...     else:
        ...         print(outcome.index, "failed:", outcome.error)
    """

    index: int
    inputs: Mapping[str, Any]
    handler: "RunHandler | None" = None
    result: RunStatus | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """True when the run succeeded."""
        return self.error is None and self.result is not None and self.result.status == "succeeded"

    @property
    def task_id(self) -> str | None:
        """The run's id, once it was started."""
        return None if self.handler is None else self.handler.task_id


# The results report their public path (``vectorshift.RunStatus``) also when an answer is the
# first to import them, before any code names them through the package.
for _public in (RunStatus, RunResult, StreamChunk, RunOutcome):
    publish(_public, vectorshift.__all__)
