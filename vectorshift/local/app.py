"""The HTTP face of the local server: the VectorShift v1 routes as a Starlette application.

Routes follow docs/protocol.md (the platform endpoints and the extensions). Handlers check input,
talk to the store for pipelines and to the run manager for runs; they never execute anything
themselves.
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from vectorshift import _log
from vectorshift._schema.requests import (
    MAX_ID_LENGTH,
    BulkRun,
    CreatePipeline,
    RunPipeline,
    Terminate,
    UpdatePipeline,
)
from vectorshift.local import trace_context
from vectorshift.local.app_sharing import OWNER, SharingApi, access, refuse_role
from vectorshift.local.app_versions import at_version, version_routes
from vectorshift.local.config import ServerConfig
from vectorshift.local.faults import FaultInjector, FaultMiddleware
from vectorshift.local.nodes import UploadedFile
from vectorshift.local.recording import Recorder, RecordingMiddleware
from vectorshift.local.records import (
    IdempotencyConflict,
    PipelineRecord,
    RunLimitReached,
    RunRecord,
    simulated_field,
)
from vectorshift.local.responses import (
    LocalApp,
    event_stream,
    on_http_error,
    on_internal_error,
    on_refusal,
    on_storage_error,
)
from vectorshift.local.run_inputs import file_inputs, run_inputs
from vectorshift.local.runs import RunManager
from vectorshift.local.scripts import Script
from vectorshift.local.sqlite_store import SQLiteStore
from vectorshift.local.store import Store
from vectorshift.local.uploads import is_multipart, read_run_form
from vectorshift.local.validation import (
    Refusal,
    checked_graph_io,
    event_position,
    query_bool,
    query_int,
    query_seconds,
    query_str,
    read_body,
    refuse_lone_surrogates,
    validate_body,
)

logger = _log.get_logger("vectorshift.local")

_GRAPH_FIELDS = frozenset({"nodes", "canvas_metadata", "inputs", "outputs"})
"""What a list's object leaves out unless ``verbose=true``."""


