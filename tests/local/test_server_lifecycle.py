"""Starting, stopping, restarting and sharing the local server's database; the command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from functools import partial
from pathlib import Path

import anyio
import httpx
import pytest

from vectorshift.local import LocalServer, ServerConfig
from vectorshift.local.sqlite_store import SQLiteStore

from .graphs import long_graph

ROOT = Path(__file__).resolve().parents[2]
STOPPED = "the local server stopped while this run was active"


def client(server: LocalServer) -> httpx.Client:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    return httpx.Client(base_url=server.base_url, headers=headers, timeout=20)


def start_long_run(api: httpx.Client) -> tuple[str, str]:
    pipeline_id = api.post("/pipeline", json={"name": "long", "nodes": long_graph()}).json()["id"]
    body = {"inputs": {"query": "q"}, "background": True}
    task_id = api.post(f"/pipeline/{pipeline_id}/run", json=body).json()["task_id"]
    return pipeline_id, task_id


def subprocess_env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}


def test_restart_keeps_pipelines_and_port_and_fails_active_runs(tmp_path: Path) -> None:
    with LocalServer(ServerConfig(db_path=str(tmp_path / "vs.db"))) as server:
        with client(server) as api:
            pipeline_id, task_id = start_long_run(api)
        port = server.port
        server.restart()
        assert server.port == port
        with client(server) as api:
            assert api.get("/pipeline", params={"id": pipeline_id}).status_code == 200
            state = api.get(f"/pipeline/{pipeline_id}/run/status/{task_id}").json()
            assert state["status"] == "failed" and state["error"] == STOPPED
            replay = api.get(f"/pipeline/{pipeline_id}/run/events/{task_id}").text
        assert '"status":"failed"' in replay.strip().split("\n")[-1]


def test_stop_ends_active_runs_promptly(tmp_path: Path) -> None:
    path = str(tmp_path / "vs.db")
    server = LocalServer(ServerConfig(db_path=path)).start()
    with client(server) as api:
        _, task_id = start_long_run(api)
    began = time.monotonic()
    server.stop()
    assert time.monotonic() - began < 5
    assert not server.running
    store = SQLiteStore(path)
    try:
        record = anyio.run(store.get_run, "local", task_id)
        assert record is not None and record.status == "failed" and record.error == STOPPED
    finally:
        store.close()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.base_url}/pipelines", timeout=2)


def test_runs_left_by_a_crashed_process_are_marked_failed(tmp_path: Path) -> None:
    path = str(tmp_path / "vs.db")
    script = textwrap.dedent(
        f"""
        import os, httpx
        from vectorshift.local import LocalServer, ServerConfig
        server = LocalServer(ServerConfig(db_path={path!r})).start()
        headers = {{"Authorization": "Bearer " + server.api_key}}
        api = httpx.Client(base_url=server.base_url, headers=headers)
        nodes = {long_graph()!r}
        pid = api.post("/pipeline", json={{"name": "x", "nodes": nodes}}).json()["id"]
        body = {{"inputs": {{"query": "q"}}, "background": True}}
        print(pid, api.post(f"/pipeline/{{pid}}/run", json=body).json()["task_id"], flush=True)
        os._exit(0)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(),
        cwd=ROOT,
        check=True,
    )
    pipeline_id, task_id = done.stdout.split()
    with LocalServer(ServerConfig(db_path=path)) as server, client(server) as api:
        state = api.get(f"/pipeline/{pipeline_id}/run/status/{task_id}").json()
    assert state["status"] == "failed" and state["error"] == STOPPED


def test_runs_of_a_closed_store_in_this_process_are_marked_failed(tmp_path: Path) -> None:
    path = str(tmp_path / "vs.db")
    abandoned = SQLiteStore(path)
    start = partial(abandoned.create_runs, "local", "p" * 24, [({}, "trace")], limit=10)
    (record,), _ = anyio.run(start)
    abandoned.close()
    with LocalServer(ServerConfig(db_path=path)) as server:
        final = server.store.get_run("local", record.task_id)
    assert final is not None and final.status == "failed" and final.error == STOPPED


def test_two_servers_on_one_database_share_runs_and_terminate(tmp_path: Path) -> None:
    path = str(tmp_path / "vs.db")
    with (
        LocalServer(ServerConfig(db_path=path)) as owner,
        LocalServer(ServerConfig(db_path=path)) as other,
    ):
        with client(owner) as api:
            pipeline_id, task_id = start_long_run(api)
        with client(other) as api:
            state = api.get(f"/pipeline/{pipeline_id}/run/status/{task_id}", params={"wait": 0.3})
            assert state.json()["status"] == "in_progress"
            answer = api.post(f"/pipeline/{pipeline_id}/terminate", json={"run_id": task_id})
            assert answer.json() == {"status": "success", "run_status": "cancelled"}
        with client(owner) as api:
            url = f"/pipeline/{pipeline_id}/run/events/{task_id}"
            last = api.get(url).text.strip().split("\n")[-1]
        assert '"status":"cancelled"' in last
        deadline = time.monotonic() + 10
        while owner.active_runs and time.monotonic() < deadline:
            time.sleep(0.05)
        assert owner.active_runs == 0


def test_command_line_serves_until_terminated(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "vectorshift.local",
        "--port",
        "0",
        "--db",
        str(tmp_path / "cli.db"),
        "--api-key",
        "cli-key=cli-org",
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, env=subprocess_env(), cwd=ROOT
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("vectorshift.local serving at http://127.0.0.1:")
        base_url = first.split()[-1]
        assert f"VECTORSHIFT_BASE_URL={base_url}" in process.stdout.readline()
        assert "VECTORSHIFT_API_KEY=cli-key" in process.stdout.readline()
        headers = {"Authorization": "Bearer cli-key"}
        assert httpx.get(f"{base_url}/pipelines", headers=headers).status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_command_line_rejects_bad_fault_rules() -> None:
    command = [sys.executable, "-m", "vectorshift.local", "--faults", '{"stauts": 500}']
    done = subprocess.run(
        command, capture_output=True, text=True, env=subprocess_env(), cwd=ROOT, timeout=60
    )
    assert done.returncode == 2
    assert "stauts" in done.stderr


def test_command_line_documents_and_checks_the_retention() -> None:
    def command(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "vectorshift.local", *args],
            capture_output=True,
            text=True,
            env=subprocess_env(),
            cwd=ROOT,
            timeout=60,
        )

    shown = command("--help")
    assert shown.returncode == 0
    assert "--retain DURATION" in shown.stdout and "default 7d" in shown.stdout
    refused = command("--retain", "soon")
    assert refused.returncode == 2 and "not a duration: 'soon'" in refused.stderr


def test_importing_the_package_loads_no_server_dependency() -> None:
    code = (
        "import sys, vectorshift.local\n"
        "assert not {'uvicorn', 'starlette'} & set(sys.modules), sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=subprocess_env(), cwd=ROOT)
