"""The requests behind :class:`Pipeline`'s methods, and how their answers are read.

:class:`Pipeline` keeps the public signatures and documentation (the sync facade is generated
from them); the wire work lives here: request bodies, the checks made before any request, and
the conversion of answers into SDK types. Every answer is read from its bytes by the shape
docs/protocol.md promises (:mod:`vectorshift._schema.answers`) before anything is made of it, so a
wrong one raises :class:`~vectorshift.ApiResponseError` instead of becoming an empty result.
The shapes are imported where the first answer is read: importing this module loads no
pydantic.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from vectorshift import _intercept, _log
from vectorshift._client import Client
from vectorshift._files import as_file, encode_body, is_file_value
from vectorshift._repr import short_repr
from vectorshift.errors import (
    ArgumentError,
    InputError,
    InputTypeError,
    PipelineDefinitionError,
    PipelineRunFailedError,
    PollTimeoutError,
)
from vectorshift.pipeline._graph import input_mismatch
from vectorshift.pipeline._handler import RunHandler, ids_of, raise_for_end, wait_for_end
from vectorshift.pipeline._node import Node

if TYPE_CHECKING:
    from vectorshift._answer import ApiResponse
    from vectorshift.types import RunResult

__all__ = [
    "bulk_run",
    "check_inputs",
    "create",
    "fetch_object",
    "list_objects",
    "run_blocking",
    "run_body",
    "run_until",
    "start",
    "start_key",
    "update",
]

T = TypeVar("T")

_TRACE_NAMESPACE = uuid.UUID("5f0c4a8e-3d1b-4b7e-9a51-7c2e6d9b0f13")
"""Namespace of the trace ids derived from idempotency keys."""


def new_trace_id() -> str:
    """A fresh trace id, for runs started without one."""
    return uuid.uuid4().hex


def check_inputs(
    nodes: Sequence[Node], inputs: Mapping[str, Any], label: str, where: str = ""
) -> dict[str, Any]:
    """Check run inputs against the input nodes, before any request.

    With no nodes known (a pipeline addressed by id alone) the inputs go as given. Each value
    must be of its input's type, as the platform's declared types say
    (:data:`vectorshift._schema.io_types.RUN_VALUES`, which the local server checks too).

    Args:
        nodes: The pipeline's nodes, when known.
        inputs: The run's inputs by input name.
        label: The pipeline, for messages (``'P' (id)``).
        where: Where the run sits, for messages (``runs[2].`` in a bulk run).

    Raises:
        InputTypeError: ``inputs`` is not a mapping of names to values (a ``TypeError``).
        InputError: an input name is unknown, a required input is missing, or a value is not
            of its input's type (``pipeline 'P' (id): inputs.n: expected int32, got 'abc'``);
            a ``ValueError``.
    """
    if not isinstance(inputs, Mapping):
        raise InputTypeError(
            f"inputs must be a mapping of input name to value, got {_short(inputs)}"
        )
    for key in inputs:
        if not isinstance(key, str):
            raise InputTypeError(f"input names must be strings, got {key!r}")
    if not nodes:
        return dict(inputs)
    unknown, missing, declared = input_mismatch(nodes, inputs)
    if unknown:
        raise InputError(
            f"pipeline {label} has no input named {', '.join(map(repr, unknown))}; "
            f"its inputs are {', '.join(map(repr, declared)) or 'none'}",
            input_names=tuple(unknown),
        )
    if missing:
        raise InputError(
            f"pipeline {label} needs input {', '.join(map(repr, missing))}, which was not given",
            input_names=tuple(missing),
        )
    for node in nodes:
        if node.type != "input" or node.name not in inputs:
            continue
        wants_file = node.inputs.get("input_type") == "file"
        if wants_file != is_file_value(inputs[node.name]):
            expected = (
                "a file (a vectorshift.File, a pathlib.Path or a binary file object)"
                if wants_file
                else "a value, not a file"
            )
            raise InputError(
                f"pipeline {label}: input {node.name!r} is a "
                f"{node.inputs.get('input_type', 'string')} input and takes {expected}; "
                f"got {type(inputs[node.name]).__name__}",
                input_names=(node.name,),
            )
    _check_types(nodes, inputs, label, where)
    return dict(inputs)


_short = short_repr


def _check_types(nodes: Sequence[Node], inputs: Mapping[str, Any], label: str, where: str) -> None:
    """Refuse a value that is not of its input's type (pydantic is loaded here, at run time)."""
    from vectorshift._schema.io_types import value_problem

    for node in nodes:
        if node.type == "input" and node.name in inputs:
            input_type = node.inputs.get("input_type", "string")
            problem = value_problem(f"{where}inputs.{node.name}", input_type, inputs[node.name])
            if problem is not None:
                raise InputError(f"pipeline {label}: {problem}", input_names=(node.name,))