class _Api:
    """The route handlers, sharing the configuration, the store and the run manager."""

    def __init__(self, config: ServerConfig, store: Store, runs: RunManager) -> None:
        self.config = config
        self.store = store
        self.runs = runs

    # Helpers ---------------------------------------------------------------------------------

    def _org(self, request: Request) -> str:
        header = request.headers.get("authorization")
        if header is None:
            raise Refusal(
                401, "missing Authorization header: send 'Authorization: Bearer <api key>'"
            )
        scheme, _, key = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Refusal(401, "malformed Authorization header: expected 'Bearer <api key>'")
        org = self.config.api_keys.get(key.strip())
        if org is None:
            raise Refusal(401, "unknown API key: this server does not accept it")
        return org

    async def _pipeline(self, org: str, pipeline_id: str) -> PipelineRecord:
        """The pipeline ``org`` owns or has shared with it (app_sharing.access)."""
        return (await access(self.store, org, pipeline_id))[0]

    async def _run(self, org: str, pipeline_id: str, task_id: str) -> RunRecord:
        record = await self.store.get_run(org, task_id)
        if record is None or record.pipeline_id != pipeline_id:
            raise Refusal(
                404,
                f"run {task_id[:MAX_ID_LENGTH]!r} of pipeline {pipeline_id[:MAX_ID_LENGTH]!r} "
                "not found",
            )
        return record

    async def _start(
        self,
        org: str,
        pipeline: PipelineRecord,
        runs: list[tuple[dict[str, Any], str]],
        intermediate: bool,
        idempotency: tuple[str, str] | None = None,
        files: Mapping[str, UploadedFile] | None = None,
    ) -> tuple[list[RunRecord], bool]:
        retry = str(math.ceil(self.config.retry_after))
        try:
            return await self.runs.start(
                org,
                pipeline,
                runs,
                intermediate_results=intermediate,
                idempotency=idempotency,
                files=files,
            )
        except RunLimitReached:
            raise Refusal(
                429,
                f"organisation {org!r} has reached its limit of {self.config.max_active_runs} "
                "active runs; retry when a run ends",
                {"Retry-After": retry},
            ) from None
        except IdempotencyConflict as exc:
            raise Refusal(
                422, f"Idempotency-Key {str(exc)!r} was already used with a different request body"
            ) from None
        except RuntimeError as exc:
            raise Refusal(503, str(exc), {"Retry-After": retry}) from None

    def _stream(self, record: RunRecord, after: int) -> StreamingResponse:
        return event_stream(self.runs, record, after)

    # P1-P5: pipelines ------------------------------------------------------------------------

    async def create_pipeline(self, request: Request) -> Response:
        org = self._org(request)
        body = await read_body(request, CreatePipeline, self.config.max_body_bytes)
        nodes = body.nodes or {}
        inputs, outputs = await checked_graph_io(nodes)
        record = await self.store.create_pipeline(
            org,
            name=body.name,
            nodes=nodes,
            canvas_metadata=body.canvas_metadata or {"nodes": {}, "edges": []},
            inputs=inputs,
            outputs=outputs,
            description=body.description or "",
        )
        return JSONResponse({"status": "success", "id": record.id})

    async def fetch_pipeline(self, request: Request) -> Response:
        org = self._org(request)
        pipeline_id = query_str(request, "id", max_length=MAX_ID_LENGTH)
        name = query_str(request, "name")
        query_str(request, "branch_id", max_length=MAX_ID_LENGTH)
        query_str(request, "username")
        query_str(request, "org_name")
        version = query_str(request, "version", max_length=MAX_ID_LENGTH)
        if pipeline_id is not None:
            record = await self._pipeline(org, pipeline_id)
        elif name is not None:
            found = await self.store.find_pipeline(org, name)
            if found is None:
                raise Refusal(404, f"no pipeline named {name!r}")
            record = found
        else:
            raise Refusal(400, "give query parameter 'id' or 'name'")
        record = await at_version(self.store, record, version)
        versions = await self.store.list_versions(org, record.id)
        wire = {**record.to_wire(), "versions": [v.to_wire() for v in versions]}
        return JSONResponse({"status": "success", "object": wire})

    async def update_pipeline(self, request: Request) -> Response:
        org = self._org(request)
        pipeline_id = request.path_params["pipeline_id"]
        record, role = await access(self.store, org, pipeline_id)
        body = await read_body(request, UpdatePipeline, self.config.max_body_bytes)
        if body.folder_id is not None:
            if role != OWNER:
                refuse_role(org, record, role, "move", "only the organisation that owns it")
            await self.store.move_pipeline(org, pipeline_id, body.folder_id)
        if body.nodes is None:
            return JSONResponse({"status": "success"})
        if role not in (OWNER, "editor"):
            refuse_role(org, record, role, "save", "an editor or the organisation that owns it")
        inputs, outputs = await checked_graph_io(body.nodes)
        updated = await self.store.update_pipeline(
            record.org,
            pipeline_id,
            nodes=body.nodes,
            inputs=inputs,
            outputs=outputs,
            canvas_metadata=body.canvas_metadata,
            name=body.name,
            description=body.description,
            bump=body.bump,
            deploy=bool(body.deploy),
        )
        if updated is None:
            raise Refusal(404, f"pipeline {pipeline_id!r} not found")
        return JSONResponse({"status": "success"})

    async def delete_pipeline(self, request: Request) -> Response:
        org = self._org(request)
        pipeline_id = request.path_params["pipeline_id"]
        if not await self.store.delete_pipeline(org, pipeline_id):
            record, role = await access(self.store, org, pipeline_id)  # 404 when not shared
            refuse_role(org, record, role, "delete", "only the organisation that owns it")
        return JSONResponse({"status": "success"})

    async def list_pipelines(self, request: Request) -> Response:
        org = self._org(request)
        offset = query_int(request, "offset", 0, low=0, high=10**9)
        limit = query_int(request, "limit", 100, low=0, high=1000)
        verbose = query_bool(request, "verbose", False)
        found = await self.store.visible_pipelines(
            org,
            offset=offset,
            limit=limit,
            folder_id=query_str(request, "folder_id", max_length=MAX_ID_LENGTH),
            include_shared=query_bool(request, "include_shared", False),
        )
        # Objects either way (the official client reads `objects[]._id` and `name`, and only
        # ids from `object_ids`); verbose adds each graph.
        objects = []
        for record, role in found:
            wire = record.to_wire()
            if not verbose:
                wire = {k: v for k, v in wire.items() if k not in _GRAPH_FIELDS}
            objects.append(wire if role is None else {**wire, "shared_role": role})
        body = {"status": "success", "object_ids": [r.id for r, _ in found], "objects": objects}
        return JSONResponse(body)

    # P6-P9 and X1-X3: runs ------------------------------------------------------------------

    async def run_pipeline(self, request: Request) -> Response:
        org = self._org(request)
        pipeline = await self._pipeline(org, request.path_params["pipeline_id"])
        files: dict[str, UploadedFile] = {}
        if is_multipart(request):
            form, files = await read_run_form(
                request, self.config.max_body_bytes, file_inputs(pipeline)
            )
            body = validate_body(RunPipeline, form)
            refuse_lone_surrogates(
                {name: [upload.name, upload.content_type] for name, upload in files.items()},
                "files.",
            )
        else:
            body = await read_body(request, RunPipeline, self.config.max_body_bytes)
        pipeline = await at_version(self.store, pipeline, body.version)
        given = body.inputs or {}
        background, stream = bool(body.background), bool(body.stream)
        intermediate = body.send_intermediate_results is not False
        trace_id = body.trace_id or uuid.uuid4().hex
        inputs = run_inputs(pipeline, given, "", files)
        idempotency = None
        key = request.headers.get("idempotency-key")
        # X2: a keyed background start answers its original task id again; a keyed streaming
        # start answers its original run's stream, replayed from the first frame (below).
        if (background or stream) and key is not None:
            if not key or len(key) > 255:
                raise Refusal(400, "header 'Idempotency-Key' must hold 1 to 255 characters")
            hashed: list[Any] = [pipeline.id, body.model_dump(exclude_unset=True)]
            if files:
                hashed.append({name: upload.metadata() for name, upload in files.items()})
            canonical = json.dumps(hashed, sort_keys=True, default=str)
            idempotency = (key, hashlib.sha256(canonical.encode()).hexdigest())
        runs = [(inputs, trace_id)]
        records, started = await self._start(org, pipeline, runs, intermediate, idempotency, files)
        record = records[0]
        if started:
            await trace_context.record(self.store, record.task_id, request.headers)
        if background:
            return JSONResponse({"task_id": record.task_id, "trace_id": record.trace_id})
        if stream:
            return self._stream(record, 0)
        final = await self.runs.wait(record, math.inf)
        simulated = simulated_field(final.simulated)
        if final.status == "completed":
            return JSONResponse(
                {
                    "status": "success",
                    "run_id": final.task_id,
                    "outputs": final.outputs or {},
                    "trace_id": final.trace_id,
                    **simulated,
                }
            )
        error = final.error or f"run {final.task_id} was {final.status}"
        failed = {"status": "failed", "run_id": final.task_id, "error": error}
        return JSONResponse({**failed, "trace_id": final.trace_id, **simulated})

    async def run_status(self, request: Request) -> Response:
        org = self._org(request)
        record = await self._run(
            org, request.path_params["pipeline_id"], request.path_params["task_id"]
        )
        wait = query_seconds(request, "wait")
        if wait:
            record = await self.runs.wait(record, min(wait, self.config.long_poll_max))
        return JSONResponse(record.to_status())

    async def run_events(self, request: Request) -> Response:
        org = self._org(request)
        record = await self._run(
            org, request.path_params["pipeline_id"], request.path_params["task_id"]
        )
        header = request.headers.get("last-event-id")
        query = request.query_params.get("after")
        if header is not None and header.strip():
            after = event_position(header, "header 'Last-Event-ID'")
        elif query:
            after = event_position(query, "query parameter 'after'")
        else:
            after = 0
        return self._stream(record, after)

    async def terminate(self, request: Request) -> Response:
        org = self._org(request)
        pipeline_id = request.path_params["pipeline_id"]
        body = await read_body(request, Terminate, self.config.max_body_bytes)
        record = await self._run(org, pipeline_id, body.run_id)
        final = await self.runs.terminate(record)
        return JSONResponse({"status": "success", "run_status": final.status})

    async def bulk_run(self, request: Request) -> Response:
        org = self._org(request)
        pipeline = await self._pipeline(org, request.path_params["pipeline_id"])
        body = await read_body(request, BulkRun, self.config.max_body_bytes)
        limit = min(self.config.max_bulk_runs, self.config.max_active_runs)
        if len(body.runs) > limit:
            raise Refusal(
                422,
                f"field 'runs' holds {len(body.runs)} runs; this server accepts at most {limit}",
            )
        runs = [
            (
                run_inputs(pipeline, item.inputs or {}, f"runs[{index}]."),
                item.trace_id or uuid.uuid4().hex,
            )
            for index, item in enumerate(body.runs)
        ]
        if not runs:
            return JSONResponse([])
        records, _ = await self._start(org, pipeline, runs, False)
        outputs = []
        for record in records:
            final = await self.runs.wait(record, math.inf)
            entry: dict[str, Any] = {
                "run_id": final.task_id,
                "status": "success" if final.status == "completed" else final.status,
                "outputs": final.outputs or {},
            }
            if final.error is not None:
                entry["error"] = final.error
            outputs.append({**entry, **simulated_field(final.simulated)})
        # The list itself, as the official client documents its answer ("a list of dictionaries
        # containing the run_id and outputs"); the SDK reads this and {"run_outputs": [...]}.
        return JSONResponse(outputs)


