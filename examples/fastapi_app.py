"""A FastAPI service that starts pipeline runs per request and reports on them.

Async routes use the async API (``astart``, ``arun_status``, ``aresult``), so waiting on many
runs never blocks the event loop; the one plain ``def`` route shows the sync API inside
FastAPI's thread pool. ``/chat`` relays a run's LLM tokens to the caller as Server-Sent Events.

Uses the VectorShift platform when ``VECTORSHIFT_API_KEY`` is set, and starts the embedded
local platform otherwise. ``VECTORSHIFT_EXAMPLE_LLM=local`` picks the simulated model even with
a key (for a ``python -m vectorshift.local`` server started by hand).

    pip install fastapi uvicorn
    uvicorn examples.fastapi_app:app --port 8000
    curl -X POST localhost:8000/runs -H 'content-type: application/json' -d '{"query": "hi"}'
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from vectorshift import (
    Client,
    NotFoundError,
    Pipeline,
    PipelineRunCancelledError,
    PipelineRunFailedError,
    PollTimeoutError,
    RunHandler,
    RunStatus,
)

PIPELINE_NAME = "fastapi-example"


class RunRequest(BaseModel):
    query: str


async def _pipeline(client: Client, local: bool) -> Pipeline:
    try:
        return await Pipeline.afetch(name=PIPELINE_NAME, client=client)
    except NotFoundError:
        pipeline = await Pipeline.anew(name=PIPELINE_NAME, client=client)
    query = pipeline.add(name="query").input()
    if local:
        llm = pipeline.add(name="llm").llm(
            provider="local",
            model="lorem",
            prompt=query.text,
            max_tokens=40,
            token_delay_ms=25,
            stream=True,
        )
    else:
        llm = pipeline.add(name="llm").llm(model="gpt-4o-mini", prompt=query.text, stream=True)
    pipeline.add(name="answer").output(llm.response)
    pipeline.add(name="tokens").output(llm.response, "stream<string>")
    await pipeline.asave()
    return pipeline


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with AsyncExitStack() as stack:
        embedded = not os.environ.get("VECTORSHIFT_API_KEY")
        if embedded:
            from vectorshift.local import serve

            client = stack.enter_context(serve())
        else:
            client = Client()
        local_llm = os.environ.get("VECTORSHIFT_EXAMPLE_LLM", "local" if embedded else "openai")
        app.state.client = client
        app.state.pipeline = await _pipeline(client, local_llm == "local")
        yield


app = FastAPI(title="vectorshift example", lifespan=lifespan)


def _handler(task_id: str) -> RunHandler:
    pipeline: Pipeline = app.state.pipeline
    return pipeline.run_handler(task_id)


@app.get("/health")
async def health() -> dict[str, bool]:
    return {"ok": True}


@app.post("/runs")
async def start_run(request: RunRequest) -> dict[str, Any]:
    """Start a background run; answer at once with its ids."""
    pipeline: Pipeline = app.state.pipeline
    handler = await pipeline.astart({"query": request.query})
    return {"task_id": handler.task_id, "trace_id": handler.trace_id}


@app.get("/runs/{task_id}", response_model=RunStatus)
async def run_status(task_id: str) -> RunStatus:
    """One status check: the SDK's ``RunStatus`` is a pydantic model, so it is the answer."""
    return await _handler(task_id).arun_status()


@app.get("/runs/{task_id}/result")
async def run_result(task_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Wait for the run (without blocking the event loop) and return its outputs."""
    try:
        final = await _handler(task_id).aresult(timeout=timeout)
    except PipelineRunFailedError as exc:
        raise HTTPException(status_code=422, detail=f"run failed: {exc.run_error}") from exc
    except PipelineRunCancelledError as exc:
        raise HTTPException(status_code=409, detail="run was cancelled") from exc
    except PollTimeoutError as exc:
        raise HTTPException(status_code=504, detail=str(exc)) from exc
    return {"status": final.status, "result": final.result}


@app.get("/runs/{task_id}/status-sync")
def run_status_sync(task_id: str) -> dict[str, Any]:
    """The same check through the sync API, from FastAPI's thread pool."""
    status = _handler(task_id).run_status()
    return {"status": status.status, "result": status.result}


@app.post("/runs/{task_id}/terminate")
async def terminate(task_id: str) -> dict[str, Any]:
    return {"status": (await _handler(task_id).aterminate()).status}


@app.get("/chat")
async def chat(q: str) -> StreamingResponse:
    """Relay the run's tokens to this client as Server-Sent Events, as they are produced."""
    pipeline: Pipeline = app.state.pipeline
    frames = await pipeline.arun({"query": q}, stream=True)

    async def relay() -> AsyncIterator[str]:
        async with frames:
            async for frame in frames:
                data = frame.json()
                if frame.event == "stream" and data.get("output_name") == "tokens":
                    yield f"event: token\ndata: {json.dumps(data['output_value'])}\n\n"
                elif frame.event == "result":
                    yield f"event: done\ndata: {json.dumps(data.get('status'))}\n\n"

    return StreamingResponse(relay(), media_type="text/event-stream")