def run_body(
    nodes: Sequence[Node], label: str, inputs: Mapping[str, Any], **options: Any
) -> dict[str, Any]:
    """A run request body (docs/protocol.md#platform-endpoints): checked inputs, and the options
    that are set.

    File inputs (paths and file objects included) are read now and held as
    :class:`~vectorshift.File` values; such a body is sent as multipart form data.
    """
    checked = check_inputs(nodes, inputs, label)
    body: dict[str, Any] = {
        "inputs": {
            name: as_file(value, name) if is_file_value(value) else value
            for name, value in checked.items()
        }
    }
    body.update({key: value for key, value in options.items() if value is not None})
    return body


def start_key(
    pipeline_id: str, idempotency_key: str | None, trace_id: str | None
) -> tuple[str, str]:
    """The ``Idempotency-Key`` and trace id of one logical start.

    A caller's key with no trace id derives the trace id from the key, so sending the same
    start again (after a crash) sends the same body, which a keyed server requires.

    Raises:
        ArgumentError: the key is not 1 to 255 printable ASCII characters (a ``ValueError``).
    """
    if idempotency_key is None:
        return uuid.uuid4().hex, trace_id or new_trace_id()
    if not (
        0 < len(idempotency_key) <= 255
        and idempotency_key.isascii()
        and idempotency_key.isprintable()
    ):
        raise ArgumentError(
            "idempotency_key must be 1 to 255 printable ASCII characters",
            argument="idempotency_key",
        )
    derived = uuid.uuid5(_TRACE_NAMESPACE, f"{pipeline_id}\n{idempotency_key}").hex
    return idempotency_key, trace_id or derived


def _built(response: ApiResponse, build: Callable[[dict[str, Any]], T], obj: dict[str, Any]) -> T:
    """``build(obj)``; a stored node the SDK cannot represent makes the answer malformed."""
    try:
        return build(obj)
    except PipelineDefinitionError as exc:
        reason = f"the stored pipeline holds a node the SDK rejects: {exc}"
        raise response.malformed(reason) from exc


async def create(client: Client, body: dict[str, Any]) -> str:
    """``POST /pipeline`` (P1); the new pipeline's id."""
    from vectorshift._schema.answers import CREATED

    response = await client.http.request("POST", "/pipeline", json_body=body, retry_mode="unsafe")
    return response.parse(CREATED).id


async def fetch_object(
    client: Client, build: Callable[[dict[str, Any]], T], **params: str | None
) -> T:
    """``GET /pipeline`` (P2), its stored object passed to ``build``; empty ``params`` are not sent.

    Raises:
        NotFoundError: there is no such pipeline.
        ApiResponseError: the answer holds no pipeline object, or one of the wrong shape.
    """
    from vectorshift._schema.answers import FETCHED

    given = {key: value for key, value in params.items() if value}
    response = await client.http.request("GET", "/pipeline", params=given)
    return _built(response, build, response.parse(FETCHED).object.body)


async def list_objects(
    client: Client, build: Callable[[dict[str, Any]], T], **params: Any
) -> list[T]:
    """``GET /pipelines`` (P5, verbose): the stored objects of one page, each passed to ``build``.

    Raises:
        ApiResponseError: the answer holds no ``objects`` list, or an object of the wrong shape.
    """
    from vectorshift._schema.answers import LISTED

    response = await client.http.request("GET", "/pipelines", params=params)
    return [_built(response, build, obj.body) for obj in response.parse(LISTED).objects]


async def update(
    client: Client,
    pipeline_id: str,
    graph: Mapping[str, Any],
    *,
    branch_id: str | None,
    deploy: bool,
    bump: str | None,
    description: str | None,
) -> None:
    """``POST /update/pipeline/{id}`` (P3): save ``graph`` (``Pipeline.to_json()``)."""
    body: dict[str, Any] = {
        "nodes": graph["nodes"],
        "canvas_metadata": graph["canvas_metadata"],
        "deploy": deploy,
    }
    from vectorshift._schema.answers import ACK

    optional = {"branch_id": branch_id, "bump": bump, "description": description}
    body.update({key: value for key, value in optional.items() if value is not None})
    response = await client.http.request("POST", f"/update/pipeline/{pipeline_id}", json_body=body)
    response.parse(ACK)


