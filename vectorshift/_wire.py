"""The shapes of the platform's answers (docs/protocol.md#platform-endpoints), checked where they
are read.

Every answer the SDK turns into a result passes one of these checks first, so a body that is
not the platform's (``{}`` from a misrouted proxy, an id that is an object, a list where a map
was promised) stops with a :class:`ShapeError` naming the field, which the caller turns into an
:class:`~vectorshift.ApiResponseError` with the response's status, request id and an excerpt.
Nothing here imports httpx, so the models in :mod:`vectorshift.types` can use it.

The checks hold what docs/protocol.md promises and nothing more: fields it does not name are kept as
they came, and nullable fields may be ``null``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "ShapeError",
    "blocking_run",
    "bulk_outputs",
    "created_id",
    "error_text",
    "listed_objects",
    "mapping",
    "pipeline_object",
    "started_run",
    "text",
]

_FAILED = ("failed", "error")


class ShapeError(ValueError):
    """An answer lacks a field docs/protocol.md promises, or holds one of the wrong type."""


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def text(
    data: Mapping[str, Any], *names: str, required: bool = False, where: str = ""
) -> str | None:
    """The first of ``names`` present in ``data``, which must be a string.

    Args:
        data: A JSON object.
        *names: The field and its aliases, preferred first (``run_id``, ``task_id``).
        required: Whether one of them must be a non-empty string.
        where: A prefix naming the object in messages (``object.``, ``run_outputs[2].``).

    Raises:
        ShapeError: the field is not a string (or, when required, is missing or empty).
    """
    for name in names:
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ShapeError(f"field '{where}{name}' must be a string, got {_kind(value)}")
        if value or not required:
            return value
    if required:
        fields = " or ".join(repr(where + name) for name in names)
        raise ShapeError(f"field {fields} is missing or empty")
    return None


def error_text(error: Any) -> str | None:
    """A run's ``error`` as text: as sent when a string, else its ``str`` (``None`` if absent)."""
    return error if isinstance(error, str) or error is None else str(error)


def mapping(
    data: Mapping[str, Any], name: str, *, required: bool = False, where: str = ""
) -> dict[str, Any] | None:
    """``data[name]``, which must be a JSON object (or absent/null unless ``required``).

    Raises:
        ShapeError: the field is not an object, or is missing while required.
    """
    value = data.get(name)
    if value is None:
        if required:
            raise ShapeError(f"field '{where}{name}' is missing")
        return None
    if not isinstance(value, dict):
        raise ShapeError(f"field '{where}{name}' must be an object, got {_kind(value)}")
    return value


def _sequence(data: Mapping[str, Any], name: str, *, where: str = "") -> list[Any]:
    value = data.get(name)
    if not isinstance(value, list):
        raise ShapeError(f"field '{where}{name}' must be a list, got {_kind(value)}")
    return value


def created_id(data: Mapping[str, Any]) -> str:
    """The new pipeline's id from a create answer (P1)."""
    value = text(data, "id", required=True)
    assert value is not None
    return value


def _check_node(node_id: str, node: Any, where: str) -> None:
    place = f"{where}nodes.{node_id}"
    if not isinstance(node, dict):
        raise ShapeError(f"field '{place}' must be an object, got {_kind(node)}")
    for name in ("id", "name", "type", "task_name", "execution_mode"):
        text(node, name, where=f"{place}.")
    mapping(node, "inputs", where=f"{place}.")
    outputs = node.get("outputs")
    if outputs is not None and not (
        isinstance(outputs, list) and all(isinstance(item, str) for item in outputs)
    ):
        raise ShapeError(f"field '{place}.outputs' must be a list of strings")


def _check_object(obj: Mapping[str, Any], where: str) -> None:
    text(obj, "_id", "id", required=True, where=where)
    for name in ("name", "mainBranch", "branch_id", "description"):
        text(obj, name, where=where)
    nodes = mapping(obj, "nodes", where=where) or {}
    for node_id, node in nodes.items():
        _check_node(node_id, node, where)
    canvas = mapping(obj, "canvas_metadata", where=where) or {}
    mapping(canvas, "nodes", where=f"{where}canvas_metadata.")


def pipeline_object(data: Mapping[str, Any]) -> dict[str, Any]:
    """The stored pipeline of a fetch answer (P2), checked as far as the SDK reads it."""
    obj = mapping(data, "object", required=True)
    assert obj is not None
    _check_object(obj, "object.")
    return obj


def listed_objects(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The pipelines of a verbose list answer (P5)."""
    objects = _sequence(data, "objects")
    for index, obj in enumerate(objects):
        if not isinstance(obj, dict):
            raise ShapeError(f"field 'objects[{index}]' must be an object, got {_kind(obj)}")
        _check_object(obj, f"objects[{index}].")
    return objects


def _failed(data: Mapping[str, Any]) -> bool:
    return data.get("status") in _FAILED or data.get("error") is not None


def blocking_run(data: Mapping[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    """The run id and outputs of a blocking run's answer (P6); outputs ``None`` if it failed.

    A failed run (``status`` ``failed``) needs no outputs; a succeeded one names its run and
    carries its ``outputs`` object.
    """
    text(data, "status")
    text(data, "trace_id")
    if _failed(data):
        return text(data, "run_id", "task_id"), None
    run_id = text(data, "run_id", "task_id", required=True)
    outputs = mapping(data, "outputs", required=True)
    return run_id, outputs


def started_run(data: Mapping[str, Any]) -> tuple[str, str | None]:
    """The task id and trace id of a background start's answer (P6 with ``background``)."""
    task_id = text(data, "task_id", "run_id", required=True)
    assert task_id is not None
    return task_id, text(data, "trace_id")


def bulk_outputs(data: Mapping[str, Any], count: int) -> list[dict[str, Any]]:
    """The ``run_outputs`` of a bulk run's answer (P9): one object per run sent, in order."""
    items = _sequence(data, "run_outputs")
    if len(items) != count:
        raise ShapeError(f"field 'run_outputs' holds {len(items)} results for {count} runs")
    for index, item in enumerate(items):
        where = f"run_outputs[{index}]."
        if not isinstance(item, dict):
            raise ShapeError(f"field 'run_outputs[{index}]' must be an object, got {_kind(item)}")
        text(item, "status", where=where)
        if _failed(item):
            text(item, "run_id", where=where)
        else:
            text(item, "run_id", required=True, where=where)
            mapping(item, "outputs", required=True, where=where)
    return items
