"""The results returned to users: frozen dataclasses.

Wire JSON stays at the edge (``_wire.py`` checks each field as it is read); these results carry
the normalised status vocabulary (docs/protocol.md#status-vocabulary) and also answer the dict
access the platform docs show (``status["result"]``, ``status.get("result")``,
``result["outputs"]["answer"]``), so documented snippets keep working. They are plain
dataclasses rather than pydantic models so that importing the package builds no model
(docs/guides/performance.md#what-the-first-use-costs); pydantic handles them as it handles any
dataclass.
"""

# No ``from __future__ import annotations``: the field annotations stay objects, so pydantic
# and ``typing.get_type_hints`` read them although the classes report ``vectorshift`` as their
# module, where names such as ``RunState`` do not exist.
import copy
import json
import logging
import threading
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar, get_args

from vectorshift import _log
from vectorshift._sse import SSEFrame
from vectorshift._wire import ShapeError, error_text, mapping, text
from vectorshift.errors import StreamError

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

RunState = Literal["running", "succeeded", "failed", "cancelled"]

_STATES: dict[str, RunState] = {
    **dict.fromkeys(("pending", "queued", "in_progress", "running", "started"), "running"),
    **dict.fromkeys(("completed", "succeeded", "success"), "succeeded"),
    **dict.fromkeys(("failed", "error"), "failed"),
    **dict.fromkeys(("cancelled", "canceled", "terminated", "aborted"), "cancelled"),
}
_TERMINAL: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
_WORDS: tuple[str, ...] = get_args(RunState)
_STATE_WORDS = ", ".join(map(repr, _WORDS[:-1])) + f" or {_WORDS[-1]!r}"
_unknown_seen: set[str] = set()
_unknown_lock = threading.Lock()


def normalize_status(raw: str | None) -> tuple[RunState, bool]:
    """Map a server's status string to one of the four SDK states.

    Returns:
        The state and whether the raw string was known. An unknown string counts as
        ``running`` (so waiting stays bounded by its timeout, never an error mid-poll) and is
        logged once per process.
    """
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


class _DictAccess:
    """Mapping-style reads over a result: ``m["key"]``, ``m.get("key")``, ``"key" in m``.

    The results are frozen stdlib dataclasses (not pydantic models, whose machinery made
    ``import vectorshift`` twice as slow): pydantic still validates and serialises them as
    fields of a user's own models or through ``TypeAdapter``, and :meth:`model_dump` and
    :meth:`model_dump_json` keep the names they had when they were pydantic models.

    ``repr()`` and ``print()`` show the class name and the fields that are set (``raw``, the
    body as received, is left out: its values are the fields'), e.g.
    ``RunStatus(task_id='t-1', status='succeeded', raw_status='completed', result={...})``.
    """

    __slots__ = ()
    __dataclass_fields__: ClassVar[dict[str, Any]]

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name in self.__dataclass_fields__
            if name != "raw" and getattr(self, name) is not None
        )
        return f"{type(self).__name__}({shown})"

    def __str__(self) -> str:
        return repr(self)

    def _lookup(self, key: str) -> Any:
        if key in self.__dataclass_fields__:
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
        return isinstance(key, str) and self.get(key, _MISSING) is not _MISSING

    def keys(self) -> list[str]:
        """The keys dict access answers."""
        return [key for key in self._aliases() if key in self] + list(self.__dataclass_fields__)

    def _aliases(self) -> tuple[str, ...]:
        return ()

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def model_dump(
        self,
        *,
        mode: Literal["python", "json"] = "python",
        include: Collection[str] | None = None,
        exclude: Collection[str] = (),
        exclude_none: bool = False,
    ) -> dict[str, Any]:
        """The fields as a new dict, as pydantic's method of the same name gives them.

        Args:
            mode: ``"python"`` copies the values; ``"json"`` gives only JSON types (what
                :meth:`model_dump_json` writes, read back).
            include: The fields to keep (all when ``None``).
            exclude: The fields to leave out.
            exclude_none: Leave out the fields that are ``None``.

        Example:
            >>> status.model_dump(exclude={"raw"}, exclude_none=True)["status"]
            'succeeded'
        """
        if mode not in ("python", "json"):
            raise ValueError(f"mode must be 'python' or 'json', not {mode!r}")
        fields = {
            name: getattr(self, name)
            for name in self.__dataclass_fields__
            if (include is None or name in include) and name not in exclude
        }
        if exclude_none:
            fields = {name: value for name, value in fields.items() if value is not None}
        if mode == "json":
            loaded: dict[str, Any] = json.loads(json.dumps(fields, default=str))
            return loaded
        return copy.deepcopy(fields)

    def model_dump_json(
        self,
        *,
        indent: int | None = None,
        include: Collection[str] | None = None,
        exclude: Collection[str] = (),
        exclude_none: bool = False,
    ) -> str:
        """The fields as JSON text, compact unless ``indent`` is given; see :meth:`model_dump`.

        Values JSON has no type for are written as their ``str()``.
        """
        return json.dumps(
            self.model_dump(include=include, exclude=exclude, exclude_none=exclude_none),
            ensure_ascii=False,
            indent=indent,
            separators=None if indent is not None else (",", ":"),
            default=str,
        )


_MISSING = object()
_R = TypeVar("_R", bound=_DictAccess)


