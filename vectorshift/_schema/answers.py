"""The platform's answers (docs/protocol.md#platform-endpoints), declared once.

The SDK validates each answer straight from the response bytes with the adapter of its shape
(:meth:`vectorshift._answer.ApiResponse.parse`), so a body that is not the platform's (``{}``
from a misrouted proxy, an id that is an object, a list where a map was promised) is an
:class:`~vectorshift.ApiResponseError` naming the field by its JSON path. Fields the platform
may add are kept (:class:`~vectorshift._schema._base.Answer` allows them), nullable fields may
be ``null``, and an id may come under either of the names servers use (``_id`` or ``id``,
``run_id`` or ``task_id``).

A status answer is read straight into :class:`~vectorshift.RunStatus`, whose own declaration
checks it: :data:`RUN_STATUS` maps the body onto its fields (the platform's word normalised,
``result`` or ``outputs``, the ids the request named where the body lacks them).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic_core import PydanticCustomError

from vectorshift._schema._base import Answer, Shape
from vectorshift._schema.frames import add_outcome, error_text, first_present
from vectorshift.types import RunStatus

__all__ = [
    "ACK",
    "BLOCKING_RUN",
    "BULK_RUN",
    "CREATED",
    "DUPLICATED",
    "FETCHED",
    "LISTED",
    "NODE_REMOVED",
    "PUBLISHED",
    "RUN_STATUS",
    "STARTED",
    "Ack",
    "BlockingRun",
    "BulkItem",
    "BulkRunAnswer",
    "CanvasMetadata",
    "Created",
    "Duplicated",
    "Fetched",
    "Listed",
    "NodeRemoved",
    "Published",
    "Started",
    "StatusAnswer",
    "StatusIds",
    "StoredNode",
    "StoredPipeline",
    "VersionInfo",
]

Text = Annotated[str, Field(min_length=1)]
"""An id: a string, not empty."""

_FAILED = ("failed", "error")


class _Read(Answer):
    """An answer whose validator is built when its :class:`Shape` is first used."""

    model_config = ConfigDict(defer_build=True)


class Ack(_Read):
    """What update, delete and terminate answer: ``{"status": "success"}`` (or ``{}``)."""

    status: str | None = None
    """``success``, when the server says it."""


class Created(_Read):
    """A create's answer (P1): the new pipeline's id."""

    status: str | None = None
    """``success``."""
    id: Text
    """The new pipeline's id."""


class StoredNode(_Read):
    """A node of a stored pipeline, as far as the SDK reads it."""

    id: str | None = None
    """The node's id, which wiring (``{{ <id>.<field> }}``) refers to."""
    name: str | None = None
    """The node's name: run inputs and outputs are keyed by it."""
    type: str | None = None
    """The node type (``input``, ``llm``...)."""
    task_name: str | None = None
    """The platform's task name (the type, for the types the SDK models)."""
    execution_mode: str | None = None
    """``normal`` (or ``batch``)."""
    inputs: dict[str, Any] | None = None
    """The node's inputs: literals and templates referring to other nodes' outputs."""
    outputs: list[str] | None = None
    """The node's output fields."""


class CanvasMetadata(_Read):
    """A stored pipeline's canvas: where each node is drawn."""

    nodes: dict[str, Any] | None = None
    """Each node's position on the canvas, by node id."""


