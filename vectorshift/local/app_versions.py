"""The local server's routes for versions, copies and node removal (issue 23).

- ``POST /pipeline/<id>/revert`` ``{"version"}``: the stored version's graph becomes the current
  one; answers ``{"status": "success"}``.
- ``POST /pipeline/<id>/duplicate`` ``{"name"?, "description"?, "folder_id"?}``: a new pipeline
  with the current graph, at version ``0.0.0``; answers ``{"status": "success", "id"}``.
- ``POST /pipeline/<id>/remove-node`` ``{"node_id"?, "node_name"?}``: answers ``{"status":
  "success", "node_id"}``.

:func:`at_version` is how ``GET /pipeline?version=`` and a run's ``version`` pick a stored
version. The numbering is :mod:`vectorshift.local.sqlite_versions`'.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vectorshift._schema.requests import MAX_ID_LENGTH, Duplicate, RemoveNode, Revert
from vectorshift.local.app_sharing import OWNER, access, refuse_role
from vectorshift.local.records import PipelineRecord
from vectorshift.local.store import Store
from vectorshift.local.templates import find_references
from vectorshift.local.validation import Refusal, graph_io, read_body

if TYPE_CHECKING:
    from vectorshift.local.app import _Api

__all__ = ["at_version", "version_routes", "without_node"]


async def _unknown_version(store: Store, record: PipelineRecord, version: str) -> Refusal:
    known = ", ".join(v.version for v in await store.list_versions(record.org, record.id))
    return Refusal(
        404,
        f"version {version[:MAX_ID_LENGTH]!r} of pipeline {record.id!r} not found; its "
        f"versions are {known or 'none'} (or 'latest')",
    )


async def at_version(store: Store, record: PipelineRecord, version: Any) -> PipelineRecord:
    """``record`` with the graph and number of its stored ``version`` (404 naming it if none).

    ``None`` keeps the current graph; ``"latest"`` is the highest number; an integer is looked
    up as its text (no stored version is one).
    """
    if version is None:
        return record
    wanted = str(version)
    found = await store.get_version(record.org, record.id, wanted)
    if found is None:
        raise await _unknown_version(store, record, wanted)
    return dataclasses.replace(
        record,
        nodes=found.nodes,
        canvas_metadata=found.canvas_metadata,
        inputs=found.inputs,
        outputs=found.outputs,
        version=found.version,
    )


def _label(node_id: str, node: Any) -> str:
    name = node.get("name") if isinstance(node, dict) else None
    return f"{name!r} ({node_id})" if isinstance(name, str) and name else repr(node_id)


def without_node(
    record: PipelineRecord, node_id: str | None, node_name: str | None
) -> tuple[str, PipelineRecord]:
    """The node's id and ``record`` without it: its node, canvas entry and edges.

    A node that other nodes reference (``{{ <id>.<field> }}`` in their inputs, ``dependencies``
    included) is refused with a 422 naming them, never removed leaving dangling references:
    those would silently change what the referencing nodes compute (or break the graph at its
    next run). Remove or rewire them first (a chain is removed from its end).

    Raises:
        Refusal: 404 when no node has that id or name, 422 when both are given but name
            different nodes, or when the node is referenced.
    """
    nodes = record.nodes
    if node_id is None:
        matches = [
            i for i, n in nodes.items() if isinstance(n, dict) and n.get("name") == node_name
        ]
        if not matches:
            raise Refusal(404, f"no node named {node_name!r} in pipeline {record.id!r}")
        node_id = matches[0]
    elif node_id not in nodes:
        raise Refusal(404, f"node {node_id[:MAX_ID_LENGTH]!r} not found in pipeline {record.id!r}")
    elif node_name is not None and nodes[node_id].get("name") != node_name:
        raise Refusal(
            422, f"node {node_id!r} is named {nodes[node_id].get('name')!r}, not {node_name!r}"
        )
    users = [
        _label(other_id, other)
        for other_id, other in nodes.items()
        if other_id != node_id
        and isinstance(other, dict)
        and other.get("type") != "input"
        and any(ref.node_id == node_id for ref in find_references(other.get("inputs")))
    ]
    if users:
        raise Refusal(
            422,
            f"node {_label(node_id, nodes[node_id])} of pipeline {record.id!r} is referenced by "
            f"{', '.join(users)}: remove or change those first",
        )
    kept = {i: n for i, n in nodes.items() if i != node_id}
    canvas = dict(record.canvas_metadata)
    if isinstance(canvas.get("nodes"), dict):
        canvas["nodes"] = {i: n for i, n in canvas["nodes"].items() if i != node_id}
    if isinstance(canvas.get("edges"), list):
        canvas["edges"] = [
            e
            for e in canvas["edges"]
            if not (isinstance(e, dict) and node_id in (e.get("source"), e.get("target")))
        ]
    inputs, outputs = graph_io(kept)
    new = dataclasses.replace(
        record, nodes=kept, canvas_metadata=canvas, inputs=inputs, outputs=outputs
    )
    return node_id, new


def version_routes(api: _Api, pid: str) -> list[Route]:
    """The routes of this module, under ``pid`` (``/v1/pipeline/{pipeline_id}``)."""

    async def editable(request: Request, action: str) -> PipelineRecord:
        """The pipeline of the request, if the caller owns it or may edit it (403 else)."""
        org = api._org(request)
        record, role = await access(api.store, org, request.path_params["pipeline_id"])
        if role not in (OWNER, "editor"):
            refuse_role(org, record, role, action, "an editor or the organisation that owns it")
        return record

    async def revert(request: Request) -> Response:
        record = await editable(request, "revert")
        body = await read_body(request, Revert, api.config.max_body_bytes)
        if await api.store.revert_pipeline(record.org, record.id, body.version) is None:
            raise await _unknown_version(api.store, record, body.version)
        return JSONResponse({"status": "success"})

    async def duplicate(request: Request) -> Response:
        org = api._org(request)
        source = await api._pipeline(org, request.path_params["pipeline_id"])
        body = await read_body(request, Duplicate, api.config.max_body_bytes)
        copy = await api.store.create_pipeline(
            org,
            name=body.name if body.name is not None else f"{source.name} (copy)",
            nodes=source.nodes,
            canvas_metadata=source.canvas_metadata,
            inputs=source.inputs,
            outputs=source.outputs,
            description=source.description if body.description is None else body.description,
        )
        if body.folder_id is not None:
            await api.store.move_pipeline(org, copy.id, body.folder_id)
        return JSONResponse({"status": "success", "id": copy.id})

    async def remove_node(request: Request) -> Response:
        record = await editable(request, "edit")
        pipeline_id = record.id
        body = await read_body(request, RemoveNode, api.config.max_body_bytes)
        removed: list[str] = []

        def edit(record: PipelineRecord) -> PipelineRecord:
            node_id, new = without_node(record, body.node_id, body.node_name)
            removed.append(node_id)
            return new

        if await api.store.edit_pipeline(record.org, pipeline_id, edit) is None:
            raise Refusal(404, f"pipeline {pipeline_id!r} not found")
        return JSONResponse({"status": "success", "node_id": removed[0]})

    return [
        Route(pid + "/revert", revert, methods=["POST"]),
        Route(pid + "/duplicate", duplicate, methods=["POST"]),
        Route(pid + "/remove-node", remove_node, methods=["POST"]),
    ]