def create_app(
    config: ServerConfig,
    *,
    store: Store | None = None,
    faults: FaultInjector | None = None,
    script: Script | None = None,
    recorder: Recorder | None = None,
) -> Starlette:
    """Build the ASGI application of the local server.

    Runs execute inside the application's lifespan, so the ASGI server must run it (uvicorn does).

    Args:
        config: The server settings.
        store: The database; by default a :class:`~vectorshift.local.sqlite_store.SQLiteStore`
            on ``config.db_path``, opened here and closed at shutdown.
        faults: Fault-injection rules; by default those of ``config.faults``.
        script: Scripted LLM answers; by default those of ``config.script``.
        recorder: Where requests, runs and LLM calls are recorded; by default one that
            records when ``config.record`` is set.

    Returns:
        The application; ``app.state.store``, ``app.state.runs``, ``app.state.faults``,
        ``app.state.script`` and ``app.state.recorder`` hold the store, the run manager, the
        fault injector, the script and the recorder.

    Raises:
        ValueError: No store given and ``config.db_path`` is ``None``.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "vs.db")
        >>> app = create_app(ServerConfig(db_path=path))
    """
    owns_store = store is None
    if store is None:
        if config.db_path is None:
            raise ValueError("create_app needs a store or config.db_path")
        store = SQLiteStore(config.db_path)
    injector = faults if faults is not None else FaultInjector(config.faults)
    script = script if script is not None else Script(config.script)
    recorder = recorder if recorder is not None else Recorder(enabled=config.record)
    manager = RunManager(store, config, script=script, recorder=recorder)
    api = _Api(config, store, manager)
    sharing = SharingApi(config, store, api._org)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with manager.running():
            yield
        if owns_store:
            await store.aclose()

    pid = "/v1/pipeline/{pipeline_id}"
    routes = [
        Route("/v1/pipeline", api.create_pipeline, methods=["POST"]),
        Route("/v1/pipeline", api.fetch_pipeline, methods=["GET"]),
        Route("/v1/update/pipeline/{pipeline_id}", api.update_pipeline, methods=["POST"]),
        Route(pid, api.delete_pipeline, methods=["DELETE"]),
        Route("/v1/pipelines", api.list_pipelines, methods=["GET"]),
        Route(pid + "/run", api.run_pipeline, methods=["POST"]),
        Route(pid + "/run/status/{task_id}", api.run_status, methods=["GET"]),
        Route(pid + "/run/events/{task_id}", api.run_events, methods=["GET"]),
        Route(pid + "/terminate", api.terminate, methods=["POST"]),
        Route(pid + "/bulk-run", api.bulk_run, methods=["POST"]),
        Route(pid + "/bulk_run", api.bulk_run, methods=["POST"]),
        *version_routes(api, pid),
        Route(pid + "/share", sharing.share, methods=["POST"]),
        Route(pid + "/unshare", sharing.unshare, methods=["POST"]),
        Route("/v1/marketplace/publish", sharing.publish, methods=["POST"]),
        Route("/v1/marketplace/{marketplace_id}", sharing.unpublish, methods=["DELETE"]),
    ]
    app = LocalApp(
        routes=routes,
        middleware=[
            Middleware(
                RecordingMiddleware,
                recorder=recorder,
                api_keys=config.api_keys,
                max_body_bytes=config.max_body_bytes,
            ),
            Middleware(FaultMiddleware, injector=injector),
        ],
        exception_handlers={
            Refusal: on_refusal,
            HTTPException: on_http_error,
            sqlite3.DatabaseError: on_storage_error,
            Exception: on_internal_error,
        },
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.runs = manager
    app.state.faults = injector
    app.state.script = script
    app.state.recorder = recorder
    return app