class _Kept(_Read):
    """An answer (or part of one) that keeps the JSON object it was read from, as :attr:`body`."""

    _body: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_body(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        read = handler(data)
        if type(data) is dict:
            read._body = data
        return read

    @property
    def body(self) -> dict[str, Any]:
        """The object as the server sent it, every field it holds included."""
        return self._body


class VersionInfo(_Read):
    """One stored version of a pipeline (``versions[i]`` of a fetched pipeline)."""

    version: Text
    """Its number: ``major.minor.patch``."""
    description: str | None = None
    """Its changelog: the ``description`` of the save that made it."""
    createdDate: str | None = None
    """When it was made (ISO 8601)."""


class StoredPipeline(_Kept):
    """A stored pipeline (``object`` of P2, ``objects[i]`` of P5)."""

    id: Text = Field(validation_alias=AliasChoices("_id", "id"))
    """The pipeline's id (``_id`` on the platform)."""
    name: str | None = None
    """Its name (not unique: by name, the most recently modified is fetched)."""
    mainBranch: str | None = None
    """The id of its main branch."""
    branch_id: str | None = None
    """The branch this object is."""
    description: str | None = None
    """Its description."""
    nodes: dict[str, StoredNode] | None = None
    """Its nodes by id."""
    canvas_metadata: CanvasMetadata | None = None
    """Its layout."""
    inputs: dict[str, Any] | None = None
    """Its inputs by name: ``{"io_type", "description", "default_value"?}``."""
    outputs: dict[str, Any] | None = None
    """Its outputs by name: ``{"io_type", "description"}``."""
    version: str | None = None
    """The version this graph is (``"0.2.0"``): the one fetched, else the current one."""
    versions: list[VersionInfo] | None = None
    """Every stored version, lowest first (``vectorshift.local`` sends it with a fetch)."""


class Fetched(_Read):
    """A fetch's answer (P2)."""

    status: str | None = None
    """``success``."""
    object: StoredPipeline
    """The pipeline."""


class Listed(_Read):
    """A verbose list's answer (P5): one page of stored pipelines."""

    object_ids: list[str] | None = None
    """The ids of the page's pipelines."""
    objects: list[StoredPipeline]
    """The page's pipelines (asked for with ``verbose=true``)."""


class _RunAnswer(_Kept):
    """A run's answer: a failed run (``status`` ``failed``, or an ``error``) needs no outputs;
    a succeeded one names its run and carries its ``outputs`` object."""

    status: str | None = None
    """``success`` or ``failed``."""
    run_id: Text | None = Field(None, validation_alias=AliasChoices("run_id", "task_id"))
    """The run's id (some servers say ``task_id``)."""
    outputs: dict[str, Any] | None = None
    """The outputs by output node name (when the run succeeded)."""
    error: Any = None
    """Why the run failed."""

    @property
    def failed(self) -> bool:
        """Whether the run failed."""
        return self.status in _FAILED or self.error is not None

    @property
    def error_text(self) -> str | None:
        """The run's error as text."""
        return error_text(self.error)  # type: ignore[no-any-return]

    @model_validator(mode="after")
    def _succeeded_has_outputs(self) -> Any:
        if not self.failed:
            for name in ("run_id", "outputs"):
                if getattr(self, name) is None:
                    raise PydanticCustomError("missing", "Field required", {"field": name})
        return self


class BlockingRun(_RunAnswer):
    """A blocking run's answer (P6): ``{"status", "run_id"|"task_id", "outputs", "trace_id",
    "error"}``."""

    trace_id: str | None = None
    """The run's trace id."""


class BulkItem(_RunAnswer):
    """One run of a bulk run's answer."""

    run_id: Text | None = None
    """The run's id."""


class BulkRunAnswer(_Read):
    """A bulk run's answer (P9), in either shape servers send: ``{"status", "run_outputs":
    [...]}``, or the list of runs itself (``[{"run_id", "outputs"}, ...]``, what the official
    client hands its users), read as its ``run_outputs``."""

    status: str | None = None
    """``success``, in the object form."""
    run_outputs: list[BulkItem]
    """One item per run sent, in order (the list itself, in the list form)."""

    @model_validator(mode="before")
    @classmethod
    def _a_bare_list(cls, data: Any) -> Any:
        return {"run_outputs": data} if type(data) is list else data


class Started(_Read):
    """A background start's answer (P6 with ``background``)."""

    task_id: Text = Field(validation_alias=AliasChoices("task_id", "run_id"))
    """The run's task id, for status, result and terminate."""
    trace_id: str | None = None
    """The run's trace id."""


class StatusAnswer(_Read):
    """A status answer (P7): where a run stands, and its outputs once it succeeded.

    The SDK reads it straight into :class:`~vectorshift.RunStatus` (one validation from the
    bytes, the platform's word normalised); this declaration is the wire shape, whose field
    names that reading uses.
    """

    task_id: str | None = None
    """The run's id (the SDK keeps the one it asked for when absent)."""
    status: str
    """The server's status word: ``in_progress``, ``completed``, ``failed``, ``cancelled``..."""
    result: dict[str, Any] | None = Field(None, validation_alias=AliasChoices("result", "outputs"))
    """The outputs by output node name, once the run succeeded (some servers say ``outputs``)."""
    error: Any = None
    """Why the run failed."""
    trace_id: str | None = None
    """The run's trace id."""


class StatusIds:
    """What a status request named, for a status answer that does not say it again."""

    __slots__ = ("pipeline_id", "task_id", "trace_id")

    def __init__(self, pipeline_id: str | None, task_id: str, trace_id: str | None) -> None:
        self.pipeline_id = pipeline_id
        self.task_id = task_id
        self.trace_id = trace_id


def _status_fields(data: Any, info: ValidationInfo) -> Any:
    """A status answer (``{"task_id", "status", "result"|"outputs", "error"}``) as
    :class:`RunStatus`'s fields; the context is the request's :class:`StatusIds`."""
    if type(data) is not dict:
        return data
    ids: StatusIds = info.context  # type: ignore[assignment]
    fields: dict[str, Any] = {
        "pipeline_id": ids.pipeline_id,
        "task_id": data.get("task_id") or ids.task_id,
        "trace_id": data.get("trace_id") or ids.trace_id,
        "raw": data,
    }
    result = first_present(data, *_RESULT.choices)  # type: ignore[arg-type]
    if result is not None:
        fields["result"] = result
    add_outcome(fields, data)
    return fields


_RESULT: AliasChoices = StatusAnswer.model_fields["result"].validation_alias  # type: ignore[assignment]

ACK = Shape[Ack](Ack)
CREATED = Shape[Created](Created)
FETCHED = Shape[Fetched](Fetched)
LISTED = Shape[Listed](Listed)
BLOCKING_RUN = Shape[BlockingRun](BlockingRun)
BULK_RUN = Shape[BulkRunAnswer](BulkRunAnswer)
STARTED = Shape[Started](Started)
RUN_STATUS = Shape[RunStatus](Annotated[RunStatus, BeforeValidator(_status_fields)])
"""Reads a status answer into :class:`RunStatus`; its context is a :class:`StatusIds`."""


class Duplicated(_Read):
    """A duplicate's answer: the copy's id (the client then fetches it)."""

    status: str | None = None
    """``success``."""
    id: Text
    """The new pipeline's id."""


class NodeRemoved(_Read):
    """A remove-node's answer: the id of the node removed (given by id or by name)."""

    status: str | None = None
    """``success``."""
    node_id: Text
    """The removed node's id."""


class Published(_Kept):
    """A marketplace publish's answer: ``{"status", "id"}`` (``vectorshift.local`` refuses
    publishing instead: it has no marketplace)."""

    status: str | None = None
    """``success``."""
    id: Text
    """The marketplace listing's id, which ``unpublish`` takes."""


DUPLICATED = Shape[Duplicated](Duplicated)
NODE_REMOVED = Shape[NodeRemoved](NodeRemoved)
PUBLISHED = Shape[Published](Published)