@dataclass(frozen=True, kw_only=True, repr=False)
class RunStatus(_DictAccess):
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

    pipeline_id: str | None = None
    task_id: str
    trace_id: str | None = None
    status: RunState
    raw_status: str | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _require(self, "task_id", self.task_id, "a string", isinstance(self.task_id, str))
        _require(self, "status", self.status, _STATE_WORDS, _is_state(self.status))
        _check_common(self, ("pipeline_id", "trace_id", "raw_status", "error"), ("result",))

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

    def _aliases(self) -> tuple[str, ...]:
        return ("outputs",)

    def _lookup(self, key: str) -> Any:
        if key == "outputs":
            return self.outputs
        return super()._lookup(key)

    @classmethod
    def from_wire(
        cls,
        data: dict[str, Any],
        *,
        pipeline_id: str | None,
        task_id: str,
        trace_id: str | None = None,
    ) -> "RunStatus":
        """Build from a status body (docs/protocol.md#platform-endpoints).

        Raises:
            ShapeError: ``status`` is missing or not a string, or another field docs/protocol.md
                names has the wrong type (the caller raises it as an ``ApiResponseError``).
        """
        raw_text = text(data, "status", required=True)
        state, _ = normalize_status(raw_text)
        result = mapping(data, "result")
        if result is None:
            result = mapping(data, "outputs")
        return _checked(
            cls,
            pipeline_id=pipeline_id,
            task_id=text(data, "task_id") or task_id,
            trace_id=text(data, "trace_id") or trace_id,
            status=state,
            raw_status=raw_text,
            result=result,
            error=error_text(data.get("error")),
            raw=data,
        )


@dataclass(frozen=True, kw_only=True, repr=False)
class RunResult(RunStatus):
    """The outcome of a blocking run (``pipeline.run(inputs)``); ``run_id`` names the run.

    Example:
        >>> result = pipeline.run({"query": "hello"})
        >>> result["outputs"]["answer"]
        'hello'
    """

    @property
    def run_id(self) -> str:
        """The run's id (the same as ``task_id``)."""
        return self.task_id

    def _aliases(self) -> tuple[str, ...]:
        return ("outputs", "run_id")

    def _lookup(self, key: str) -> Any:
        if key == "run_id":
            return self.run_id
        return super()._lookup(key)


@dataclass(frozen=True, kw_only=True, repr=False)
class StreamChunk(_DictAccess):
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

    type: str
    output_name: str | None = None
    output_value: Any = None
    run_id: str | None = None
    status: RunState | None = None
    raw_status: str | None = None
    outputs: dict[str, Any] | None = None
    error: str | None = None
    id: str | None = None
    node_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _require(self, "type", self.type, "a string", isinstance(self.type, str))
        ok = self.status is None or _is_state(self.status)
        _require(self, "status", self.status, f"None or {_STATE_WORDS}", ok)
        _check_common(
            self, ("output_name", "run_id", "raw_status", "error", "id", "node_id"), ("outputs",)
        )

    @classmethod
    def from_frame(cls, data: dict[str, Any], event_id: str | None) -> "StreamChunk":
        """Build from a frame's JSON object (docs/protocol.md#sse-frames).

        Raises:
            StreamError: a field docs/protocol.md names has the wrong type (``run_id`` an
                object...), or a ``result`` frame has no ``status``; the error quotes the frame.
        """
        try:
            kind = text(data, "type") or "stream"
            raw_text = text(data, "status", required=kind == "result")
            chunk = _checked(
                cls,
                type=kind,
                output_name=text(data, "output_name"),
                output_value=data.get("output_value"),
                run_id=text(data, "run_id", "pipeline_run_id"),
                status=None if raw_text is None else normalize_status(raw_text)[0],
                raw_status=raw_text,
                outputs=mapping(data, "outputs"),
                error=error_text(data.get("error")),
                id=event_id,
                node_id=text(data, "node_id"),
                raw=data,
            )
        except ShapeError as exc:
            raise StreamError(
                f"a stream frame is not the platform's: {exc}", frame=_frame_excerpt(data)
            ) from None
        return chunk


def _checked(cls: type[_R], **fields: Any) -> _R:
    """A ``cls`` of ``fields`` that ``_wire`` has checked as it read them, every field given.

    It skips the frozen dataclass ``__init__``, which sets each field through
    ``object.__setattr__`` and checks them all again: two thirds of a stream chunk's cost.
    """
    result = object.__new__(cls)
    result.__dict__.update(fields)
    return result


def _is_state(value: object) -> bool:
    return isinstance(value, str) and value in _WORDS


def _require(result: _DictAccess, name: str, value: object, expected: str, ok: bool) -> None:
    if not ok:
        raise TypeError(f"{type(result).__name__}.{name} must be {expected}, not {value!r}")


def _check_common(
    result: "RunStatus | StreamChunk",
    optional_text: tuple[str, ...],
    optional_maps: tuple[str, ...],
) -> None:
    for name in optional_text:
        value = getattr(result, name)
        _require(result, name, value, "a string or None", value is None or isinstance(value, str))
    for name in optional_maps:
        value = getattr(result, name)
        _require(result, name, value, "a dict or None", value is None or isinstance(value, dict))
    _require(result, "raw", result.raw, "a dict", isinstance(result.raw, dict))


def _frame_excerpt(data: dict[str, Any]) -> str:
    shown = json.dumps(data, ensure_ascii=False, default=str)
    return shown if len(shown) <= 200 else shown[:200] + "..."


@dataclass(frozen=True)
class RunOutcome:
    """What became of one input of :meth:`Pipeline.map <vectorshift.Pipeline.amap>`.

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
