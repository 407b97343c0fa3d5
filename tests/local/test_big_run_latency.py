"""One big pipeline does not hold up the other clients of the server (issue 24, point 6).

Storing and running a graph of 10k text nodes used to keep the server's loop busy for seconds
at a time: another client's status request waited up to 2.9 s. Here the server runs as users
start it (``python -m vectorshift.local``, a process of its own) while a second client polls
the status of another run and records how long each answer took, from before the big graph is
stored until its run has ended. The goal is 100 ms; the test asserts 0.4 s, so that a two-core
machine loaded by other work (whose scheduler, not the server, then decides the waits) does not
fail it, and prints the figures measured (``pytest -s``).
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx

from .test_server_lifecycle import subprocess_env

NODES = 10_000
MAX_WAIT = 0.4


def big_graph(n: int = NODES) -> dict[str, Any]:
    """query -> n text nodes (a chain, and each one also read by the next's neighbour) -> answer."""
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
    for i in range(n):
        node_id = f"text_{i}"
        nodes[node_id] = {
            "id": node_id,
            "name": f"t{i}",
            "type": "text",
            "inputs": {"text": f"{{{{ {previous}.text }}}}"},
            "outputs": ["text"],
        }
        previous = node_id
    nodes["output_0"] = {
        "id": "output_0",
        "name": "answer",
        "type": "output",
        "inputs": {"value": f"{{{{ {previous}.text }}}}", "output_type": "string"},
        "outputs": [],
    }
    return nodes


def small_graph() -> dict[str, Any]:
    return {k: v for k, v in big_graph(1).items()}


@contextmanager
def standalone_server(tmp_path: Path) -> Iterator[SimpleNamespace]:
    """``python -m vectorshift.local`` on a free port: its base URL and API key."""
    key_file = tmp_path / "key"
    key_file.write_text("big-run-key")
    command = [
        sys.executable,
        "-m",
        "vectorshift.local",
        "--port",
        "0",
        "--db",
        str(tmp_path / "big.db"),
        "--api-key-file",
        str(key_file),
        "--log-level",
        "error",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=subprocess_env())
    try:
        assert process.stdout is not None
        found = re.search(r"serving at (\S+)", process.stdout.readline())
        assert found, "the server did not say where it serves"
        yield SimpleNamespace(base_url=found.group(1), api_key="big-run-key")
    finally:
        process.terminate()
        process.wait(timeout=30)


def client(server: SimpleNamespace) -> httpx.Client:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    return httpx.Client(base_url=server.base_url, headers=headers, timeout=20)


def measure(server: SimpleNamespace) -> tuple[float, float, int, float]:
    """(worst wait, median wait, answers, seconds) of a poller while a big graph is stored and
    run."""
    with client(server) as api:
        small = api.post("/pipeline", json={"name": "small", "nodes": small_graph()}).json()["id"]
        done = api.post(f"/pipeline/{small}/run", json={"inputs": {"query": "q"}}).json()
        assert done["status"] == "success", done
        status_path = f"/pipeline/{small}/run/status/{done['run_id']}"
    graph = big_graph()
    waits: list[float] = []
    stop = threading.Event()

    def poll() -> None:
        with client(server) as poller:
            while not stop.is_set():
                started = time.perf_counter()
                assert poller.get(status_path).status_code == 200
                waits.append(time.perf_counter() - started)
                time.sleep(0.01)

    with client(server) as api:
        thread = threading.Thread(target=poll)
        thread.start()
        time.sleep(0.2)
        started = time.perf_counter()
        try:
            big = api.post("/pipeline", json={"name": "big", "nodes": graph})
            assert big.status_code == 200, big.text[:300]
            big_id = big.json()["id"]
            body = {"inputs": {"query": "q"}, "background": True}
            task = api.post(f"/pipeline/{big_id}/run", json=body).json()["task_id"]
            while True:
                status = api.get(f"/pipeline/{big_id}/run/status/{task}").json()
                if status["status"] not in ("pending", "in_progress", "running", "queued"):
                    break
                time.sleep(0.05)
            seconds = time.perf_counter() - started
            assert status["status"] in ("completed", "succeeded"), status
        finally:
            stop.set()
            thread.join()
    ordered = sorted(waits)
    return ordered[-1], ordered[len(ordered) // 2], len(ordered), seconds


def test_storing_and_running_10k_nodes_does_not_hold_up_a_status_poller(tmp_path: Path) -> None:
    with standalone_server(tmp_path) as server:
        worst, median, answers, seconds = measure(server)
    print(
        f"\n{NODES}-node graph stored and run: {seconds:.2f} s; poller: {answers} answers, "
        f"median {median * 1000:.0f} ms, worst {worst * 1000:.0f} ms"
    )
    assert worst < MAX_WAIT, f"a status answer waited {worst:.2f} s behind the big graph"
