"""What the local server stores, as plain values (pipelines, runs), and their wire forms."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

STOPPED_SERVER_ERROR = "the local server stopped while this run was active"
"""Error of a run whose server stopped (or died) before the run ended."""

IDEMPOTENCY_TTL = 24 * 3600.0
"""Seconds during which an idempotency key replays its original answer."""

RUN_STATUSES = ("in_progress", "completed", "failed", "cancelled")
"""Run statuses as stored and served; all but ``in_progress`` are terminal."""

_FRAME_STATUS = {"completed": "success", "failed": "failed", "cancelled": "cancelled"}


class RunLimitReached(Exception):
    """The organisation already has as many active runs as it may."""


class IdempotencyConflict(Exception):
    """An idempotency key was reused with a different request body."""


@dataclass(frozen=True)
class PipelineRecord:
    """One stored pipeline: its current graph and the version it is at (``version``).

    The graph of each version it was deployed at is a :class:`VersionRecord`.
    """

    id: str
    org: str
    name: str
    nodes: dict[str, Any]
    canvas_metadata: dict[str, Any]
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    branch_id: str
    version: str
    description: str
    created: str
    modified: str
    folder_id: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """The pipeline object as ``GET /pipeline`` answers it."""
        return {
            "_id": self.id,
            "mainBranch": self.branch_id,
            "name": self.name,
            "nodes": self.nodes,
            "canvas_metadata": self.canvas_metadata,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "description": self.description,
            "createdDate": self.created,
            "modifiedDate": self.modified,
            "version": self.version,
            "folder_id": self.folder_id,
        }


@dataclass(frozen=True)
class RunRecord:
    """One run as stored. ``status`` is one of :data:`RUN_STATUSES`.

    ``simulated`` names the providers whose LLM nodes the simulated model answered (known once
    the run has ended); the wire forms carry it as ``simulated_providers`` when not empty.
    ``traceparent`` and ``tracestate`` are the W3C trace context its start carried
    (:mod:`vectorshift.local.trace_context`); the status answer carries them when recorded.
    """

    task_id: str
    pipeline_id: str
    org: str
    status: str
    inputs: dict[str, Any]
    outputs: dict[str, Any] | None
    error: str | None
    trace_id: str
    owner_instance: str
    created: str
    finished: str | None
    simulated: tuple[str, ...] = ()
    traceparent: str | None = None
    tracestate: str | None = None

    @property
    def terminal(self) -> bool:
        """Whether the run has ended (its status will never change again)."""
        return self.status != "in_progress"

    def to_status(self) -> dict[str, Any]:
        """The run as its status endpoint answers it (``result`` once completed)."""
        body: dict[str, Any] = {
            "task_id": self.task_id,
            "status": self.status,
            "trace_id": self.trace_id,
        }
        if self.error is not None:
            body["error"] = self.error
        if self.status == "completed":
            body["result"] = self.outputs or {}
        if self.traceparent is not None:
            body["traceparent"] = self.traceparent
        if self.tracestate is not None:
            body["tracestate"] = self.tracestate
        return {**body, **simulated_field(self.simulated)}


def simulated_field(providers: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """``{"simulated_providers": [...]}`` for the wire forms of a run, or ``{}`` for none.

    An extension of the run, status and bulk-run answers and of the ``result`` frame: clients
    ignore it.
    """
    return {"simulated_providers": sorted(providers)} if providers else {}


FIRST_VERSION = "0.0.0"
"""The version a new pipeline is at (and a duplicate): its creation is its first version.

The official client's docs deploy, bump the minor part twice and revert to ``0.2.0``, so the
first version is below ``0.1.0``; ``0.0.0`` is the one that needs no further rule.
"""

LATEST = "latest"
"""The version selector naming a pipeline's highest version number."""


@dataclass(frozen=True)
class VersionRecord:
    """One stored version of a pipeline: its number, changelog and graph."""

    pipeline_id: str
    version: str
    description: str
    created: str
    nodes: dict[str, Any]
    canvas_metadata: dict[str, Any]
    inputs: dict[str, Any]
    outputs: dict[str, Any]

    def to_wire(self) -> dict[str, Any]:
        """The version as a fetched pipeline's ``versions`` list shows it."""
        return {
            "version": self.version,
            "description": self.description,
            "createdDate": self.created,
        }


def version_key(version: str) -> tuple[int, int, int]:
    """``version`` (``major.minor.patch``) as a tuple to order by; ``(-1, -1, -1)`` when not.

    Example:
        >>> version_key("0.10.0") > version_key("0.9.3")
        True
    """
    try:
        major, minor, patch = (int(x) for x in version.split("."))
    except ValueError:
        return (-1, -1, -1)
    return (major, minor, patch)


def bump_version(version: str, part: str) -> str:
    """``version`` (``major.minor.patch``) with ``part`` increased and the parts after it reset.

    A version that is not three integers counts as ``1.0.0``.

    Example:
        >>> bump_version("1.4.2", "minor")
        '1.5.0'
    """
    try:
        major, minor, patch = (int(x) for x in version.split("."))
    except ValueError:
        major, minor, patch = 1, 0, 0
    if part == "major":
        return f"{major + 1}.0.0"
    if part == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def new_object_id() -> str:
    """A 24-hex identifier shaped like a MongoDB ObjectId (time prefix, random rest)."""
    return f"{int(time.time()) & 0xFFFFFFFF:08x}{secrets.token_hex(8)}"


def result_frame(
    task_id: str,
    status: str,
    outputs: dict[str, Any] | None,
    error: str | None,
    simulated: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The final ``result`` stream frame of a run that ended with ``status`` (a run status)."""
    frame: dict[str, Any] = {
        "type": "result",
        "run_id": task_id,
        "status": _FRAME_STATUS[status],
        "outputs": outputs or {},
    }
    if error is not None:
        frame["error"] = error
    return {**frame, **simulated_field(simulated)}
