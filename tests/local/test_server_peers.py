"""Two server processes on one SQLite file, one killed: the survivor ends its runs (issue 12.6)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from vectorshift.local import LocalServer, ServerConfig

from .graphs import long_graph
from .test_server_lifecycle import ROOT, STOPPED, client, subprocess_env


def test_the_survivor_fails_a_killed_peers_runs_while_serving(tmp_path: Path) -> None:
    path = str(tmp_path / "vs.db")
    with LocalServer(ServerConfig(db_path=path, max_active_runs=1)) as survivor:
        victim = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vectorshift.local",
                "--db",
                path,
                "--port",
                "0",
                "--max-active-runs",
                "1",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**subprocess_env(), "VECTORSHIFT_LOCAL_API_KEY": survivor.api_key},
            cwd=ROOT,
        )
        try:
            assert victim.stdout is not None
            line = victim.stdout.readline()
            assert line.startswith("vectorshift.local serving at "), line
            victim_url = line.split()[-1]
            headers = {"Authorization": f"Bearer {survivor.api_key}"}
            with httpx.Client(base_url=victim_url, headers=headers, timeout=20) as owner:
                nodes = long_graph()
                pipeline_id = owner.post("/pipeline", json={"name": "p", "nodes": nodes}).json()[
                    "id"
                ]
                body = {"inputs": {"query": "q"}, "background": True}
                task_id = owner.post(f"/pipeline/{pipeline_id}/run", json=body).json()["task_id"]
            with client(survivor) as api:
                status_url = f"/pipeline/{pipeline_id}/run/status/{task_id}"
                assert api.get(status_url).json()["status"] == "in_progress"
                refused = api.post(f"/pipeline/{pipeline_id}/run", json=body)
                assert refused.status_code == 429  # the peer's run counts against the limit
                streamed: list[str] = []

                def follow() -> None:
                    with client(survivor) as own:
                        url = f"/pipeline/{pipeline_id}/run/events/{task_id}"
                        with own.stream("GET", url, timeout=30) as events:
                            streamed.extend(events.iter_lines())

                follower = threading.Thread(target=follow)
                follower.start()
                time.sleep(0.5)
                os.kill(victim.pid, signal.SIGKILL)
                victim.wait(10)
                killed = time.monotonic()
                state = api.get(status_url, params={"wait": 10}).json()
                detected = time.monotonic() - killed
                follower.join(10)
                assert not follower.is_alive(), "the stream of the dead peer's run did not end"
                started = api.post(f"/pipeline/{pipeline_id}/run", json=body)
                assert started.status_code == 200, started.text
                api.post(
                    f"/pipeline/{pipeline_id}/terminate", json={"run_id": started.json()["task_id"]}
                )
        finally:
            if victim.poll() is None:
                victim.kill()
                victim.wait(10)
    assert state["status"] == "failed" and state["error"] == STOPPED, state
    assert detected < 3.0, detected
    results = [line for line in streamed if line.startswith('data: {"type":"result"')]
    assert len(results) == 1 and '"status":"failed"' in results[0]


def test_an_owner_on_another_host_is_dead_once_its_heartbeat_is_stale() -> None:
    from vectorshift.local.sqlite_owners import STALE_AFTER, abandoned

    def row(task: str, host: str, pid: int, owner: str) -> dict[str, object]:
        return {"task_id": task, "owner_host": host, "owner_pid": pid, "owner_instance": owner}

    now = 1_000_000.0
    runs = [
        row("fresh", "elsewhere", 1, "a"),  # beats: alive, whatever its pid
        row("stale", "elsewhere", 1, "b"),  # silent too long: dead
        row("unknown", "elsewhere", 1, "c"),  # no row, another host: cannot tell, alive
        row("mine", "here", os.getpid(), "d"),  # this process decides by its open stores
    ]
    beats = {"a": now - 1, "b": now - STALE_AFTER - 1, "d": now - STALE_AFTER - 1}
    dead = abandoned(
        runs,
        beats,
        host="here",
        pid=os.getpid(),
        live={"d"},
        now=now,  # type: ignore[arg-type]
    )
    assert dead == ["stale"]
