"""Hostile clients against the local server over raw HTTP (issue 12, points 1-5 and 7).

Each test reproduces one way a client could make the server answer 500, hold a connection, or
leave a run unfinished, and checks what the server does instead.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from vectorshift.local import LocalServer, ServerConfig, sqlite_thread

from .graphs import declared, llm_graph, long_graph

KEY = "hostile-key"
HEADERS = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    config = ServerConfig(api_keys={KEY: "hostile"}, max_active_runs=50, header_timeout=0.5)
    with LocalServer(config) as running:
        yield running


@pytest.fixture
def api(server: LocalServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=20) as client:
        yield client


def raw_json(value: Any) -> bytes:
    """JSON as a client may write it: lone surrogates escaped (``"\\ud800"``), valid JSON."""
    return json.dumps(value, ensure_ascii=True).encode()


def echo_nodes() -> dict[str, Any]:
    return {
        "input_0": {
            "id": "input_0",
            "name": "query",
            "type": "input",
            "inputs": {"input_type": "string"},
            "outputs": ["text"],
        },
        "output_0": {
            "id": "output_0",
            "name": "answer",
            "type": "output",
            "inputs": {"output_type": "string", "value": "{{ input_0.text }}"},
        },
    }


def create(api: httpx.Client, nodes: dict[str, Any]) -> str:
    response = api.post("/pipeline", json={"name": "hostile", "nodes": nodes})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def counts(server: LocalServer) -> tuple[int, int]:
    return (
        len(server.store.list_pipelines("hostile", offset=0, limit=10**6)),
        sum(server.store.run_counts("hostile").values()),
    )


# Point 1: lone surrogates ------------------------------------------------------------------

LONE = "\ud800"


def _surrogate_requests(pipeline_id: str, task_id: str) -> list[tuple[str, dict[str, Any], str]]:
    nodes = echo_nodes()
    bad_node = echo_nodes()
    bad_node["output_0"]["inputs"]["value"] = "x" + LONE
    return [
        ("/pipeline", {"name": LONE, "nodes": nodes}, "name"),
        ("/pipeline", {"name": "n", "description": "d" + LONE, "nodes": nodes}, "description"),
        (
            "/pipeline",
            {"name": "n", "nodes": nodes, "canvas_metadata": {"nodes": {LONE: 1}}},
            "canvas_metadata.nodes.",
        ),
        ("/pipeline", {"name": "n", "nodes": bad_node}, "nodes.output_0.inputs.value"),
        (f"/update/pipeline/{pipeline_id}", {"nodes": nodes, "name": LONE}, "name"),
        (f"/pipeline/{pipeline_id}/run", {"inputs": {"query": ["ok", LONE]}}, "inputs.query[1]"),
        (f"/pipeline/{pipeline_id}/run", {"inputs": {"query": "q"}, "trace_id": LONE}, "trace_id"),
        (f"/pipeline/{pipeline_id}/terminate", {"run_id": task_id + LONE}, "run_id"),
        (
            f"/pipeline/{pipeline_id}/bulk-run",
            {"runs": [{"inputs": {"query": LONE}}]},
            "runs[0].inputs.query",
        ),
    ]


def test_lone_surrogates_answer_400_naming_the_field_and_keep_the_connection(
    server: LocalServer, api: httpx.Client
) -> None:
    pipeline_id = create(api, echo_nodes())
    run = api.post(f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "q"}})
    task_id = run.json()["run_id"]
    before = counts(server)
    for path, body, where in _surrogate_requests(pipeline_id, task_id):
        response = api.post(path, content=raw_json(body))
        assert response.status_code == 400, (path, response.text)
        error = response.json()["error"]
        assert "lone UTF-16 surrogate" in error and where.rstrip(".") in error, (path, error)
        assert response.headers.get("connection") != "close"
    assert counts(server) == before
    # The same connection still serves, and a paired escape is one valid character.
    paired_escape = b'{"inputs":{"query":"\\ud83d\\ude00"}}'
    paired = api.post(f"/pipeline/{pipeline_id}/run", content=paired_escape)
    assert paired.status_code == 200 and paired.json()["outputs"] == {"answer": "\U0001f600"}


def test_a_lone_surrogate_in_a_key_is_named_too(api: httpx.Client) -> None:
    response = api.post("/pipeline", content=raw_json({"name": "k", "nodes": {}, LONE: 1}))
    assert response.status_code == 400
    assert "key '\\\\ud800' holds a lone UTF-16 surrogate" in response.json()["error"]


def test_numbers_no_answer_could_carry_are_refused(api: httpx.Client) -> None:
    body = b'{"name": "n", "nodes": {}, "canvas_metadata": {"zoom": 1e999}}'
    response = api.post("/pipeline", content=body)
    assert response.status_code == 400 and "out of range" in response.json()["error"]
    digits = b'{"name": "n", "nodes": {}, "canvas_metadata": {"zoom": ' + b"9" * 5000 + b"}}"
    assert api.post("/pipeline", content=digits).status_code == 400


# Point 2: Last-Event-ID and ?after= -----------------------------------------------------------

BAD_POSITIONS = [
    "\u00b2".encode(),
    b"9" * 5000,
    str(2**64).encode(),
    str(2**63).encode(),
    b"-1",
    b"+1",
    b"1_0",
    b"0x10",
    b"1.5",
    "\u0661".encode(),
]


@pytest.mark.parametrize("raw", BAD_POSITIONS, ids=lambda raw: raw[:12].decode(errors="replace"))
def test_event_positions_are_validated_alike_in_the_header_and_the_query(
    api: httpx.Client, raw: bytes
) -> None:
    pipeline_id = create(api, echo_nodes())
    task_id = api.post(f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "q"}}).json()[
        "run_id"
    ]
    url = f"/pipeline/{pipeline_id}/run/events/{task_id}"
    by_header = api.get(url, headers={"Last-Event-ID": raw})
    by_query = api.get(url, params={"after": raw.decode()})
    for response, source in ((by_header, "header 'Last-Event-ID'"), (by_query, "'after'")):
        assert response.status_code == 400, (source, response.text)
        error = response.json()["error"]
        assert source in error and f"an integer from 0 to {2**63 - 1}" in error


def test_the_largest_event_position_is_accepted(api: httpx.Client) -> None:
    pipeline_id = create(api, echo_nodes())
    task_id = api.post(f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "q"}}).json()[
        "run_id"
    ]
    url = f"/pipeline/{pipeline_id}/run/events/{task_id}"
    for response in (
        api.get(url, headers={"Last-Event-ID": str(2**63 - 1)}),
        api.get(url, params={"after": str(2**63 - 1)}),
    ):
        assert response.status_code == 200 and "data:" not in response.text


# Point 3: no exception in a 500 body -----------------------------------------------------------


def test_a_500_names_only_the_request_id_and_the_log_has_the_rest(
    server: LocalServer,
    api: httpx.Client,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert server._store is not None

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail of the store")

    monkeypatch.setattr(server._store, "visible_pipelines", broken)
    with caplog.at_level(logging.ERROR, logger="vectorshift.local"):
        response = api.get("/pipelines")
    assert response.status_code == 500
    body = response.json()
    request_id = response.headers["x-request-id"]
    assert body["request_id"] == request_id and request_id in body["error"]
    assert "RuntimeError" not in response.text and "secret" not in response.text
    logged = [r for r in caplog.records if getattr(r, "request_id", "") == request_id]
    assert logged and logged[0].exc_info is not None
    assert "secret detail of the store" in str(logged[0].exc_info[1])


# Point 4: header-read timeout ------------------------------------------------------------------


def _closed_within(sock: socket.socket, seconds: float) -> float:
    """Seconds until the server closed ``sock`` (reading and discarding what it sends)."""
    began = time.monotonic()
    sock.settimeout(seconds)
    while True:
        try:
            if not sock.recv(65536):
                return time.monotonic() - began
        except ConnectionResetError:
            return time.monotonic() - began


@pytest.mark.parametrize("sent", [b"", b"GET /v1/pipelines HTTP/1.1\r\nHost: x\r\n"])
def test_a_connection_that_never_finishes_its_headers_is_closed(
    server: LocalServer, sent: bytes
) -> None:
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(sent)
        assert _closed_within(sock, 5.0) < 2.0  # the header timeout is 0.5 s here


def test_headers_sent_a_byte_at_a_time_after_a_request_are_cut_off_too(
    server: LocalServer,
) -> None:
    host = f"127.0.0.1:{server.port}"  # the server's own name: others are refused (421)
    request = f"GET /v1/pipelines HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {KEY}\r\n\r\n"
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(request.encode())
        sock.settimeout(5)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        began = time.monotonic()
        try:
            for byte in request.encode()[:-4]:  # never the blank line ending the headers
                sock.sendall(bytes([byte]))
                time.sleep(0.05)
        except OSError:
            pass  # closed while we were still trickling
        assert _closed_within(sock, 5.0) + (time.monotonic() - began) < 3.0


def test_a_slow_answer_is_not_cut_by_the_header_timeout(api: httpx.Client) -> None:
    pipeline_id = create(api, long_graph())
    started = api.post(
        f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "q"}, "background": True}
    )
    task_id = started.json()["task_id"]
    try:
        status = api.get(f"/pipeline/{pipeline_id}/run/status/{task_id}", params={"wait": 1.2})
        assert status.status_code == 200 and status.json()["status"] == "in_progress"
    finally:
        api.post(f"/pipeline/{pipeline_id}/terminate", json={"run_id": task_id})


def test_the_command_line_documents_the_limits() -> None:
    from vectorshift.local.__main__ import _parser

    text = _parser().format_help()
    for option in ("--header-timeout", "--max-value-size", "--max-run-size"):
        assert option in text
    assert "Limits:" in text and "32 MiB" in text


# Point 5: amplification --------------------------------------------------------------------


def doubling_graph(count: int) -> dict[str, Any]:
    """query -> text_1 .. text_count, each ``{{prev}}{{prev}}`` -> answer (2.8 KB for 20)."""
    nodes: dict[str, Any] = {
        "input_0": {
            "id": "input_0",
            "name": "query",
            "type": "input",
            "inputs": {"input_type": "string"},
            "outputs": ["text"],
        },
    }
    previous = "input_0"
    for index in range(1, count + 1):
        node_id = f"text_{index}"
        ref = f"{{{{ {previous}.text }}}}"
        nodes[node_id] = {
            "id": node_id,
            "name": f"double {index}",
            "type": "text",
            "inputs": {"text": ref + ref},
            "outputs": ["text"],
        }
        previous = node_id
    nodes["output_0"] = {
        "id": "output_0",
        "name": "answer",
        "type": "output",
        "inputs": {"output_type": "string", "value": f"{{{{ {previous}.text }}}}"},
    }
    return nodes


@pytest.mark.parametrize("count", [20, 40])
def test_an_amplifying_pipeline_fails_naming_the_node_without_blocking_the_server(
    server: LocalServer, api: httpx.Client, count: int
) -> None:
    pipeline_id = create(api, doubling_graph(count))
    answered: list[float] = []
    stop = threading.Event()

    def probe() -> None:  # the event loop keeps answering while the run goes
        with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=20) as own:
            while not stop.is_set():
                began = time.monotonic()
                own.get("/pipelines", params={"limit": 1})
                answered.append(time.monotonic() - began)

    prober = threading.Thread(target=probe)
    prober.start()
    while not answered:
        time.sleep(0.01)
    try:
        began = time.monotonic()
        run = api.post(
            f"/pipeline/{pipeline_id}/run",
            json={"inputs": {"query": "x" * 100}, "send_intermediate_results": False},
        )
        elapsed = time.monotonic() - began
    finally:
        stop.set()
        prober.join()
    assert run.status_code == 200
    body = run.json()
    assert body["status"] == "failed", str(body)[:300]
    # 100 * 2**17 characters is the first value past the 8 Mi default.
    assert "node 'double 17' (text_17)" in body["error"]
    assert "--max-value-size" in body["error"]
    assert elapsed < 5, elapsed
    assert max(answered) < 1.0, max(answered)
    assert server.store.get_run("hostile", body["run_id"]).status == "failed"


def test_the_run_size_limit_counts_every_node(tmp_path: Path) -> None:
    config = ServerConfig(db_path=str(tmp_path / "vs.db"), max_value_size=1000, max_run_size=2500)
    nodes = doubling_graph(1)
    for index in range(2, 5):  # copies: no node past 1000 characters, but 4 x 800 in all
        nodes[f"text_{index}"] = {
            "id": f"text_{index}",
            "name": f"copy {index}",
            "type": "text",
            "inputs": {"text": f"{{{{ text_{index - 1}.text }}}}!"},
            "outputs": ["text"],
        }
    nodes["output_0"]["inputs"]["value"] = "{{ text_4.text }}"
    with LocalServer(config) as local:
        headers = {"Authorization": f"Bearer {local.api_key}"}
        with httpx.Client(base_url=local.base_url, headers=headers, timeout=20) as own:
            pipeline_id = own.post("/pipeline", json={"name": "n", "nodes": nodes}).json()["id"]
            body = own.post(
                f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "y" * 400}}
            ).json()
            streamed = own.post(f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "y"}})
    assert body["status"] == "failed"
    assert "node 'copy 4' (text_4)" in body["error"] and "--max-run-size" in body["error"]
    assert streamed.json()["status"] == "success"


def test_a_streamed_answer_past_the_value_limit_fails_the_run(tmp_path: Path) -> None:
    config = ServerConfig(db_path=str(tmp_path / "vs.db"), max_value_size=500)
    with LocalServer(config) as local:
        headers = {"Authorization": f"Bearer {local.api_key}"}
        with httpx.Client(base_url=local.base_url, headers=headers, timeout=20) as own:
            nodes = llm_graph(model="lorem", tokens=10**6)
            pipeline_id = own.post("/pipeline", json={"name": "n", "nodes": nodes}).json()["id"]
            body = own.post(f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "q"}}).json()
    assert body["status"] == "failed"
    assert "node 'llm' (llm_0): its answer would hold more than 500" in body["error"]


@pytest.fixture
def exploding_node() -> Iterator[None]:
    from vectorshift.local.nodes import NodeContext, executor

    with declared("explode_test", ("text",)):

        @executor("explode_test")
        async def explode(inputs: dict[str, Any], _ctx: NodeContext) -> dict[str, Any]:
            raise MemoryError

        yield


def test_an_executor_raising_memory_error_fails_the_run_with_a_reason(
    api: httpx.Client, exploding_node: None
) -> None:
    nodes = echo_nodes()
    nodes["boom_0"] = {
        "id": "boom_0",
        "name": "boom",
        "type": "explode_test",
        "inputs": {"text": "{{ input_0.text }}"},
        "outputs": ["text"],
    }
    nodes["output_0"]["inputs"]["value"] = "{{ boom_0.text }}"
    pipeline_id = create(api, nodes)
    body = api.post(f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "q"}}).json()
    assert body["status"] == "failed"
    assert "node 'boom' (boom_0)" in body["error"] and "MemoryError" in body["error"]


# Point 7: an end that cannot be recorded -------------------------------------------------------


def test_an_end_the_store_cannot_take_is_recorded_as_failed(
    server: LocalServer, api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = server._store
    assert store is not None
    original = store.finish_run
    calls: list[str] = []

    async def refuses_outputs(task_id: str, status: str, **kwargs: Any) -> Any:
        calls.append(status)
        if kwargs.get("outputs"):
            raise MemoryError  # as when serialising a huge output runs out of memory
        return await original(task_id, status, **kwargs)

    monkeypatch.setattr(store, "finish_run", refuses_outputs)
    pipeline_id = create(api, echo_nodes())
    body = api.post(f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "q"}}).json()
    assert calls == ["completed", "failed"]
    assert body["status"] == "failed"
    assert body["error"] == "the local server could not record this run's end (MemoryError)"


def test_a_run_end_blocked_by_a_locked_database_is_recorded_once_it_frees(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    monkeypatch.setattr(sqlite_thread, "_BUSY_TIMEOUT", 0.3)
    path = str(tmp_path / "vs.db")
    with LocalServer(ServerConfig(db_path=path)) as local:
        headers = {"Authorization": f"Bearer {local.api_key}"}
        with httpx.Client(base_url=local.base_url, headers=headers, timeout=20) as own:
            pipeline_id = own.post("/pipeline", json={"name": "n", "nodes": long_graph()}).json()[
                "id"
            ]
            task_id = own.post(
                f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "q"}, "background": True}
            ).json()["task_id"]
            time.sleep(0.3)
            blocker = sqlite3.connect(path, isolation_level=None)
            blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            try:
                time.sleep(2.0)  # events, then the end, fail to be written (0.3 s timeout)
                state = own.get(f"/pipeline/{pipeline_id}/run/status/{task_id}").json()
                assert state["status"] == "in_progress"
                assert local.active_runs == 1  # still counted: its end is not recorded yet
            finally:
                blocker.execute("COMMIT")
                blocker.close()
            freed = time.monotonic()
            final = own.get(
                f"/pipeline/{pipeline_id}/run/status/{task_id}", params={"wait": 10}
            ).json()
            waited = time.monotonic() - freed
            events = own.get(f"/pipeline/{pipeline_id}/run/events/{task_id}").text
    assert final["status"] == "failed", final
    assert "could not store this run's events" in final["error"]
    assert waited < 4, waited
    assert events.strip().splitlines()[-1].startswith('data: {"type":"result"')