async def run_blocking(
    client: Client, pipeline_id: str, name: str, body: dict[str, Any], trace_id: str
) -> RunResult:
    """A blocking run (P6 without ``background``/``stream``) and its outputs.

    Raises:
        PipelineRunFailedError: the run failed.
    """
    from vectorshift._schema.answers import BLOCKING_RUN
    from vectorshift.types import RunResult

    with _log.raising("run", pipeline_id=pipeline_id, trace_id=trace_id):
        json_body, data, files = encode_body(body)
        response = await client.http.request(
            "POST",
            f"/pipeline/{pipeline_id}/run",
            json_body=json_body,
            data=data,
            files=files,
            retry_mode="unsafe",
            read_timeout=None,
        )
        answer = response.parse(BLOCKING_RUN)
        run_id = answer.run_id
        trace_id = answer.trace_id or trace_id
        _intercept.note(task_id=run_id, trace_id=trace_id)
        if answer.failed:
            raise PipelineRunFailedError(
                answer.error_text, pipeline_id=pipeline_id, task_id=run_id, trace_id=trace_id
            )
    _log.event(
        logging.INFO,
        "run %s of pipeline %r succeeded",
        run_id,
        name,
        pipeline_id=pipeline_id,
        task_id=run_id,
        trace_id=trace_id,
        request_id=response.request_id,
    )
    assert run_id is not None
    return RunResult(
        pipeline_id=pipeline_id,
        task_id=run_id,
        trace_id=trace_id,
        status="succeeded",
        raw_status=answer.status,
        result=answer.outputs,
        raw=answer.body,
    )


async def run_until(start: Awaitable[RunHandler], timeout: float) -> RunResult:
    """A blocking run with a deadline: ``start`` (a background start), then its final status.

    The deadline covers both, so a run that does not end in time is a
    :class:`~vectorshift.errors.PollTimeoutError` naming the run, which goes on.

    Raises:
        PipelineRunFailedError: the run failed.
        PipelineRunCancelledError: the run was terminated.
        PollTimeoutError: the run did not end within ``timeout``.
    """
    deadline = anyio.current_time() + timeout
    handler = await start
    with _log.raising("run", **ids_of(handler)):
        try:
            final = await wait_for_end(handler, 1.0, max(deadline - anyio.current_time(), 0.001))
        except PollTimeoutError as exc:
            raw = exc.last_status.raw_status if exc.last_status is not None else None
            raise PollTimeoutError(
                f"the run did not finish within {timeout}s (last status: {raw or 'none seen'}); "
                "it goes on on the server: wait again with pipeline.run_handler(task_id)"
                ".result(), or stop it with pipeline.terminate(run_id=task_id)",
                timeout=timeout,
                last_status=exc.last_status,
                **ids_of(handler),
            ) from None
        raise_for_end(final)
    from vectorshift.types import RunResult

    return RunResult(**vars(final))


async def start(
    client: Client,
    pipeline_id: str,
    name: str,
    body: dict[str, Any],
    *,
    key: str,
    trace_id: str,
    handler_client: Client | None,
) -> RunHandler:
    """A background start (P6 with ``background``), sent with its ``Idempotency-Key``.

    The key makes the start safe to resend, so the HTTP layer retries it like a read.
    """
    from vectorshift._schema.answers import STARTED

    with _log.raising("start", pipeline_id=pipeline_id, trace_id=trace_id):
        json_body, data, files = encode_body(body)
        response = await client.http.request(
            "POST",
            f"/pipeline/{pipeline_id}/run",
            json_body=json_body,
            data=data,
            files=files,
            headers={"Idempotency-Key": key},
            retry_mode="safe",
        )
        started = response.parse(STARTED)
        _intercept.note(task_id=started.task_id, trace_id=started.trace_id or trace_id)
    handler = RunHandler(
        pipeline_id=pipeline_id,
        task_id=started.task_id,
        trace_id=started.trace_id or trace_id,
        client=handler_client,
    )
    _log.event(
        logging.INFO,
        "started run %s of pipeline %r",
        handler.task_id,
        name,
        request_id=response.request_id,
        **ids_of(handler),
    )
    return handler


async def bulk_run(client: Client, pipeline_id: str, runs: list[dict[str, Any]]) -> list[RunResult]:
    """P9: several blocking runs in one request; results in the order of ``runs``.

    Raises:
        TypeError: an input is a file (bulk runs are JSON only; run file inputs one by one).
        ApiResponseError: the answer is not the platform's, or holds another number of results
            than runs sent.
    """
    from vectorshift._schema.answers import BULK_RUN
    from vectorshift.types import RunResult

    for index, run in enumerate(runs):
        for name, value in (run.get("inputs") or {}).items():
            if is_file_value(value):
                raise InputTypeError(
                    f"bulk_run does not take file inputs (runs[{index}] input {name!r}); "
                    "use run() or start() for each file instead",
                    input_names=(name,),
                )
    response = await client.http.request(
        "POST",
        f"/pipeline/{pipeline_id}/bulk-run",
        json_body={"runs": runs},
        retry_mode="unsafe",
        read_timeout=None,
    )
    items = response.parse(BULK_RUN).run_outputs
    if len(items) != len(runs):
        raise response.malformed(
            f"field 'run_outputs' holds {len(items)} results for {len(runs)} runs"
        )
    return [
        RunResult(
            pipeline_id=pipeline_id,
            task_id=item.run_id or "",
            status="failed" if item.failed else "succeeded",
            raw_status=item.status,
            result=None if item.failed else item.outputs,
            error=item.error_text,
            raw=item.body,
        )
        for item in items
    ]
