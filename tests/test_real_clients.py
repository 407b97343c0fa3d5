"""Real hosts of the SDK: a Jupyter kernel running a notebook, a FastAPI app served by uvicorn."""

from __future__ import annotations

import socket
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import get_args

import httpx
import nbformat
import pytest
import uvicorn
from nbclient import NotebookClient
from support import unique

from vectorshift import RunStatus
from vectorshift.local import LocalServer
from vectorshift.types import RunState

NOTEBOOK_CELLS = [
    "import vectorshift\nfrom vectorshift import NotFoundError, Pipeline",
    """\
try:
    pipeline = Pipeline.fetch(name=NAME)
except NotFoundError:
    pipeline = Pipeline.new(name=NAME)
    query = pipeline.add(name="query").input()
    llm = pipeline.add(name="llm").llm(provider="local", model="echo", prompt=query.text)
    pipeline.add(name="answer").output(llm.response)
    pipeline.save()""",
    """\
handler = pipeline.start({"query": "from a notebook"})
final = handler.result(poll_interval=0.1, timeout=60)
print(final["result"]["answer"])""",
    "result = await pipeline.arun({'query': 'awaited in a cell'})\nprint(result.outputs['answer'])",
]


def test_a_notebook_builds_starts_and_waits_in_a_jupyter_kernel(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VECTORSHIFT_API_KEY", server.api_key)
    monkeypatch.setenv("VECTORSHIFT_BASE_URL", server.base_url)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(f"NAME = {unique('notebook')!r}")] + [
        nbformat.v4.new_code_cell(source) for source in NOTEBOOK_CELLS
    ]
    NotebookClient(notebook, kernel_name="python3", timeout=120).execute()
    outputs = [
        output.get("text", "")
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    ]
    assert "from a notebook\n" in outputs and "awaited in a cell\n" in outputs


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def fastapi_app(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """examples/fastapi_app.py served by uvicorn, talking to the session's local server."""
    monkeypatch.setenv("VECTORSHIFT_API_KEY", server.api_key)
    monkeypatch.setenv("VECTORSHIFT_BASE_URL", server.base_url)
    monkeypatch.setenv("VECTORSHIFT_EXAMPLE_LLM", "local")
    monkeypatch.syspath_prepend(str(Path(__file__).parent.parent / "examples"))
    sys.modules.pop("fastapi_app", None)
    import fastapi_app

    port = _free_port()
    config = uvicorn.Config(fastapi_app.app, host="127.0.0.1", port=port, log_level="warning")
    app_server = uvicorn.Server(config)
    thread = threading.Thread(target=app_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not app_server.started:
        assert time.monotonic() < deadline, "the example app did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    app_server.should_exit = True
    thread.join(10)


def test_fastapi_app_stays_responsive_while_50_runs_are_awaited(fastapi_app: str) -> None:
    with httpx.Client(base_url=fastapi_app, timeout=30) as http:
        task_ids = [
            http.post("/runs", json={"query": f"q{i}"}).json()["task_id"] for i in range(50)
        ]

        def wait(task_id: str) -> dict[str, object]:
            with httpx.Client(base_url=fastapi_app, timeout=60) as own:
                body: dict[str, object] = own.get(f"/runs/{task_id}/result").json()
                return body

        with ThreadPoolExecutor(50) as pool:
            waits = [pool.submit(wait, task_id) for task_id in task_ids]
            time.sleep(0.2)
            latencies = []
            for _ in range(20):
                started = time.perf_counter()
                assert http.get("/health").json() == {"ok": True}
                latencies.append(time.perf_counter() - started)
            results = [future.result() for future in waits]
        assert all(result["status"] == "succeeded" for result in results)
        # The event loop is never blocked by the 50 waits in flight.
        assert statistics.median(latencies) < 0.05, latencies
        sync_status = http.get(f"/runs/{task_ids[0]}/status-sync").json()
        assert sync_status["status"] == "succeeded"
        # RunStatus is the route's response_model: the answer is the model, dumped.
        status = RunStatus.model_validate(http.get(f"/runs/{task_ids[0]}").json())
        assert status.status == "succeeded" and status.task_id == task_ids[0]
        assert status.raw["status"] == status.raw_status and status.outputs == results[0]["result"]
        schema = http.get("/openapi.json").json()["components"]["schemas"]["RunStatus"]
        assert schema["properties"]["status"]["enum"] == list(get_args(RunState))


def test_fastapi_chat_route_relays_tokens_as_sse(fastapi_app: str) -> None:
    events = []
    with (
        httpx.Client(base_url=fastapi_app, timeout=30) as http,
        http.stream("GET", "/chat", params={"q": "hello"}) as response,
    ):
        for line in response.iter_lines():
            if line.startswith("event:"):
                events.append(line.split(":", 1)[1].strip())
    assert events.count("token") == 40 and events[-1] == "done"
