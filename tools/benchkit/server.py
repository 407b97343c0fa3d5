"""A local server in a process of its own, as ``python -m vectorshift.local`` runs it."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Server:
    """Where the server listens and the key it accepts."""

    base_url: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def finished_run(self, name: str) -> tuple[str, str, str]:
        """A new echo pipeline, a finished background run of it and the run's status path."""
        pipeline_id = self.create(name, echo_graph())
        with httpx.Client(base_url=self.base_url, headers=self.headers, timeout=60) as raw:
            task = raw.post(
                f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "x"}, "background": True}
            ).json()["task_id"]
            url = f"/pipeline/{pipeline_id}/run/status/{task}"
            while raw.get(url, params={"wait": 5}).json()["status"] == "running":
                pass
        return pipeline_id, task, url

    def create(self, name: str, nodes: dict[str, Any]) -> str:
        """Create a pipeline over raw HTTP (works for any client under test); its id."""
        with httpx.Client(base_url=self.base_url, headers=self.headers, timeout=60) as raw:
            answer = raw.post("/pipeline", json={"name": name, "nodes": nodes})
            answer.raise_for_status()
            return str(answer.json()["id"])


@contextlib.contextmanager
def local_server(max_active_runs: int = 64) -> Iterator[Server]:
    """Start the server on a free loopback port; stop it (SIGTERM, then kill) on the way out."""
    directory = tempfile.mkdtemp(prefix="vs-bench-")
    command = [
        sys.executable,
        "-m",
        "vectorshift.local",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--db",
        os.path.join(directory, "bench.db"),
        "--log-level",
        "warning",
        "--max-active-runs",
        str(max_active_runs),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    watchdog = threading.Timer(60, process.kill)
    watchdog.start()
    try:
        found: dict[str, str] = {}
        assert process.stdout is not None
        for line in process.stdout:
            name, _, value = line.strip().partition("=")
            if name in ("VECTORSHIFT_BASE_URL", "VECTORSHIFT_API_KEY"):
                found[name] = value
            if len(found) == 2:
                break
        watchdog.cancel()
        if len(found) != 2:
            raise RuntimeError(f"vectorshift.local did not start (exit {process.wait()})")
        yield Server(found["VECTORSHIFT_BASE_URL"], found["VECTORSHIFT_API_KEY"])
    finally:
        watchdog.cancel()
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)


def echo_graph() -> dict[str, Any]:
    """query -> answer: a run that ends at once, so a fan-out measures the client."""
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
            "outputs": [],
            "inputs": {"output_type": "string", "value": "{{ input_0.text }}"},
        },
    }


def token_graph(tokens: int, delay_ms: int = 0) -> dict[str, Any]:
    """query -> simulated llm streaming ``tokens`` tokens -> answer (stream)."""
    return {
        "input_0": {
            "id": "input_0",
            "name": "query",
            "type": "input",
            "inputs": {"input_type": "string"},
            "outputs": ["text"],
        },
        "llm_0": {
            "id": "llm_0",
            "name": "llm",
            "type": "llm",
            "outputs": ["response"],
            "inputs": {
                "provider": "local",
                "model": "lorem",
                "prompt": "{{ input_0.text }}",
                "max_tokens": tokens,
                "token_delay_ms": delay_ms,
                "stream": True,
            },
        },
        "output_0": {
            "id": "output_0",
            "name": "answer",
            "type": "output",
            "outputs": [],
            "inputs": {"output_type": "stream<string>", "value": "{{ llm_0.response }}"},
        },
    }
